import sys

from newsbot.index.cli.main import main

sys.exit(main())
