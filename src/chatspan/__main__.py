"""`python -m chatspan` runs the command line."""

import sys

from chatspan.cli import main

sys.exit(main())
