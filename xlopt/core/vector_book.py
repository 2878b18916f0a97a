"""The vector book: a workbook whose input cells hold arrays over a sweep's configurations.

It offers the book interface of `xlopt.core.buttons` (has, get, set, calculate, manual,
first_bad_row, read_log, write_log), so the sheet's own Reset and Run logic drives all
configurations together. Its recalculation is `compiled.vector_pass`: the sheet's rule trees from
`xlopt.core.rules`, printed once as Python that works on arrays (numpy, or torch via
`torch_side.cli.sweep`).
"""
from contextlib import contextmanager

import numpy as np

from xlopt.core import compiled
from xlopt.core.engine import default_inputs, outputs, summaries
from xlopt.core.errors import BadInput
from xlopt.core.sweep_ops import NumpyOps


class _VPass:
    def __init__(self, cols, last, summary):
        self.cols, self._last, self.summary = cols, last, summary

    def last(self, key):
        return self._last[key]


class VectorBook:
    """A book whose inputs are arrays over `n` configurations; the buttons' interface, vectorised.

    Divergence is not raised (one configuration must not stop the others): every recalculation
    records, for each configuration still finite, the first row where a cell stopped being finite,
    against `self.epoch`, in `div_epoch` / `div_row` (-1 / 0: never)."""

    def __init__(self, sheet, data, n, ops=NumpyOps, inputs=None):
        self.sheet, self.data, self.n, self.ops = sheet, data, n, ops
        self.inputs = {}
        for k, v in (default_inputs(sheet) if inputs is None else inputs).items():
            self.inputs[k] = [self._arr(x) for x in v] if isinstance(v, list) else self._arr(v)
        self.log = []
        self.auto = True
        self.calculations = 0
        self.epoch = None  # no divergence is recorded before Reset (a new book never checks)
        self.div_epoch = np.full(n, -1, dtype=np.int64)
        self.div_row = np.zeros(n, dtype=np.int64)
        self._names = sheet.names(len(data.x))
        self._fast = compiled.vector_pass(sheet, ops)
        self._exact = compiled.vector_pass(sheet, ops, exact=True)
        self.calculate()

    def expand(self, idx):
        """A book of len(idx) configurations, configuration i holding this book's configuration
        idx[i]: its inputs, log and divergence (the next calculation computes its pass)."""
        ops = self.ops
        tidx = idx if ops.name == "numpy" else ops.asindex(idx)

        def take(v):
            if isinstance(v, list):
                return [take(w) for w in v]
            return ops.take(v, tidx) if getattr(v, "shape", ()) == (self.n,) else v
        book = VectorBook.__new__(VectorBook)
        book.__dict__.update(self.__dict__)
        book.n = len(idx)
        book.inputs = {k: take(v) for k, v in self.inputs.items()}
        book.log = [{k: take(v) for k, v in e.items()} for e in self.log]
        book.div_epoch, book.div_row = self.div_epoch[idx], self.div_row[idx]
        book.__dict__.pop("_prev", None)
        book.pass_ = None
        book._dirty = True
        return book

    def _arr(self, v):
        if isinstance(v, (int, float)):
            return self.ops.full(self.n, v)
        return self.ops.asarray(v)

    @property
    def name(self):
        return self.sheet.name

    def has(self, name):
        return name in self._names

    def get(self, name):
        if name in self.inputs:
            v = self.inputs[name]
            return list(v) if isinstance(v, list) else v
        if self.auto and self._dirty:
            self.calculate()
        if name in self.pass_.summary:
            return self.pass_.summary[name]
        return outputs(self.sheet, self.pass_, name)

    def set(self, name, value):
        if name not in self.inputs:
            raise BadInput(f"sheet {self.sheet.name!r}: {name!r} is not an input cell")
        self.inputs[name] = [self._arr(v) for v in value] if isinstance(value, (list, tuple)) else self._arr(value)
        self._dirty = True

    def _args(self, idx=None):
        inp, sheet = self.inputs, self.sheet
        state = {}
        for tg in sheet.targets:
            state.update(zip(tg.keys, inp[tg.name]))
        args = [inp["const"], inp["slope"], inp["lr"], *(inp[h] for h in sheet.hyper),
                *(state[k] for k in sheet.state)]
        return args if idx is None else [self.ops.take(a, idx) for a in args]

    def calculate(self):
        ops = self.ops
        args = self._args()
        with ops.errstate():
            cols, last, chk = self._rows(args)
            with ops.exact():
                summary = summaries(self.sheet, cols, self.inputs)
            if self.epoch is not None:
                self._record(chk, summary)
        self.pass_ = _VPass(cols, last, summary)
        self._dirty = False
        self.calculations += 1

    def _rows(self, args):
        """The pass's rows; only for the configurations whose row inputs changed since the last
        pass when they are few (adam_ann's recalculation after annealing changes lr for some)."""
        ops, X, Y = self.ops, self.data.x, self.data.y
        prev, self._prev = getattr(self, "_prev", None), (args, None)
        if prev is not None:
            old, rows = prev
            changed = None
            for a, p in zip(args, old):
                if a is not p:
                    d = a != p
                    changed = d if changed is None else changed | d
            if changed is None:
                self._prev = (args, rows)
                return rows
            alive = self.div_epoch < 0
            idx = np.flatnonzero(ops.to_numpy(changed) & alive)  # a diverged configuration is not reported
            if idx.size == 0:  # only diverged configurations changed: their values are not reported
                self._prev = (args, rows)
                return rows
            if idx.size <= self.n // 4:
                tidx = idx if ops.name == "numpy" else ops.asindex(idx)
                sub = self._fast(X, Y, *(ops.take(a, tidx) for a in args))
                rows = tuple(_merge(ops, o, s, tidx) for o, s in zip(rows, sub))
                self._prev = (args, rows)
                return rows
        rows = self._fast(X, Y, *args)
        self._prev = (args, rows)
        return rows

    def _record(self, chk, summary):
        """First bad row of each configuration still running; the exact scan only where needed."""
        ops = self.ops
        alive = self.div_epoch < 0
        bad = np.zeros(self.n, dtype=np.int64)
        suspect = np.flatnonzero(~np.broadcast_to(ops.to_numpy(ops.isfinite(chk)), alive.shape) & alive)
        if suspect.size:
            idx = suspect if ops.name == "numpy" else ops.asindex(suspect)
            _, _, rows = self._exact(self.data.x, self.data.y, *self._args(idx))
            bad[suspect] = np.broadcast_to(ops.to_numpy(rows), suspect.shape)
        for v in summary.values():  # a summary that is not finite: the last row (MemoryBook's rule)
            bad = np.where((bad == 0) & ~ops.to_numpy(ops.isfinite(v)), len(self.data.x), bad)
        new = alive & (bad > 0)
        self.div_epoch[new] = self.epoch
        self.div_row[new] = bad[new]

    @contextmanager
    def manual(self):
        old, self.auto = self.auto, False
        try:
            yield self
        finally:
            self.auto = old
            if old and self._dirty:
                self.calculate()

    def first_bad_row(self):
        """Always None: divergence is per configuration (div_epoch, div_row), never raised."""
        if self.auto and self._dirty:
            self.calculate()
        return None

    def read_log(self):
        return [dict(e) for e in self.log]

    def write_log(self, entries):
        self.log = [dict(e) for e in entries]


def _merge(ops, old, new, idx):
    """A copy of `old` (an array, or a list / dict of them) with `new` written at `idx`."""
    if isinstance(old, dict):
        return {k: _merge(ops, old[k], new[k], idx) for k in old}
    if isinstance(old, list):
        return [_merge(ops, o, n, idx) for o, n in zip(old, new)]
    out = ops.copy(old)
    ops.put(out, idx, new)
    return out
