"""The numpy-free heart of the lab: one pass of a sheet, and an in-memory workbook to run it in.

`compute_pass` evaluates a sheet's columns row by row in plain float64, exactly as the cells do.
`MemoryBook` offers the same small interface as the LibreOffice and Excel back ends (defined names,
automatic or manual calculation), so the Run/Reset logic in `xlopt.buttons` is written once.
"""
import math
import operator
import random
from dataclasses import dataclass

from xlopt.core import compiled, sheets
from xlopt.core.errors import TINY_LR, BadInput, Diverged


MAX_ROWS = 10_000  # rows of --data random: a documented bound (a workbook of 10000 rows builds in seconds)


@dataclass
class Data:
    x: list
    y: list

    @classmethod
    def lesson(cls):
        x = [float(v) for v in sheets.LESSON_X]
        return cls(x, [sheets.TRUE_B + v * sheets.TRUE_A for v in x])

    @classmethod
    def random(cls, seed=0, rows=29):
        """Like the data sheet: x = RANDBETWEEN(1,100), y = $C$1 + x·$C$2."""
        if rows < 2:
            raise BadInput(f"--rows must be at least 2, got {rows}")
        if rows > MAX_ROWS:
            raise BadInput(f"--rows must be at most {MAX_ROWS}, got {rows}")
        rng = random.Random(seed)
        x = [float(rng.randint(1, 100)) for _ in range(rows)]
        return cls(x, [sheets.TRUE_B + v * sheets.TRUE_A for v in x])

    @classmethod
    def steps(cls, rows=29):
        """A function problem's rows: no data, each row one more step (x holds its number, y 0)."""
        return cls([float(i) for i in range(1, rows + 1)], [0.0] * rows)

    @classmethod
    def of(cls, problem):
        """The rows a new sheet of `problem` starts with: the lesson's data, or a function's steps."""
        return cls.steps() if problem.is_function else cls.lesson()

    def __post_init__(self):
        self.x, self.y = [float(v) for v in self.x], [float(v) for v in self.y]
        if len(self.x) != len(self.y) or len(self.x) < 2:
            raise BadInput(f"data needs at least 2 (x, y) rows of equal length, got {len(self.x)} x and {len(self.y)} y")
        for i, v in enumerate(self.x + self.y):
            if not math.isfinite(v):
                raise BadInput(f"data row {i % len(self.x) + 1} holds a non-finite number ({v})")


class Pass:
    """One recalculation: `cols` (key -> list of row values, b and a included), `summary` (summary key
    -> value) and `bad_row` (1-based data row where values stopped being finite, or None).

    The engine's passes keep only their last row (`last` reads it: Run needs only that and the
    summaries) and compute the rows again, one tuple a row, when `cols` is first read."""

    def __init__(self, cols, summary, bad_row, last=None, index=None, rows=None):
        self._cols, self.summary, self.bad_row = cols, summary, bad_row
        self._last, self._index, self._rows = last, index, rows

    @property
    def cols(self):
        if self._cols is None:
            self._cols = dict(zip(self._index, map(list, zip(*self._rows()))))
        return self._cols

    def last(self, key):
        if self._cols is None:
            return self._last[self._index[key]]
        return self._cols[key][-1]

    def __eq__(self, other):
        return isinstance(other, Pass) and (self.cols, self.summary, self.bad_row) == (other.cols, other.summary, other.bad_row)

    def __repr__(self):
        return f"Pass(cols={self.cols!r}, summary={self.summary!r}, bad_row={self.bad_row!r})"


