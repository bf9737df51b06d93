"""``python -m linernotes.cli``."""

import sys

from linernotes.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
