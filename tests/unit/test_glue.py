import inspect
from typing import Final

import pytest

import litellm
from litellm.llms.commandcode.common_utils import CommandCodeError
from litellm_commandcode import glue, registration, upstream

MODEL: Final = "deepseek/deepseek-v4-flash"
TOO_LONG: Final = "prompt is too long: 250000 tokens > 200000 maximum"


def map_error(error: CommandCodeError) -> None:
    glue._map_commandcode_exception(
        model=MODEL,
        original_exception=error,
        custom_llm_provider="commandcode",
        error_str=str(error.message),
        exception_type=type(error).__name__,
        exception_provider="CommandcodeException",
        extra_information=f"\nModel: {MODEL}",
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [(400, TOO_LONG), (413, TOO_LONG), (400, "This model's maximum context length is 131072 tokens")],
)
def test_a_context_overflow_on_a_client_error_is_a_context_window_exceeded_error(status: int, message: str) -> None:
    with pytest.raises(litellm.ContextWindowExceededError) as raised:
        map_error(CommandCodeError(status_code=status, message=message))
    assert raised.value.status_code == status
    assert raised.value.message == (
        f"litellm.ContextWindowExceededError: litellm.BadRequestError: CommandcodeException - {message}"
    )
    assert raised.value.llm_provider == "commandcode"
    assert raised.value.litellm_debug_info == f"\nModel: {MODEL}"


@pytest.mark.parametrize("status", [500, 503])
def test_the_overflow_words_in_a_server_error_leave_it_to_the_mapping_by_status(status: int) -> None:
    assert map_error(CommandCodeError(status_code=status, message=TOO_LONG)) is None


def test_a_429_is_a_rate_limit_error_that_keeps_the_providers_retry_after() -> None:
    error: Final = CommandCodeError(status_code=429, message="usage window exhausted", headers={"retry-after": "120"})
    with pytest.raises(litellm.RateLimitError) as raised:
        map_error(error)
    assert raised.value.status_code == 429
    assert raised.value.message == "litellm.RateLimitError: CommandcodeException - usage window exhausted"
    assert raised.value.headers == {"retry-after": "120"}


def test_a_429_without_retry_after_sends_no_header_of_its_own() -> None:
    with pytest.raises(litellm.RateLimitError) as raised:
        map_error(CommandCodeError(status_code=429, message="slow down"))
    assert raised.value.headers is None


@pytest.mark.parametrize("status", [400, 401, 404])
def test_any_other_error_is_left_to_the_mapping_by_status(status: int) -> None:
    assert map_error(CommandCodeError(status_code=status, message="nope")) is None


@pytest.mark.parametrize("name", ["_complete_commandcode", "_map_commandcode_exception"])
def test_the_upstream_kit_inserts_the_functions_the_plugin_runs(name: str) -> None:
    assert upstream.glue_function(name).source == inspect.getsource(getattr(glue, name))
    assert getattr(registration, name) is getattr(glue, name)


def test_the_kit_requires_of_each_host_file_the_names_its_glue_takes_from_it() -> None:
    assert upstream.glue_function("_complete_commandcode").needs == (
        "CompletionDispatchContext",
        "Final",
        "_CompletionDispatchResult",
        "_dispatch_client_http",
        "_get_encoding",
        "base_llm_http_handler",
        "cast",
        "litellm",
    )
    assert upstream.glue_function("_map_commandcode_exception").needs == (
        "ContextWindowExceededError",
        "ExceptionCheckers",
        "Final",
        "RateLimitError",
        "_ProviderHTTPException",
    )