def compute_pass(sheet, data, inputs):
    """One recalculation: every row from the top values in `inputs` (const, slope, lr, hypers, targets).

    The rows and the column sums the summaries read run in `compiled.engine_pass`, the sheet's rule
    trees compiled to one Python loop; a row that raises is evaluated again here, cell by cell, by
    `_slow_row`."""
    rows_fn, last_fn, summ, index, head, where = _plan(sheet)
    top = head(inputs)  # const, slope, lr and the hyper-parameters
    if where:
        top += tuple([inputs[t][i] for t, i in where])  # the state columns' top values
    got = _LAST_ROWS.get(id(sheet))
    if got is not None and got[0] is sheet and got[1] == top and got[2] == data.x and got[3] == data.y:
        last, sums, bad, rows = got[4:]  # same row inputs (adam_ann's recalculation after keeping lr)
    else:
        xs, ys = list(data.x), list(data.y)
        env0 = {"lr": inputs["lr"]}
        for h in sheet.hyper:
            env0[h] = inputs[h]

        def slow(x, y, b, a, st):
            return _slow_row(sheet, env0, x, y, b, a, st)

        res = last_fn(xs, ys, *top, slow)
        if res is None:  # a cell's lr/β-only part raises: every row cell by cell
            state = {}
            for t in sheet.targets:
                state.update(zip(t.keys, inputs[t.name]))
            cols = _slow_pass(sheet, data, env0, inputs["const"], inputs["slope"], state)
            table = list(zip(*(cols[k] for k in index)))
            last, sums, chk = table[-1], None, math.nan

            def rows():
                return table
        else:
            last, sums, chk = res

            def rows():  # the same pass again, keeping every row (a pure function of these inputs)
                return rows_fn(xs, ys, *top, slow)[0]
        bad = None
        if not math.isfinite(chk):  # a cell is not finite (or finite cells overflowed the sum)
            cols = dict(zip(index, map(list, zip(*rows()))))
            bad = compiled.first_bad_row(cols, [c.key for c in sheet.columns])
        _LAST_ROWS[id(sheet)] = (sheet, top, xs, ys, last, sums, bad, rows)
    p = Pass(None, None, bad, last, index, rows)
    p.summary = summ.fn(sums, inputs) if summ is not None and sums is not None else summaries(sheet, p.cols, inputs)
    return p


def _plan(sheet):
    """(rows fn, last-row fn, compiled summaries, row key -> tuple index, a getter of const, slope,
    lr and the hyper-parameters, where each state column's top value is: (target, position)), once
    per sheet definition."""
    got = _PLAN.get(id(sheet))
    if got is None or got[0] is not sheet:
        keys = ("b", "a", *(c.key for c in sheet.columns))
        at = {k: (t.name, i) for t in sheet.targets for i, k in enumerate(t.keys)}
        head = operator.itemgetter("const", "slope", "lr", *sheet.hyper)
        got = _PLAN[id(sheet)] = (sheet, (*compiled.engine_pass(sheet), {k: i for i, k in enumerate(keys)},
                                          head, tuple(at[k] for k in sheet.state)))
    return got[1]


# sheet id -> (sheet, row inputs, data x, data y, last row, column sums, bad row, rows) of the last pass: the
# rows are a pure function of those, so a recalculation that changed only a summary's input
# (prev_grad2) reuses them
_LAST_ROWS = {}
_PLAN = {}


def _slow_pass(sheet, data, env0, b, a, state):
    keys = [c.key for c in sheet.columns]
    cols = {k: [] for k in ["b", "a"] + keys}
    state = dict(state)
    for x, y in zip(data.x, data.y):
        vals = _slow_row(sheet, env0, x, y, b, a, state)
        cols["b"].append(b)
        cols["a"].append(a)
        for k, v in zip(keys, vals):
            cols[k].append(v)
        e = dict(zip(keys, vals))
        b, a = e[sheet.new_b], e[sheet.new_a]
        state = {k: e[k] for k in state}
    return cols


def _slow_row(sheet, env0, x, y, b, a, state):
    """One row by the sheet's column functions: a cell that raises shows NaN (#NUM!, #DIV/0!)."""
    e = dict(env0, **state, x=x, y=y, b=b, a=a)
    for c in sheet.columns:
        try:
            v = c.fn(e)
        except (OverflowError, ZeroDivisionError):
            v = math.nan  # the cell would show #NUM! or #DIV/0!
        e[c.key] = v
    return tuple(e[c.key] for c in sheet.columns)


def summaries(sheet, cols, inputs):
    """The summary cells (rmse, norms, avg_grad2, gradrat) from whole columns and the inputs.

    The operands may be floats or tensors (torch_side.experiments.linreg passes tensors)."""
    env = dict(cols, **{k: v for k, v in inputs.items() if k not in cols})
    out = {}
    for sm in sheet.summaries:
        try:
            v = sm.fn(env)
        except (OverflowError, ZeroDivisionError):
            v = math.nan
        env[sm.key] = out[sm.key] = v
    return out


def default_inputs(sheet):
    """What a freshly opened workbook holds before anyone presses Reset."""
    d = {"const": sheet.start[0], "slope": sheet.start[1], "lr": sheet.lr_default}
    d.update({h: v for h, (_, v) in sheet.hyper.items()})
    for t in sheet.targets:
        d[t.name] = t.values()
    for e in sheet.extras:
        d[e.name] = e.default
    return d


