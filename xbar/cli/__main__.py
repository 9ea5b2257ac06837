"""``python -m xbar.cli``: the ``xbar`` command."""

import sys

from xbar.cli import main

if __name__ == "__main__":
    sys.exit(main())
