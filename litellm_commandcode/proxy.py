"""The handler to name in a LiteLLM proxy config:

    litellm_settings:
      custom_provider_map:
        - provider: commandcode
          custom_handler: litellm_commandcode.proxy.handler

Importing this module registers everything but the `custom_provider_map` entry, which the proxy adds itself.
"""

from litellm_commandcode.compat import check_litellm, litellm_knows_commandcode

if not litellm_knows_commandcode():
    check_litellm()

from litellm_commandcode.registration import handler, register_internals  # noqa: E402

register_internals()

__all__ = ["handler"]
