"""`torch-side linreg`: the spreadsheet's problem solved online by the torch optimizers, in float64.

Same options, same Reset/Run semantics, same state file and the same JSON/table/CSV output as
`xlopt run`; only the recalculation differs: each pass is computed by autograd and
torch_side.optim's optimizer for the sheet (SGD, Momentum, RMSProp, Adam in the sheet's variants).

  torch-side linreg adam --epochs 10 --format json
  torch-side linreg adam_ann --state s.json        continue from s.json (Reset if absent), save it
"""
from xlopt.core import runner
from xlopt.core.report import emit

from torch_side.experiments.linreg import TorchBook


def add_arguments(parser):
    runner.add_arguments_run(parser)


def main(args) -> int:
    emit(runner.run(args, make_book=TorchBook), args.format)
    return 0
