"""torch (float64) against the built workbook, recalculated by LibreOffice.

For every sheet and both carry modes, Reset and 50 epochs are pressed twice: in LibreOffice, whose
own formulas compute every pass (xlopt.live.lo.UnoBook), and in torch_side.experiments.linreg.TorchBook, where
autograd and torch_side.optim do (those torch runs are made once per test run and shared with
test_torch_linreg, which compares them with the engine: conftest.torch_runs). Then the top values,
the carried averages, the whole epoch log and every formula cell of the pass now shown must agree
within 1e-12 relative.
"""
import math

import pytest

pytest.importorskip("torch")

from lo_fixtures import lo  # noqa: F401,E402  (the session's LibreOffice)
from tiers import first_fast  # noqa: E402

from torch_side.experiments.linreg import TorchBook  # noqa: E402
from xlopt.core import buttons, sheets  # noqa: E402
from xlopt.writers import workbook  # noqa: E402
from xlopt.core.engine import Data  # noqa: E402
from xlopt.core.cells import parse_ref  # noqa: E402
from xlopt.writers.excel_formula import sheet_cells  # noqa: E402
from xlopt.live.lo import UnoBook  # noqa: E402

REL = 1e-12
EPOCHS = 50


def close(got, want, scale=0.0):
    """Within REL of the larger value; `scale` (the column's largest value) for a cell that cancels
    (lion's c = m·β + (1−β)·g with m and g of opposite signs): one ulp of the operands, carried over
    50 epochs, is then far more than one ulp of the result."""
    return got == want or abs(got - want) <= REL * max(abs(want), abs(got), scale)


@pytest.fixture(scope="module")
def doc(lo, tmp_path_factory):  # noqa: F811
    path = tmp_path_factory.mktemp("wb") / "graddesc.xlsx"
    workbook.build(str(path), Data.lesson())
    d = lo.load(str(path))
    yield d
    d.close()


@pytest.mark.parametrize("name, carry", first_fast([(n, c) for n in sheets.SHEETS for c in buttons.CARRIES]))
def test_torch_equals_the_recalculated_workbook(doc, torch_runs, name, carry):
    xl = UnoBook(doc, name)
    buttons.reset(xl)
    buttons.run(xl, EPOCHS, carry)
    pt = torch_runs(name, carry)  # Reset + 50 epochs in torch, shared with test_torch_linreg (conftest)
    assert isinstance(pt, TorchBook) and list(pt.data.x) == list(Data.lesson().x)

    for key in ["const", "slope", "lr"] + [t.name for t in sheets.get(name).targets]:
        got, want = pt.get(key), xl.get(key)
        for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
            assert close(g, w), (key, g, w)
    xl_log, pt_log = xl.read_log(), pt.read_log()
    assert [e["epoch"] for e in xl_log] == [e["epoch"] for e in pt_log] == list(range(EPOCHS + 1))
    for a, b in zip(xl_log, pt_log):
        assert all(close(b[k], a[k]) for k in ("rmse", "const", "slope", "lr")), (a, b)

    # every formula cell of the pass now shown, read in one block
    sheet = sheets.get(name)
    cells = sheet_cells(sheet, 29, pt.pass_, pt.inputs, epoch=pt_log[-1]["epoch"])
    block = doc.read_raw(name, "A1:O34")
    checked = 0
    scale = {}
    for c in cells:
        scale[c.what] = max(scale.get(c.what, 0.0), abs(c.value) if math.isfinite(c.value) else 0.0)
    for c in cells:
        row, col, _, _ = parse_ref(c.address)
        if row >= len(block) or col >= len(block[row]):
            continue  # outside the block: the true a and b
        got = block[row][col]
        assert isinstance(got, float) and math.isfinite(got), (c.address, got)
        assert close(c.value, got, scale[c.what]), (c.address, c.value, got)
        checked += 1
    assert checked >= 29 * 10
