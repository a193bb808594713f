import sys

from photomgr.cli.main import main

sys.exit(main())
