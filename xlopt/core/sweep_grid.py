"""A sweep's grid: `--grid` parsed into axes, the configurations they span, and the memory they need."""
import math
import re
from dataclasses import dataclass

import numpy as np

from xlopt.core import py_printer
from xlopt.core.engine import default_inputs
from xlopt.core.errors import BadInput
from xlopt.core.sheet import BETAS

SPACINGS = ("lin", "log")


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


def grid_values(axes):
    """name -> array of every configuration's value, the first axis varying slowest."""
    vals = [np.asarray(a.values(), dtype=np.float64) for a in axes]
    mesh = np.meshgrid(*vals, indexing="ij")
    return {a.name: m.reshape(-1) for a, m in zip(axes, mesh)}


# --- memory --------------------------------------------------------------------------------------
def bytes_per_config(sheet, rows, epochs):
    """Bytes a configuration holds at once: the kept columns, a row's cells and their temporaries,
    the inputs, the outputs and the rmse log (float64); bench/sweep_speed.py compares it with
    tracemalloc's peak (adam, 10^4 configurations: 20 MiB measured, 24 MiB estimated)."""
    keep = len(py_printer.summary_columns(sheet))
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
