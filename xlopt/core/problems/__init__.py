"""The problems the optimizer sheets can minimise: one definition file each (see xlopt.core.problem).

Adding a problem is one new module here holding `PROBLEM`: the modules are found by themselves and
ordered by each definition's `position`; the lesson's problem (`linreg`) comes first and is the
default everywhere, so every existing command and file means what it meant before problems.
"""
import importlib
import pkgutil

from xlopt.core.errors import BadInput

_FOUND = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
BY_NAME = {p.name: p for p in sorted((m.PROBLEM for m in _FOUND if hasattr(m, "PROBLEM")), key=lambda p: p.position)}
PROBLEMS = tuple(BY_NAME)
DEFAULT = PROBLEMS[0]
FUNCTIONS = tuple(n for n, p in BY_NAME.items() if p.is_function)


def get(name):
    if name is None:
        return BY_NAME[DEFAULT]
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise BadInput(f"unknown problem {name!r}: choose one of {', '.join(PROBLEMS)}") from None
