"""The spreadsheet's problem solved by the torch optimizers: y = a·x + b online (or a function
problem's f(x, y), a step a row), float64.

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
pass equals the engine's to the last bit. The squares too: the engine's are x·x (`expr.square`),
as torch's ``** 2`` is, so nothing is left to a machine's libm. On a function problem autograd
differentiates f in its own order of operations, and on a valley like Rosenbrock's an rmsprop step
turns a last-bit difference into a different path within 50 epochs; so there torch steps with the
gradient the sheet writes out (the problem's `gradient`), and a test checks autograd's gradient
against it separately.
"""
import math

import torch

from xlopt.core.engine import MemoryBook, Pass, summaries
from xlopt.core.errors import BadInput

from torch_side import optim

DTYPE = torch.float64


def optimizer_kwargs(sheet, inputs):
    """The keywords of the sheet's TorchSpec: inputs substituted by name (tuples by each name)."""
    spec = sheet.torch
    kw = {k: (tuple(inputs[n] for n in v) if isinstance(v, tuple) else inputs[v]) for k, v in spec.inputs.items()}
    kw.update(spec.fixed)
    return kw


def make_optimizer(sheet, params, inputs):
    """The sheet's own variant of its optimizer, as its definition's TorchSpec names it."""
    if sheet.torch is None:
        raise BadInput(f"sheet {sheet.name!r} names no torch optimizer (its definition has no TorchSpec)")
    kw = optimizer_kwargs(sheet, inputs)
    lr = kw.get("lr")
    try:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")  # a sheet needs a step
        return getattr(optim, sheet.torch.cls)(params, **kw)
    except ValueError as e:
        raise BadInput(f"sheet {sheet.name!r}: {e}") from None


# the columns torch computes itself: the parameters, the gradients (autograd), the new values (the
# optimizer's step) and the optimizer's state; every other column is the sheet's own definition
OWN = ("b", "a", "g_b", "g_a", "new_b", "new_a")


def torch_pass(sheet, data, inputs):
    """One recalculation with torch: the same columns the engine's `compute_pass` returns."""
    p = torch.tensor([inputs["const"], inputs["slope"]], dtype=DTYPE, requires_grad=True)
    opt = make_optimizer(sheet, [p], inputs)
    seeds = sheet.torch.seeds
    scalars = opt.scalar_keys  # numbers, not tensors: the step count (an int, as torch.optim keeps it)
    tensors = {k: inputs[target] for k, target in seeds.items() if k not in scalars}
    if tensors:
        opt.init_state(p, **tensors)
    for k in scalars:
        if k in seeds:
            v = inputs[seeds[k]][0]
            opt.state[p][k] = int(v) if k == "step" else float(v)
    state_cols = {k: sheet.target(target).keys for k, target in seeds.items()}
    carried = {key for keys in state_cols.values() for key in keys}
    env0 = {"lr": inputs["lr"], **{h: inputs[h] for h in sheet.hyper}}
    cols = {k: [] for k in ["b", "a"] + [c.key for c in sheet.columns]}
    bad = None
    prev = {key: torch.tensor(v, dtype=DTYPE) for t in sheet.targets if t.keys[0] in carried
            for key, v in zip(t.keys, inputs[t.name])}  # the state carried in from the row above
    for i, (x, y) in enumerate(zip(data.x, data.y)):
        b, a = p[0], p[1]
        opt.zero_grad(set_to_none=True)
        if sheet.problem.gradient is None:  # the lesson's (y − pred)²: autograd's gradient is the sheet's
            sheet.problem.loss(b, a, x, y).backward()
        else:  # a function: the gradient the sheet writes out (autograd's agrees to rounding, in another order)
            with torch.no_grad():
                p.grad = torch.stack(sheet.problem.gradient(b, a))
        with torch.no_grad():
            top, grad = p.detach().clone(), p.grad.clone()
            opt.step()
        row = {"b": top[0].item(), "a": top[1].item(), "g_b": grad[0].item(), "g_a": grad[1].item(),
               "new_b": p[0].item(), "new_a": p[1].item()}
        for k, keys in state_cols.items():
            st = opt.state[p][k if k in scalars else opt.state_name(k)]
            row.update(zip(keys, [float(st)] if k in scalars else st.tolist()))
        # the sheet's other columns, in its evaluation order: until a state column is reached in
        # that order a column reads the row above's state, after it the new one (torch's)
        env = dict(env0, **prev, x=x, y=y, b=top[0], a=top[1], g_b=grad[0], g_a=grad[1])
        for c in sheet.columns:
            if c.key in OWN or c.key in carried:
                env[c.key] = torch.tensor(row[c.key], dtype=DTYPE)
            else:
                env[c.key] = c.fn(env)
                row[c.key] = env[c.key].item()
        prev = {k: env[k] for k in carried}
        for k, v in row.items():
            cols[k].append(v)
        if bad is None and not all(math.isfinite(v) for k, v in row.items() if k not in ("b", "a")):
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
        from xlopt.core import state
        return state.fresh(sheet_name, data, cls)

    @classmethod
    def from_book(cls, book):
        """The same inputs and log as another book (e.g. one xlopt.state.load returned)."""
        return cls(book.sheet, book.data, book.inputs, book.log)
