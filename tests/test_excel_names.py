"""Names and formulas every spreadsheet accepts: Excel's rules for defined names, checked on every
sheet definition, and only functions Excel, LibreOffice and Gnumeric all have in a built workbook."""
import dataclasses
import re
import zipfile

import pytest

from xlopt.core import names, sheets
from xlopt.core.sheet import KIND_NAME


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_every_defined_name_of_every_sheet_is_one_excel_accepts(name):
    sheet = sheets.get(name)
    for n in [*sheet.names(29), KIND_NAME]:
        assert names.problem(n) is None, (name, n, names.problem(n))


@pytest.mark.parametrize("bad,why", [
    ("mom2", "cell MOM2"), ("lr1", "cell LR1"), ("ab12", "cell AB12"), ("XFD1048576", "cell XFD1048576"),
    ("A1", "cell A1"), ("x1", "cell X1"),
    ("R", "R1C1"), ("c", "R1C1"), ("RC", "R1C1"), ("R2C3", "R1C1"), ("r10", "cell R10"), ("C7", "cell C7"),
    ("1st", "start with a letter"), ("a b", "start with a letter"), ("lr$", "start with a letter"),
    ("é", "start with a letter"), ("", "non-empty"), ("a" * 256, "at most 255"), ("TRUE", "truth value"),
])
def test_names_excel_refuses(bad, why):
    assert why in names.problem(bad)


@pytest.mark.parametrize("good", ["beta2", "XFE1", "mom_2", "sqr_mom", "lr", "_x1", "a.b", "a" * 255,
                                  "rmses", "RC_1", "R1C1x", "momtarget"])
def test_names_excel_accepts(good):
    assert names.problem(good) is None


def test_a_definition_with_a_bad_name_fails_to_import_with_one_message():
    lion = sheets.get("lion")
    with pytest.raises(names.BadName, match=r"sheet definition 'lion': the defined name 'mom2' is not one "
                                            r"Excel accepts: Excel reads it as the cell MOM2"):
        dataclasses.replace(lion, hyper={**lion.hyper, "mom2": ("P1", 0.99)})


# Functions all three have (Excel 2007+, LibreOffice 7.4, Gnumeric 1.12) with the same meaning
PORTABLE = {"SQRT", "SIGN", "SUM", "SUMSQ", "RANDBETWEEN", "ABS", "MAX", "MIN", "IF", "AVERAGE", "COUNT",
            "EXP", "LN", "ROUND", "INDEX", "MATCH", "AND", "OR", "NOT", "ISNUMBER"}


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_every_formula_uses_functions_every_spreadsheet_has(tmp_path, suffix):
    from xlopt.core.engine import Data
    from xlopt.writers import workbook
    path = workbook.build(str(tmp_path / ("w" + suffix)), Data.lesson(), "lesson", False)
    used, formulas = set(), 0
    with zipfile.ZipFile(path) as z:
        for part in z.namelist():
            if not part.endswith(".xml"):
                continue
            xml = z.read(part).decode("utf-8")
            for f in re.findall(r"<f[^>]*>([^<]*)</f>", xml) + re.findall(r"<definedName[^>]*>([^<]*)<", xml):
                formulas += 1
                f = re.sub(r'"[^"]*"', "", f)  # text constants
                used |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_.]*)\(", f))
    assert formulas > 1000
    assert used and used <= PORTABLE, sorted(used - PORTABLE)
