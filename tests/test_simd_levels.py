"""The bit-exact tests pass at every SIMD level numpy offers on this machine, not just the highest.

numpy picks its kernels at run time (SSE4, AVX2, AVX-512 ...), and `NPY_DISABLE_CPU_FEATURES` turns the
higher ones off. The engine, the sweep and torch agree by construction (+ − × ÷ √ and a square as
x·x are correctly rounded at every level), so the equality tests are run again, in a child process,
once per level below the machine's own. A level the machine lacks is not offered, so on a machine
without AVX-512 there is one level fewer: the test says which levels it ran.
"""
import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

EXACT = ["tests/test_compiled_fast.py", "tests/test_sweep_props.py", "tests/test_engine_props.py",
         "tests/test_engine_spec.py", "tests/test_rules.py",
         "tests/test_sweep.py::test_the_one_power_left_is_libms_pow_once_per_pair"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _levels():
    """[(disabled features, the level left)] from the machine's highest dispatch level down to the baseline."""
    try:
        from numpy._core import _multiarray_umath as m
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath as m
    have = [f for f in m.__cpu_dispatch__ if m.__cpu_features__.get(f)]
    out = []
    for i in range(len(have) - 1, -1, -1):  # switch off the top i.. features
        left = have[i - 1] if i else "+".join(m.__cpu_baseline__) or "baseline"
        out.append((" ".join(have[i:]), left))
    return out


LEVELS = _levels()


def test_the_machine_offers_levels_to_test():
    assert LEVELS, "numpy dispatches nothing above its baseline here: nothing to switch off"


@pytest.mark.slow
@pytest.mark.parametrize("disabled, left", LEVELS, ids=[left for _, left in LEVELS])
def test_bit_exact_tests_pass_with_numpy_forced_down(disabled, left):
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=disabled, PYTHONPATH=ROOT)
    probe = ("from numpy._core import _multiarray_umath as m; "
             "print(' '.join(f for f in m.__cpu_dispatch__ if m.__cpu_features__.get(f)))")
    on = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, cwd=ROOT)
    assert on.returncode == 0, on.stderr
    assert not set(disabled.split()) & set(on.stdout.split()), f"{disabled} still on: {on.stdout}"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *EXACT],
                       env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, f"with {left} as numpy's highest level:\n{r.stdout[-3000:]}{r.stderr[-2000:]}"
