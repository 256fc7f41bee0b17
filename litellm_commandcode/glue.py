"""The code the provider needs outside `litellm/llms/commandcode/`, written once.

Each function is inserted, as its source text, into a LiteLLM file by `python -m litellm_commandcode.upstream`
(`_complete_commandcode` into `litellm/main.py`, `_map_commandcode_exception` into
`litellm/litellm_core_utils/exception_mapping_utils.py`), and the run-time plug-in calls the same function
(`registration`). This module's imports are the names the functions take from that file: the upstream kit refuses a
LiteLLM tree whose file no longer defines one of them at top level.
"""

from typing import Final, cast

import litellm
from litellm.exceptions import ContextWindowExceededError, RateLimitError
from litellm.litellm_core_utils.exception_mapping_utils import ExceptionCheckers, _ProviderHTTPException
from litellm.main import _dispatch_client_http, _get_encoding, base_llm_http_handler
from litellm.types.completion import CompletionDispatchContext, _CompletionDispatchResult


def _complete_commandcode(ctx: CompletionDispatchContext) -> _CompletionDispatchResult:
    # CommandCodeChatConfig logs the raw response itself (post_call); logging the returned stream wrapper here would
    # put it in a reference cycle with its logging object, so a sync caller that stops reading early would hold the
    # pooled connection until the garbage collector runs. commandcode_completion picks the door's config
    # (commandcode_route) and continues pause_turn answers.
    from litellm.llms.commandcode.chat.handler import commandcode_completion
    from litellm.llms.commandcode.chat.transformation import CommandCodeChatConfig

    api_key: Final = CommandCodeChatConfig.get_api_key(ctx.api_key or litellm.api_key)
    response: Final = commandcode_completion(
        base_llm_http_handler,
        model=ctx.model,
        messages=ctx.messages,
        api_base=CommandCodeChatConfig.get_api_base(ctx.api_base),
        custom_llm_provider="commandcode",
        model_response=ctx.model_response,
        encoding=_get_encoding(),
        logging_obj=ctx.logging,
        optional_params=ctx.optional_params,
        timeout=ctx.timeout,
        litellm_params=ctx.litellm_params,
        shared_session=ctx.shared_session,
        acompletion=ctx.acompletion,
        stream=ctx.stream,
        api_key=api_key,
        headers=ctx.headers or litellm.headers,
        client=_dispatch_client_http(ctx),
    )
    return cast(_CompletionDispatchResult, response)


def _map_commandcode_exception(
    *,
    model: str,
    original_exception: _ProviderHTTPException,
    custom_llm_provider: str,
    error_str: str,
    exception_type: str,
    exception_provider: str,
    extra_information: str,
) -> None:
    # Command Code relays the model's own words ("prompt is too long: N tokens > M maximum"), on an HTTP 400 or in an
    # error event with its status; the same words in a 429 or 5xx stay retryable. A usage-window 429 keeps the
    # retry-after the provider derived from the window's reset as the error's own headers, which the proxy sends on
    # (a vendor's headers only reach the client as llm_provider-*). Any other error is mapped by its status further
    # down in exception_type.
    status_code: Final = getattr(original_exception, "status_code", None)
    if status_code in (400, 413) and (
        "prompt is too long" in error_str.lower() or ExceptionCheckers.is_error_str_context_window_exceeded(error_str)
    ):
        raise ContextWindowExceededError(
            message=f"{exception_provider} - {error_str}",
            model=model,
            llm_provider=custom_llm_provider,
            response=getattr(original_exception, "response", None),
            litellm_debug_info=extra_information,
        )
    if status_code == 429:
        headers: Final = getattr(original_exception, "headers", None) or {}
        raise RateLimitError(
            message=f"{exception_provider} - {error_str}",
            model=model,
            llm_provider=custom_llm_provider,
            response=getattr(original_exception, "response", None),
            litellm_debug_info=extra_information,
            headers={"retry-after": str(headers["retry-after"])} if "retry-after" in headers else None,
        )