def data_overflow(sheet, data):
    """(data row, x, y) where the sheet's first pass from Reset's b = a = 1 overflows even at lr
    errors.TINY_LR, or None: then the data are not what overflows. The row is the pass's first bad
    row; where only a sum over the rows overflowed, the first row whose squares do, else the largest."""
    inputs = default_inputs(sheet)
    inputs["lr"] = TINY_LR
    p = compute_pass(sheet, data, inputs)
    row = p.bad_row
    if row is None and not all(map(math.isfinite, p.summary.values())):  # a sum over the rows overflowed
        sq = [i + 1 for i, (x, y) in enumerate(zip(data.x, data.y)) if not math.isfinite(x * x + y * y)]
        row = sq[0] if sq else 1 + max(range(len(data.x)), key=lambda i: max(abs(data.x[i]), abs(data.y[i])))
    if row is None:
        return None
    return row, data.x[row - 1], data.y[row - 1]


def blame_data(e, sheet, data):
    """Diverged `e` again, saying the data overflow when they do (whatever the lr), else `e` itself."""
    if e.data is not None:
        return e
    found = data_overflow(sheet, data)
    if found is None:
        return e
    return Diverged(e.sheet, e.epoch, e.row, e.first_row, e.detail, data=found)


class MemoryBook:
    """A workbook held in memory: names, calculation modes and the log, nothing else."""

    def __init__(self, sheet, data, inputs=None, log=None):
        self.sheet, self.data = sheet, data
        self.inputs = dict(default_inputs(sheet) if inputs is None else inputs)
        self.log = list(log or [])
        self.auto = True
        self.calculations = 0
        self._names = sheet.names(len(data.x))
        self._last_keys = _last_keys(sheet)
        self.calculate()

    @property
    def name(self):
        return self.sheet.name

    def has(self, name):
        return name in self._names

    def get(self, name):
        inputs = self.inputs
        if name in inputs:
            v = inputs[name]
            return list(v) if isinstance(v, list) else v
        if self.auto and self._dirty:
            self.calculate()
        p = self.pass_
        summary = p.summary
        if name in summary:
            return summary[name]
        key = self._last_keys.get(name)
        if key is not None:
            return p.last(key)
        return outputs(self.sheet, p, name)

    def set(self, name, value):
        if name not in self.inputs:
            raise BadInput(f"sheet {self.sheet.name!r}: {name!r} is not an input cell")
        self.inputs[name] = list(value) if isinstance(value, (list, tuple)) else float(value)
        self._dirty = True

    def calculate(self):
        self.pass_ = compute_pass(self.sheet, self.data, self.inputs)
        self._dirty = False
        self.calculations += 1

    def manual(self):
        """A context in which writes do not recalculate; leaving it recalculates if needed."""
        return _Manual(self)

    def first_bad_row(self):
        if self.auto and self._dirty:
            self.calculate()
        if self.pass_.bad_row is None and not all(map(math.isfinite, self.pass_.summary.values())):
            return len(self.data.x)
        return self.pass_.bad_row

    def read_log(self):
        return [dict(e) for e in self.log]

    def write_log(self, entries):
        self.log = [dict(e) for e in entries]


class _Manual:
    """MemoryBook.manual(): the plain @contextmanager's behaviour, without a generator per use."""
    __slots__ = ("book", "old")

    def __init__(self, book):
        self.book = book

    def __enter__(self):
        self.old, self.book.auto = self.book.auto, False
        return self.book

    def __exit__(self, *exc):
        book = self.book
        book.auto = self.old
        if self.old and book._dirty:
            book.calculate()
        return False


def _last_keys(sheet):
    """The one-cell outputs read from the last row: lastconst -> 'b' and so on (see `outputs`)."""
    got = _LAST_KEYS.get(id(sheet))
    if got is None or got[0] is not sheet:
        keys = {"lastconst": "b", "lastslope": "a", "lastnewconst": sheet.new_b, "lastnewslope": sheet.new_a}
        got = _LAST_KEYS[id(sheet)] = (sheet, keys)
    return got[1]


_LAST_KEYS = {}


def outputs(sheet, p, name):
    """A computed name other than the summaries, read from the pass: the last row's cells."""
    if name == "lastconst":
        return p.last("b")
    if name == "lastslope":
        return p.last("a")
    if name == "lastnewconst":
        return p.last(sheet.new_b)
    if name == "lastnewslope":
        return p.last(sheet.new_a)
    for t in sheet.targets:
        if name == t.last:
            return [p.last(k) for k in t.keys]
    raise BadInput(f"sheet {sheet.name!r} has no name {name!r}")
