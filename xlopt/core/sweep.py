"""Sweeps: one sheet run over a whole grid of hyper-parameters at once, every setting as `xlopt run`.

A `VectorBook` is a workbook whose input cells hold arrays over configurations (numpy, or torch via
`torch_side.cli.sweep`): it offers the book interface of `xlopt.core.buttons` (has, get, set,
calculate, manual, first_bad_row, read_log, write_log), so the sheet's own Reset and Run logic
drives all configurations together. Its recalculation is `compiled.vector_pass`: the sheet's rule
trees from `xlopt.core.rules`, printed once as Python that works on arrays.

Each configuration does exactly what `xlopt run SHEET --lr LR --epochs N --carry C` does:
the hyper-parameter cells (β) are typed in first and Reset is pressed (Reset leaves them alone and
its warm-up passes use them), then lr is typed into its cell (Reset writes lr on some sheets, as
`--lr` comes after Reset), then Run. A configuration whose pass stops being finite is recorded
with its epoch and row (where `xlopt run` stops with exit 3) and its later values are ignored.

Same bits as the engine, by construction: + − × ÷ and √ are correctly rounded in Python, numpy (at
every SIMD level) and torch alike, and a square is its own node (`expr.square`), evaluated x·x
everywhere. The one remaining power, adam_bc's β^t, goes through libm's `pow` (`math.pow`, which is
what the engine's float `**` calls), once per distinct (β, t) pair: numpy's own `np.power` may
dispatch to SIMD code that is not libm's (AVX-512), so it is never used.
"""
import math
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from xlopt.core import buttons, compiled, problems, sheets, state
from xlopt.core.engine import Data, default_inputs, outputs, summaries
from xlopt.core.errors import BadInput
from xlopt.core.sheet import BETAS

SPACINGS = ("lin", "log")
DEFAULT_THRESHOLD = 1.0
DEFAULT_EPOCHS = 50


# --- array operations ----------------------------------------------------------------------------
def libm_pow(x, p):
    """x ** p element-wise, each element by libm's pow (as the engine's float `**`), on numpy arrays.

    The bases and exponents that reach here are few distinct values repeated over the
    configurations (adam_bc's β^t: one t per row, one β per grid value), so pow runs once per
    distinct pair."""
    x, p = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(p, dtype=np.float64))
    if p.size and np.all(p == p.flat[0]):  # one exponent (t of this row): distinct bases only
        uniq, inv = np.unique(x.ravel(), return_inverse=True)
        vals = np.array([_pow1(u, float(p.flat[0])) for u in uniq.tolist()], dtype=np.float64)
    else:
        uniq, inv = np.unique(np.stack([x.ravel(), p.ravel()], axis=1), axis=0, return_inverse=True)
        vals = np.array([_pow1(u, v) for u, v in uniq.tolist()], dtype=np.float64)
    return vals[inv.ravel()].reshape(x.shape)


def _pow1(u, v):
    try:
        return math.pow(u, v)
    except (OverflowError, ValueError):  # as the engine's cell turns into an error: not finite
        return math.nan


class NumpyOps:
    name = "numpy"
    sqrt = staticmethod(np.sqrt)
    isfinite = staticmethod(np.isfinite)
    where = staticmethod(np.where)
    zeros_like = staticmethod(np.zeros_like)

    @staticmethod
    def pow(x, p):
        """x ** p with the engine's bits: libm's pow, as Python's float ** is."""
        if not isinstance(x, np.ndarray) and not isinstance(p, np.ndarray):
            return float(x) ** p
        return libm_pow(x, p)

    @staticmethod
    def full(n, v):
        return np.full(n, float(v))

    @staticmethod
    def asarray(v):
        return np.asarray(v, dtype=np.float64)

    @staticmethod
    def to_numpy(v):
        return np.asarray(v)

    @staticmethod
    def take(v, idx):
        return v[idx]

    @staticmethod
    def copy(v):
        return v.copy()

    @staticmethod
    def nonzero(mask):
        return np.flatnonzero(mask)

    @staticmethod
    def put(v, idx, w):
        v[idx] = w

    @staticmethod
    def errstate():
        return np.errstate(all="ignore")

    @staticmethod
    def exact():
        """A context for the summaries (√ of a sum): numpy's √ is already correctly rounded."""
        return nullcontext()


# --- the grid ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    name: str
    spacing: str         # 'list', 'lin' or 'log'
    spec: str
    count: int
    ends: tuple = ()     # (start, stop) of a range
    listed: tuple = ()   # the values of a list

    def values(self):
        if self.spacing == "list":
            return list(self.listed)
        a, b = self.ends
        if self.count == 1:
            return [a]
        v = np.geomspace(a, b, self.count) if self.spacing == "log" else np.linspace(a, b, self.count)
        return [float(x) for x in v]


