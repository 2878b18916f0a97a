"""`first_fast(cases)`: the parameters of a test whose every case is a long check of the same code
path; the first case stays in the fast tier (`pytest -m "not slow"`), the rest are marked slow."""
import pytest


def first_fast(cases):
    return [pytest.param(*(c if isinstance(c, tuple) else (c,)), marks=() if i == 0 else pytest.mark.slow)
            for i, c in enumerate(cases)]
