"""The handler to name in a LiteLLM proxy config:

    litellm_settings:
      custom_provider_map:
        - provider: commandcode
          custom_handler: litellm_commandcode.proxy.handler

Importing this module registers everything but the `custom_provider_map` entry, which the proxy adds itself.
"""

from litellm_commandcode.registration import handler, register_internals

register_internals()

__all__ = ["handler"]
