"""``python -m ccbounds`` runs the command line."""

import sys

from ccbounds.cli import main

sys.exit(main())
