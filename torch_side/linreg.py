"""The spreadsheet's problem solved by the torch optimizers: y = a·x + b, online, float64.

`TorchBook` is a workbook whose recalculation is done by PyTorch: autograd takes the gradients of
each row's squared error and one of `torch_side.optim`'s optimizers, set to the sheet's variant and
seeded with the pasted state (momtarget / gradtarget), takes one step per data row. It keeps the
same inputs, names and log as `xlopt.engine.MemoryBook` (it is one, with another `calculate`), so
`xlopt.buttons.run/reset` press its Run and Reset exactly as on the engine and `xlopt.state` saves
it in the same JSON file.

Per pass (one recalculation), from the top values:
    p = [b, a] (float64, requires_grad), optimizer seeded with the targets
    for each row x, y:  pred = b + a·x;  loss = (y − pred)²;  loss.backward();  optimizer.step()
Autograd's gradient 2·(pred − y), and ·x for a, is bit-for-bit the sheet's 2(a·x + b − y) and
de/db·x (a negated difference is exact in IEEE arithmetic), and the optimizers evaluate the same
`xlopt.rules` functions as the cells (with a correctly rounded sqrt, see `optim.exact_sqrt`), so a
pass equals the engine's to the last bit, with one known exception: a square. The engine's
``v ** 2`` on a Python float is libm's pow(v, 2), which differs from the correctly rounded v·v
(torch's ``** 2``) by one ulp for about 0.09% of inputs. Over the lesson's 50 epochs this touched
one err² cell (adam_ann, relative 1.5e-16) and nothing carried; the tests hold torch to 1e-12.
"""
import math

import torch

from xlopt import rules
from xlopt.engine import MemoryBook, Pass, summaries
from xlopt.errors import BadInput

from torch_side import optim

DTYPE = torch.float64


# Each sheet's optimizer as data: a class of torch_side.optim, the keyword arguments read from the
# sheet's inputs (keyword -> input name, or a tuple of input names for a tuple value) and the fixed
# ones. make_optimizer calls getattr(torch_side.optim, CLASS)(params, **from_inputs, **fixed).
SHEET_OPTIMIZERS = {
    "basic": ("SGD", {"lr": "lr"}, {}),
    "momentum": ("Momentum", {"lr": "lr", "momentum": "mom"}, {}),
    "rmsprop": ("RMSprop", {"lr": "lr", "alpha": "sqr_mom"}, {"eps": 0., "sheet": True}),
    "adam": ("Adam", {"lr": "lr", "betas": ("mom", "sqr_mom")}, {"eps": 0., "bias_correction": False}),
    "adam_ann": ("Adam", {"lr": "lr", "betas": ("mom", "sqr_mom")}, {"eps": 0., "bias_correction": False}),
}


def optimizer_kwargs(sheet_name, inputs):
    """(class name, keyword arguments) of the sheet's optimizer, with its inputs' values."""
    if sheet_name not in SHEET_OPTIMIZERS:
        raise BadInput(f"no torch optimizer for sheet {sheet_name!r}")
    cls, from_inputs, fixed = SHEET_OPTIMIZERS[sheet_name]
    kw = {k: tuple(inputs[n] for n in v) if isinstance(v, tuple) else inputs[v] for k, v in from_inputs.items()}
    return cls, {**kw, **fixed}


def make_optimizer(sheet, params, inputs):
    """The sheet's own variant of its optimizer, with its hyper-parameters from the inputs."""
    cls, kw = optimizer_kwargs(sheet.name, inputs)
    lr = kw.get("lr")
    try:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")  # a sheet needs a step
        return getattr(optim, cls)(params, **kw)
    except ValueError as e:
        raise BadInput(f"sheet {sheet.name!r}: {e}") from None


# state key of the optimizer -> (target name, the sheet's two state columns b, a)
_SEEDS = {"grad_avg": ("momtarget", ("m_b", "m_a")), "sqr_avg": ("gradtarget", ("s_b", "s_a"))}


