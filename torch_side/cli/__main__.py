"""`python -m torch_side.cli ...` is `torch-side ...` too."""
import sys

from torch_side.cli import main

sys.exit(main())
