"""`torch-side linreg`: the spreadsheet's problem solved online by the torch optimizers, in float64.

Same options, same Reset/Run semantics, same state file and the same JSON/table/CSV output as
`xlopt run`; only the recalculation differs: each pass is computed by autograd and
torch_side.optim's optimizer for the sheet (SGD, Momentum, RMSProp, Adam in the sheet's variants).

  torch-side linreg adam --epochs 10 --format json
  torch-side linreg adam_ann --state s.json        continue from s.json (Reset if absent), save it
"""
import sys

from xlopt import cmd_run, sheets
from xlopt.errors import BadInput, XloptError

from torch_side.linreg import TorchBook


def add_arguments(parser):
    cmd_run.add_arguments_run(parser)


def main(args) -> int:
    try:
        if args.sheet not in sheets.SHEETS:
            raise BadInput(f"unknown sheet {args.sheet!r}: choose one of {', '.join(sheets.SHEETS)}")
        result = cmd_run.run(args, make_book=TorchBook)
    except XloptError as e:
        print(f"torch-side linreg: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("torch-side linreg: interrupted; no file was changed", file=sys.stderr)
        return 130
    cmd_run.emit(result, args.format)
    return 0
