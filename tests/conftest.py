import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm_commandcode.registration import use_provider_source  # noqa: E402

use_provider_source()
