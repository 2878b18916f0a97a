"""The lab's sheets: one definition file each (see xlopt.core.sheet for what a definition holds).

Adding an optimizer sheet is one new module here holding `SHEET`: the modules are found by
themselves and ordered by each definition's `position`; every consumer — engine, buttons, builder,
check, click, the Excel macros, torch_side — reads the definitions.
"""
import importlib
import pkgutil

from xlopt.core.errors import BadInput
from xlopt.core.sheet import FIRST_ROW, KIND_NAME, LOG_ROWS, Sheet  # noqa: F401  (re-exported)

LESSON_X = (14, 86, 28, 51, 28, 29, 72, 62, 84, 15, 42, 62, 47, 35, 9, 38, 44, 99, 13, 21, 28, 20, 8,
            64, 99, 70, 27, 17, 8)
TRUE_B, TRUE_A = 30, 2

_FOUND = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
BY_NAME = {s.name: s for s in sorted((m.SHEET for m in _FOUND if hasattr(m, "SHEET")), key=lambda s: s.position)}
SHEETS = tuple(BY_NAME)
LESSON_SHEETS = tuple(n for n, s in BY_NAME.items() if s.lesson is not None)


def get(name):
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise BadInput(f"unknown sheet {name!r}: choose one of {', '.join(SHEETS)}") from None
