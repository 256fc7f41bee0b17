"""``python -m litellm_commandcode.fake_server``: see :mod:`litellm_commandcode.fake_server.server`."""

import sys

from litellm_commandcode.fake_server.server import main

if __name__ == "__main__":
    sys.exit(main())