def torch_pass(sheet, data, inputs):
    """One recalculation with torch: the same columns the engine's `compute_pass` returns."""
    p = torch.tensor([inputs["const"], inputs["slope"]], dtype=DTYPE, requires_grad=True)
    opt = make_optimizer(sheet, [p], inputs)
    seeds = {k: inputs[t] for k, (t, _) in _SEEDS.items() if t in sheet.targets}
    if seeds:
        opt.init_state(p, **seeds)
    names = ["b", "a", "pred", "err2", "g_b", "g_a", "new_b", "new_a"]
    if sheet.name == "basic":
        names += ["errb1", "est_db", "erra1", "est_da"]
    state_cols = {k: cols for k, (t, cols) in _SEEDS.items() if t in sheet.targets}
    for cols in state_cols.values():
        names += cols
    rows = []
    bad = None
    for i, (x, y) in enumerate(zip(data.x, data.y)):
        b, a = p[0], p[1]
        pred = rules.predict(a, b, x)
        loss = rules.sq_err(y, pred)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            row = [p.detach().clone(), pred.detach(), loss.detach(), p.grad.clone()]
            if sheet.name == "basic":
                b0, a0 = row[0][0], row[0][1]
                errb1, erra1 = rules.err_b_shifted(a0, b0, x, y), rules.err_a_shifted(a0, b0, x, y)
                row.append(torch.stack([errb1, rules.finite_diff(errb1, loss.detach()),
                                        erra1, rules.finite_diff(erra1, loss.detach())]))
        opt.step()
        row.insert(3, p.detach().clone())  # new b, new a
        row += [opt.state[p][opt.state_name(k)].clone() for k in state_cols]
        rows.append(row)
    cols = {n: [] for n in names}
    for i, row in enumerate(rows):
        bb, pred, err2, new, g = row[0].tolist(), row[1].item(), row[2].item(), row[3].tolist(), row[4].tolist()
        vals = [bb[0], bb[1], pred, err2, g[0], g[1], new[0], new[1]]
        rest = row[5:]
        if sheet.name == "basic":
            vals += rest[0].tolist()
            rest = rest[1:]
        for t in rest:
            vals += t.tolist()
        for n, v in zip(names, vals):
            cols[n].append(v)
        if bad is None and not all(math.isfinite(v) for v in vals[2:]):
            bad = i + 1
    return Pass(cols, _summaries(sheet, cols, inputs), bad)


def _summaries(sheet, cols, inputs):
    """The summary cells, with torch float64 arithmetic (left-to-right sums, as SUM/SUMSQ)."""
    with optim.exact_sqrt_mode():
        return _summary_values(sheet, cols, inputs)


def _summary_values(sheet, cols, inputs):
    """The sheet's own Summary definitions, evaluated on float64 tensors."""
    t = lambda v: torch.tensor(v, dtype=DTYPE)  # noqa: E731
    tcols = {k: [t(x) for x in c] for k, c in cols.items()}
    tinputs = {k: t(v) for k, v in inputs.items()}
    return {k: float(v) for k, v in summaries(sheet, tcols, tinputs).items()}


class TorchBook(MemoryBook):
    """A MemoryBook whose passes are computed by autograd and the torch optimizers."""

    def calculate(self):
        self.pass_ = torch_pass(self.sheet, self.data, self.inputs)
        self._dirty = False
        self.calculations += 1

    @classmethod
    def fresh(cls, sheet_name, data=None):
        """A new book of that sheet with Reset pressed (as xlopt.state.fresh, computed by torch)."""
        from xlopt import state
        return state.fresh(sheet_name, data, cls)

    @classmethod
    def from_book(cls, book):
        """The same inputs and log as another book (e.g. one xlopt.state.load returned)."""
        return cls(book.sheet, book.data, book.inputs, book.log)
