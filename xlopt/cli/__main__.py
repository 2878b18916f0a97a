import sys

from xlopt.cli import main

sys.exit(main())
