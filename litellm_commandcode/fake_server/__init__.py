"""An offline, protocol-faithful fake of Command Code's ``POST /alpha/generate`` and Provider API, for tests, benchmarks
and trying a setup without an account.

Run ``python -m litellm_commandcode.fake_server --port 0`` or use :class:`FakeCommandCodeServer` in tests. The modules,
each readable on its own:

- :mod:`.protocol`: the NDJSON events, usage, cost and error envelopes of ``/alpha/generate``;
- :mod:`.validation`: the request checks, with the service's error messages;
- :mod:`.catalog`: the models served (from ``litellm_commandcode/models.json``);
- :mod:`.answers`: the deterministic answer to a valid request;
- :mod:`.scenarios` and :mod:`.plans`: the ``[[fake:...]]`` directives and what each scenario answers;
- :mod:`.replies`, :mod:`.http_io`: replies as chunked writes, pauses and resets, and the HTTP/1.1 connection;
- :mod:`.state`, :mod:`.app`, :mod:`.server`: what the server records, its routes, and running it;
- :mod:`.provider_api`: the Provider API door (OpenAI and Anthropic shapes of the same answers).
"""

from litellm_commandcode.fake_server.answers import REPLY_SUFFIX, expected_answer, tool_input_for
from litellm_commandcode.fake_server.catalog import ModelInfo, load_catalog, models_listing
from litellm_commandcode.fake_server.plans import (
    GARBAGE_LINES,
    NETWORK_LOST_MESSAGE,
    UNICODE_DELTAS,
    UNICODE_SPLIT_TEXT,
    pause_turn_answer,
)
from litellm_commandcode.fake_server.protocol import FakeHttpError, error_envelope
from litellm_commandcode.fake_server.scenarios import (
    CONTEXT_MESSAGE,
    DEFAULT_SCENARIO,
    HTTP_FAULTS,
    parse_scenario,
    scenario_names,
    validate_scenario_spec,
)
from litellm_commandcode.fake_server.server import READY_MESSAGE, FakeCommandCodeServer, main
from litellm_commandcode.fake_server.state import RequestRecord
from litellm_commandcode.fake_server.validation import TOOL_ORPHAN_MESSAGE, UNAUTHORIZED_MESSAGE

__all__ = [
    "CONTEXT_MESSAGE",
    "DEFAULT_SCENARIO",
    "GARBAGE_LINES",
    "HTTP_FAULTS",
    "NETWORK_LOST_MESSAGE",
    "READY_MESSAGE",
    "REPLY_SUFFIX",
    "TOOL_ORPHAN_MESSAGE",
    "UNAUTHORIZED_MESSAGE",
    "UNICODE_DELTAS",
    "UNICODE_SPLIT_TEXT",
    "FakeCommandCodeServer",
    "FakeHttpError",
    "ModelInfo",
    "RequestRecord",
    "error_envelope",
    "expected_answer",
    "load_catalog",
    "main",
    "models_listing",
    "parse_scenario",
    "pause_turn_answer",
    "scenario_names",
    "tool_input_for",
    "validate_scenario_spec",
]
