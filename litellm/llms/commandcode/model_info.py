"""
Command Code's live model list: `GET {api_base}/provider/v1/models` (`{"object": "list", "data": [{"id", "name",
"context_length", ...}]}`, reportedly answered without a valid key). Only `id` is relied on; every other field is
optional, and entries without a string `id` are skipped.
"""

from typing import TYPE_CHECKING, Final, NamedTuple

import httpx

import litellm
from litellm._logging import verbose_logger
from litellm.llms.base_llm.base_utils import BaseLLMModelInfo
from litellm.llms.commandcode.chat.provider_api_transformation import MODELS_PATH, provider_api_base
from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig
from litellm.llms.commandcode.common_utils import PROVIDER, PROVIDER_PREFIX, CommandCodeError

if TYPE_CHECKING:
    from litellm.types.llms.openai import AllMessageValues

MODELS_TIMEOUT_SECONDS: Final[float] = 10.0


class LiveModel(NamedTuple):
    id: str
    name: str | None = None
    context_length: int | None = None


def _live_model(entry: object) -> LiveModel | None:
    if not isinstance(entry, dict):
        return None
    model_id: Final = entry.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    name: Final = entry.get("name")
    context: Final = entry.get("context_length")
    return LiveModel(
        id=model_id,
        name=name if isinstance(name, str) else None,
        context_length=context if isinstance(context, int) and not isinstance(context, bool) else None,
    )


def parse_models_listing(payload: object) -> list[LiveModel]:
    """The models of a `/provider/v1/models` answer (`{"data": [...]}`, or a bare list)."""
    data: Final = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(data, list):
        raise CommandCodeError(status_code=502, message="Command Code's model list has no `data` array")
    return [model for model in map(_live_model, data) if model is not None]


def fetch_live_models(
    api_base: str | None = None, api_key: str | None = None, timeout: float = MODELS_TIMEOUT_SECONDS
) -> list[LiveModel]:
    """The live list from `GET {api_base}/provider/v1/models`; raises `CommandCodeError` when it cannot be read."""
    key: Final = CommandCodeChatConfig.get_api_key(api_key)
    headers: Final = {"authorization": f"Bearer {key}"} if key else {}
    url: Final = f"{provider_api_base(api_base)}{MODELS_PATH}"
    try:
        response: Final = httpx.get(url, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        raise CommandCodeError(status_code=503, message=f"Command Code's model list is unreachable: {error}") from error
    if response.status_code != 200:
        raise CommandCodeError(
            status_code=response.status_code, message=f"Command Code's model list answered {response.status_code}"
        )
    try:
        payload: Final = response.json()
    except ValueError as error:
        raise CommandCodeError(status_code=502, message="Command Code's model list is not JSON") from error
    return parse_models_listing(payload)


class CommandCodeModelInfo(BaseLLMModelInfo):
    """What the proxy's `/v1/models` lists for a `commandcode/*` deployment when `check_provider_endpoint` is on."""

    def get_models(self, api_key: str | None = None, api_base: str | None = None) -> list[str]:  # mutable-ok: contract
        """The live ids; when the list cannot be read, the bundled catalog's (with one warning line)."""
        try:
            live: Final = fetch_live_models(api_base, api_key)
        except CommandCodeError as error:
            verbose_logger.warning("commandcode: %s; listing the bundled catalog instead", error.message)
            return sorted(litellm.models_by_provider.get(PROVIDER, ()))
        return [f"{PROVIDER_PREFIX}{model.id}" for model in live]

    @staticmethod
    def get_api_key(api_key: str | None = None) -> str | None:
        return CommandCodeChatConfig.get_api_key(api_key)

    @staticmethod
    def get_api_base(api_base: str | None = None) -> str | None:
        return CommandCodeChatConfig.get_api_base(api_base)

    def validate_environment(
        self,
        headers: dict[str, str],  # mutable-ok: inherited contract
        model: str,
        messages: "list[AllMessageValues]",  # mutable-ok: inherited contract
        optional_params: dict[str, object],  # mutable-ok: inherited contract
        litellm_params: dict[str, object],  # mutable-ok: inherited contract
        api_key: str | None = None,
        api_base: str | None = None,
    ) -> dict[str, str]:  # mutable-ok: inherited contract returns a dict
        return headers

    @staticmethod
    def get_base_model(model: str) -> str | None:
        return model.removeprefix(PROVIDER_PREFIX)