def param_names(sheet):
    return ["lr"] + list(sheet.hyper)


def _number(text, where):
    try:
        v = float(text)
    except ValueError:
        raise BadInput(f"--grid {where}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise BadInput(f"--grid {where}: {text!r} is not a finite number")
    return v


_RANGE = re.compile(r"^(?P<a>.+?)\.\.(?P<b>[^:]+):(?P<n>[^:]+)(?::(?P<s>[^:]*))?$")
SPEC_HELP = ("a SPEC is a list (0.1,0.3,1) or a range START..STOP:COUNT[:lin|log] "
             "(1e-4..1:25:log, 0.5..0.99:20:lin)")


def parse_axis(name, spec):
    where = f"{name}={spec}"
    spec = spec.strip()
    if not spec:
        raise BadInput(f"--grid {name}=: empty SPEC; {SPEC_HELP}")
    if ".." in spec:
        m = _RANGE.match(spec)
        if not m:
            raise BadInput(f"--grid {where}: malformed range; {SPEC_HELP}")
        a, b = _number(m["a"], where), _number(m["b"], where)
        try:
            n = int(m["n"])
        except ValueError:
            raise BadInput(f"--grid {where}: COUNT {m['n']!r} is not a whole number; {SPEC_HELP}") from None
        s = m["s"] if m["s"] is not None else "lin"
        if s not in SPACINGS:
            raise BadInput(f"--grid {where}: spacing {s!r} is not lin or log; {SPEC_HELP}")
        if n < 1:
            raise BadInput(f"--grid {where}: COUNT must be at least 1, got {n}")
        if s == "log" and (a <= 0 or b <= 0):
            raise BadInput(f"--grid {where}: log spacing needs START and STOP > 0")
        return Axis(name, s, spec, n, ends=(a, b))
    parts = [p.strip() for p in spec.split(",")]
    if any(not p for p in parts):
        raise BadInput(f"--grid {where}: an empty value in the list; {SPEC_HELP}")
    vals = tuple(_number(p, where) for p in parts)
    return Axis(name, "list", spec, len(vals), listed=vals)


def parse_grid(sheet, texts):
    """'lr=1e-3..1:10:log,mom=0.8,0.9' (one or more texts) -> [Axis], checked against the sheet."""
    if not texts:
        raise BadInput("--grid is required: NAME=SPEC[,NAME=SPEC...], e.g. --grid lr=1e-3..1:10:log")
    known = param_names(sheet)
    specs = []  # [name, [tokens]]
    for text in texts:
        for tok in text.split(","):
            if "=" in tok:
                name, first = tok.split("=", 1)
                specs.append([name.strip(), [first]])
            elif not specs:
                raise BadInput(f"--grid {text}: expected NAME=SPEC; {SPEC_HELP}")
            else:
                specs[-1][1].append(tok)
    axes = []
    for name, toks in specs:
        if name not in known:
            raise BadInput(f"--grid: sheet {sheet.name!r} has no hyper-parameter {name!r}; it has "
                           f"{', '.join(known)}")
        if name in [a.name for a in axes]:
            raise BadInput(f"--grid: {name} is given twice")
        axis = parse_axis(name, ",".join(toks))
        if name == "lr":
            low = min(axis.ends) if axis.ends else min(axis.listed)
            if low <= 0:
                raise BadInput(f"--grid {name}={axis.spec}: lr must be > 0 (got {low:g})")
        if name in BETAS:
            values = list(axis.ends) if axis.ends else list(axis.listed)
            bad = [v for v in values if not 0 <= v < 1]
            if bad:
                raise BadInput(f"--grid {name}={axis.spec}: {name} is a beta and must be in [0, 1) "
                               f"(got {bad[0]:g}); e.g. {name}=0.5..0.99:10:lin")
        axes.append(axis)
    return axes


def n_configs(axes):
    n = 1
    for a in axes:
        n *= a.count
    return n


# --- memory --------------------------------------------------------------------------------------
def bytes_per_config(sheet, rows, epochs):
    """Bytes a configuration holds at once: the kept columns, a row's cells and their temporaries,
    the inputs, the outputs and the rmse log (float64); bench/sweep_speed.py compares it with
    tracemalloc's peak (adam, 10^4 configurations: 20 MiB measured, 24 MiB estimated)."""
    keep = len(compiled.summary_columns(sheet))
    cells = len(sheet.columns) + 2
    return 8 * (rows * (keep + 2) + 6 * cells + 2 * len(default_inputs(sheet)) + 40 + 2 * epochs)


def available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2 ** 30


def check_memory(sheet, axes, rows, epochs, limit=None):
    """Refuse a grid whose estimate is over half the free memory (or `limit` bytes)."""
    n = n_configs(axes)
    per = bytes_per_config(sheet, rows, epochs)
    need = n * per
    limit = available_bytes() // 2 if limit is None else limit
    if need > limit:
        shape = " × ".join(f"{a.count} {a.name}" for a in axes)
        fit = max(1, limit // per)
        raise BadInput(f"--grid asks for {n:,} configurations ({shape}); they need about {_gib(need)} "
                       f"({per:,} bytes each for {rows} rows and {epochs} epochs), more than the "
                       f"{_gib(limit)} allowed (half the free memory). Shrink the grid to at most "
                       f"{fit:,} configurations: fewer values per parameter, fewer parameters, or "
                       "several sweeps over parts of a range.")
    return need


def _gib(b):
    return f"{b / 2 ** 30:.2f} GiB" if b >= 2 ** 28 else f"{b / 2 ** 20:.1f} MiB"


# --- the vector book -----------------------------------------------------------------------------
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


# --- the sweep ------------------------------------------------------------------------------------
@dataclass
class Sweep:
    sheet: str
    carry: str
    epochs: int
    threshold: float
    axes: list
    grid: dict            # name -> values (one axis each)
    configs: dict         # name -> np.ndarray of each configuration's value (first axis slowest)
    rmse: np.ndarray      # (epochs, n) rmse after each epoch (nan once diverged)
    final: dict           # rmse, const, slope, lr -> (n,) (nan where diverged)
    best_rmse: np.ndarray
    best_epoch: np.ndarray  # 0: none
    hit_epoch: np.ndarray   # first epoch with rmse <= threshold, 0: none
    div_epoch: np.ndarray   # -1: never
    div_row: np.ndarray
    data_name: str = "lesson"
    problem: str = problems.DEFAULT

    @property
    def public(self):
        """Internal key -> the name outputs give it: const, slope, rmse (x, y, loss on a function)."""
        return state.public_keys(problems.get(self.problem))

    @property
    def loss_name(self):
        return self.public["rmse"]

    @property
    def function(self):
        """Whether the problem is a function of x, y (no data) rather than the lesson's fit."""
        return problems.get(self.problem).is_function

    @property
    def n(self):
        return len(self.best_rmse)

    def shape(self):
        return tuple(a.count for a in self.axes)

    def best(self):
        """Index of the configuration with the lowest final rmse (None if every one diverged)."""
        f = np.where(np.isfinite(self.final["rmse"]), self.final["rmse"], np.inf)
        return int(np.argmin(f)) if np.isfinite(f).any() else None

    def settings_lines(self):
        """The settings in two lines (printed above the table, and on the workbook's sheet)."""
        grid = "; ".join(f"{a.name} = {a.spec}" + (f" ({a.count} values)" if a.spacing != "list" else "")
                         for a in self.axes)
        on = f"problem {self.problem}" if self.function else f"data {self.data_name}"
        return [f"{self.sheet}: {self.n} configurations, {self.epochs} epochs each from Reset, {self.carry} "
                f"carry, {on}; threshold {self.loss_name} <= {self.threshold:g}", f"grid: {grid}"]

    def record(self, i):
        """Configuration i as one plain dict (None for values it does not have), keys as
        `record_keys` names them (final_x, best_loss on a function problem)."""
        def num(v):
            v = float(v)
            return v if math.isfinite(v) else None
        pub = self.public
        d = {name: float(v[i]) for name, v in self.configs.items()}
        d.update({f"final_{pub.get(k, k)}": num(v[i]) for k, v in self.final.items()})
        d[f"best_{self.loss_name}"] = num(self.best_rmse[i])
        d["best_epoch"] = int(self.best_epoch[i]) or None
        d["hit_epoch"] = int(self.hit_epoch[i]) or None
        d["diverged_epoch"] = int(self.div_epoch[i]) if self.div_epoch[i] >= 0 else None
        d["diverged_row"] = int(self.div_row[i]) if self.div_epoch[i] >= 0 else None
        return d

    def records(self):
        return [self.record(i) for i in range(self.n)]


    def record_keys(self):
        return record_keys(problems.get(self.problem))


RECORD_KEYS = ("final_rmse", "final_const", "final_slope", "final_lr", "best_rmse", "best_epoch",
               "hit_epoch", "diverged_epoch", "diverged_row")


def record_keys(problem):
    """RECORD_KEYS as a problem's outputs name them: final_loss, final_x, final_y, best_loss on a function."""
    pub = state.public_keys(problem)
    return tuple(re.sub(r"_(rmse|const|slope)$", lambda m: "_" + pub[m[1]], k) for k in RECORD_KEYS)


def grid_values(axes):
    """name -> array of every configuration's value, the first axis varying slowest."""
    vals = [np.asarray(a.values(), dtype=np.float64) for a in axes]
    mesh = np.meshgrid(*vals, indexing="ij")
    return {a.name: m.reshape(-1) for a, m in zip(axes, mesh)}


def run(sheet_name, axes, epochs=DEFAULT_EPOCHS, carry="lesson", data=None, threshold=DEFAULT_THRESHOLD,
        ops=NumpyOps, memory_limit=None, data_name="lesson", tick=None, problem=None):
    """Every configuration of the grid from the sheet's Reset, `epochs` epochs of Run, all at once.

    problem: a name or a Problem (None: the lesson's); data: None for the problem's own rows.
    tick: called after each epoch (a progress bar's update), if given."""
    sheet = sheets.get(sheet_name, problem)
    data = data or Data.of(sheet.problem)
    if epochs < 1:
        raise BadInput(f"--epochs must be at least 1, got {epochs}")
    if carry not in buttons.CARRIES:
        raise BadInput(f"--carry must be one of {', '.join(buttons.CARRIES)}, got {carry!r}")
    if not math.isfinite(threshold):
        raise BadInput(f"--threshold must be a finite number, got {threshold}")
    check_memory(sheet, axes, len(data.x), epochs, memory_limit)
    configs = grid_values(axes)
    n = n_configs(axes)
    # Reset reads only the β cells typed in before it (lr is typed after): it is pressed once per
    # distinct β setting, and each configuration then takes its setting's cells
    hypers = [k for k in configs if k != "lr"]
    if hypers:
        setting = np.stack([configs[k].view(np.uint64) for k in hypers], axis=1)  # bits: -0.0 is not 0.0
        uniq, first, inverse = np.unique(setting, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        first, inverse = np.zeros(1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    inputs = default_inputs(sheet)
    inputs.update({k: configs[k][first] for k in hypers})  # typed in before Reset
    small = VectorBook(sheet, data, len(first), ops, inputs)
    small.epoch = 0
    buttons.reset(small)
    book = small.expand(inverse)
    if "lr" in configs:  # typed into the lr cell after Reset, as `xlopt run --lr`
        book.set("lr", configs["lr"])
    book.calculate()
    rmse = np.full((epochs, n), np.nan)
    hook = sheet.after_epoch  # adam_ann's annealer: element-wise, as its rules are
    with book.manual(), ops.errstate():
        for epoch in range(1, epochs + 1):
            book.epoch = epoch
            buttons.onestep(book, carry, epoch)
            if hook is not None:
                hook(book)
                book.calculate()
            rmse[epoch - 1] = ops.to_numpy(book.get(sheet.rmse_key))
            if tick is not None:
                tick()
    return _summarise(sheet, carry, epochs, threshold, axes, configs, book, rmse, data_name)


def _summarise(sheet, carry, epochs, threshold, axes, configs, book, rmse, data_name):
    ops = book.ops
    div = book.div_epoch
    ran = np.where(div < 0, epochs, div - 1)           # epochs each configuration completed
    e = np.arange(1, epochs + 1)[:, None]
    rmse = np.where(e <= ran[None, :], rmse, np.nan)
    alive = div < 0
    final = {k: np.where(alive, ops.to_numpy(book.get(sheet.rmse_key if k == "rmse" else k)), np.nan)
             for k in ("rmse", "const", "slope", "lr")}
    masked = np.where(np.isnan(rmse), np.inf, rmse)
    any_ok = ran > 0
    best_i = np.argmin(masked, axis=0)
    best_rmse = np.where(any_ok, masked[best_i, np.arange(book.n)], np.nan)
    best_epoch = np.where(any_ok, best_i + 1, 0)
    hit = masked <= threshold
    hit_epoch = np.where(hit.any(axis=0), np.argmax(hit, axis=0) + 1, 0)
    return Sweep(sheet.name, carry, epochs, float(threshold), axes, {a.name: a.values() for a in axes},
                 configs, rmse, final, best_rmse, best_epoch, hit_epoch, div.copy(), book.div_row.copy(),
                 data_name, sheet.problem.name)
