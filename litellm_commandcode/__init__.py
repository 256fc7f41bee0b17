"""Plug the Command Code provider (`litellm/llms/commandcode/`) into the stock LiteLLM from PyPI.

    import litellm_commandcode
    litellm_commandcode.register()   # idempotent; a no-op when LiteLLM already ships `commandcode`

For the proxy, name `litellm_commandcode.proxy.handler` as `custom_handler` under
`litellm_settings.custom_provider_map` (see `examples/config.yaml`).

Importing the package makes the provider importable as `litellm.llms.commandcode` (and as
`litellm_commandcode.provider`) from the plug-in's own files, unless LiteLLM ships it (see `provider_source`).
"""

from litellm_commandcode import provider_source

provider_source.install()


def register() -> bool:
    """Register provider `commandcode` with LiteLLM; returns False when LiteLLM already knows it natively. Raises
    `compat.IncompatibleLiteLLMError`, before anything is patched, when the installed LiteLLM lacks an internal the
    plug-in relies on."""
    from litellm_commandcode.compat import check_litellm, litellm_knows_commandcode

    if litellm_knows_commandcode():
        return False
    check_litellm()
    from litellm_commandcode.registration import register as register_provider

    return register_provider()
