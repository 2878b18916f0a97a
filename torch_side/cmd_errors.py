"""One place that turns the commands' known failures into one line and an exit status.

Bad input, a missing or corrupt dataset, a refused checkpoint and an absent GPU exit 2; a
diverging run (NaN/inf loss) exits 3; anything else is a bug and keeps its traceback. After a
signal, any of them is that signal's one line instead (xlopt.core.signals).
"""
import sys

from xlopt.core.signals import reraise_if_interrupted

from torch_side.data import DatasetMissingError
from torch_side.learner import NonFiniteLossError

__all__ = ["command_main"]


def command_main(name, run):
    """``main(args) -> int`` for ``torch-side NAME``, calling ``run(args)``."""
    def main(args):
        try:
            run(args)
        except (DatasetMissingError, ValueError) as e:  # recipe, dataset, checkpoint errors too
            return _say(name, e, 2)
        except NonFiniteLossError as e:
            return _say(name, e, 3)
        except RuntimeError as e:
            if "cuda" in str(e).lower():
                return _say(name, e, 2)
            raise
        return 0
    return main


def _say(name, err, code):
    reraise_if_interrupted(err)  # a failure after Ctrl-C is the Ctrl-C's doing
    print(f"torch-side {name}: error: {err}", file=sys.stderr)
    return code
