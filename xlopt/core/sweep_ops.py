"""The array operations a sweep runs on, for numpy (torch's are `torch_side.cli.sweep.TorchOps`).

Same bits as the engine, by construction: + − × ÷ and √ are correctly rounded in Python, numpy (at
every SIMD level) and torch alike, and a square is its own node (`expr.square`), evaluated x·x
everywhere. The one remaining power, adam_bc's β^t, goes through libm's `pow` (`math.pow`, which is
what the engine's float `**` calls), once per distinct (β, t) pair: numpy's own `np.power` may
dispatch to SIMD code that is not libm's (AVX-512), so it is never used.
"""
import math
from contextlib import nullcontext

import numpy as np


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
