"""Plug the Command Code provider (`litellm/llms/commandcode/`) into the stock LiteLLM from PyPI.

    import litellm_commandcode
    litellm_commandcode.register()   # idempotent; a no-op when LiteLLM already ships `commandcode`

For the proxy, name `litellm_commandcode.proxy.handler` as `custom_handler` under
`litellm_settings.custom_provider_map` (see `examples/config.yaml`).
"""


def register() -> bool:
    """Register provider `commandcode` with LiteLLM; returns False when LiteLLM already knows it natively."""
    from litellm_commandcode.registration import register as register_provider

    return register_provider()
