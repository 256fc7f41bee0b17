import sys

from tests.agent_matrix.run import main

sys.exit(main())
