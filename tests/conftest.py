import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm_commandcode  # noqa: E402,F401  (makes litellm.llms.commandcode import from this checkout)
