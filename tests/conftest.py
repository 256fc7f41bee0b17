import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm_commandcode.registration import litellm_knows_commandcode  # noqa: E402

# Set by tests/integration/test_patched_tree.py when it runs the SDK and proxy tests against a LiteLLM source tree that
# `python -m litellm_commandcode.upstream apply` patched: then LiteLLM must know `commandcode` natively.
NATIVE_ENV = "COMMANDCODE_TEST_NATIVE"
NATIVE = os.environ.get(NATIVE_ENV) == "1"

# The provider reads model facts (vision, reasoning levels, output caps) from the cost map, which carries the
# commandcode entries in an upstream tree and after `register()` here; unit tests call the provider unregistered.
if not NATIVE:
    import litellm
    from litellm_commandcode.catalog import build_cost_map

    litellm.register_model({name: entry for name, entry in build_cost_map().items() if name not in litellm.model_cost})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "generate_only: runs on the /alpha/generate route only (route-parametrized suites)"
    )
    config.addinivalue_line("markers", "provider_api_only: runs on the Provider API route only")
    if NATIVE and not litellm_knows_commandcode():
        raise pytest.UsageError(f"{NATIVE_ENV}=1 but the imported LiteLLM does not ship the commandcode provider")
