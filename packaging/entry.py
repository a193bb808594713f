"""The frozen app's entry point: the same `photomgr` command the wheel installs."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A worker process of the near-copy check (core/search/copy_pool.py, "spawn") starts this
    # executable again: freeze_support runs the worker there instead of a second app.
    multiprocessing.freeze_support()
    from photomgr.cli.main import main

    sys.exit(main())
