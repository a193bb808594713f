"""The frozen app's entry point: the same `photomgr` command the wheel installs."""

import sys

from photomgr.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
