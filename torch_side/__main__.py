"""`python -m torch_side ...` is `torch-side ...` (so `torchrun -m torch_side train ...` works)."""
import sys

from torch_side.cli import main

sys.exit(main())
