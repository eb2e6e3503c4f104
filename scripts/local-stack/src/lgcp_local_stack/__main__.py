"""`python -m lgcp_local_stack up|down`."""

import sys

from .cli import main

sys.exit(main())
