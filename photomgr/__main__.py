import multiprocessing
import sys

from photomgr.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a no-op unless frozen; see packaging/entry.py
    sys.exit(main())
