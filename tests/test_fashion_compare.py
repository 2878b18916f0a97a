"""`torch-side compare`: the optimizer x schedule grid, its CSV/plot, and the workbook sheet."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import zipfile

import pandas as pd

from torch_side import cli, data as D
from torch_side.cmd_compare import COLUMNS, write_sheet

openpyxl = pytest.importorskip("openpyxl")
pytestmark = pytest.mark.skipif(not D._has_all(D.DEBIAN_DIR),
                                reason=f"Debian package {D.DEBIAN_PACKAGE} not installed")


def _lab_workbook(path):
    """The lab's workbook if xlopt can build it here, else a stand-in with a formula + chart."""
    try:
        from xlopt import cli as xcli
        if xcli.main(["build", "-o", str(path)]) == 0:
            return path
    except Exception:  # noqa: BLE001 - the other half of the project may not be built yet
        pass
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("adam")
    for i in range(29):
        ws.write(i + 1, 0, i)
        ws.write_formula(i + 1, 1, f"=A{i + 2}*2", None, 2 * i)
    ch = wb.add_chart({"type": "line"})
    ch.add_series({"values": "=adam!$B$2:$B$30"})
    ws.insert_chart("D2", ch)
    wb.define_name("lr", "=0.01")
    wb.close()
    return path


def _parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _snapshot(path):
    wb = openpyxl.load_workbook(path)
    return ({ws.title: ([[c.value for c in row] for row in ws.iter_rows()], len(ws._charts))
             for ws in wb}, sorted(wb.defined_names.keys()))


def test_grid_csv_plot_and_workbook_sheet(tmp_path, capsys):
    book = _lab_workbook(tmp_path / "lab.xlsx")
    before, names = _snapshot(book)
    parts = _parts(book)
    rc = cli.main(["compare", "--opts", "sgd,adam-anneal", "--scheds", "constant,onecycle,anneal",
                   "--epochs", "2", "--subset", "600", "--bs", "100", "--device", "cpu",
                   "--no-progress", "--out", str(tmp_path / "out"), "--workbook", str(book)])
    assert rc == 0, capsys.readouterr().err
    df = pd.read_csv(tmp_path / "out" / "compare.csv")
    assert list(df.columns) == COLUMNS and len(df) == 6
    ok = df[df["status"] == "ok"]
    assert len(ok) == 5 and ok["accuracy"].between(0, 1).all()
    assert ok["train_loss"].lt(2.5).all()  # every run trained (chance level is ln 10 = 2.30)
    na = df[(df["optimizer"] == "sgd") & (df["schedule"] == "anneal")]
    assert na["status"].iloc[0].startswith("n/a: the automatic annealer")
    assert set(df["optimizer_source"]) <= {"torch_side", "torch"}
    assert (tmp_path / "out" / "compare.png").stat().st_size > 1000

    # every part of the workbook is kept byte for byte (cached values, VBA, buttons...);
    # only the three index files gain the new sheet
    parts_after = _parts(book)
    changed = {n for n in parts if parts[n] != parts_after[n]}
    assert changed <= {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
    assert len(parts_after) == len(parts) + 5  # sheet, its rels, drawing, its rels, chart
    after, names_after = _snapshot(book)
    assert names_after == names
    for title, content in before.items():  # every other sheet, its values, formulas, charts
        assert after[title] == content, title
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[-1] == "compare" and len(wb["compare"]._charts) == 1
    grid = [[c.value for c in row][:4] for row in wb["compare"].iter_rows(min_row=2, max_row=4)]
    assert grid[0] == ["optimizer", "constant", "onecycle", "anneal"]
    assert grid[1][0] == "sgd" and grid[1][3] is None and grid[2][0] == "adam-anneal"
    assert all(0 <= v <= 1 for v in grid[2][1:])


def test_sheet_is_replaced_not_duplicated(tmp_path):
    book = _lab_workbook(tmp_path / "lab.xlsx")
    df = pd.DataFrame([{"optimizer": "adam", "schedule": "cosine", "accuracy": 0.5}],
                      columns=COLUMNS)
    write_sheet(book, df)
    n_parts = len(_parts(book))
    write_sheet(book, df.assign(accuracy=0.75))
    assert len(_parts(book)) == n_parts  # the old drawing and chart were replaced, not left over
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames.count("compare") == 1 and wb["compare"]["B3"].value == 0.75
    assert len(wb["compare"]._charts) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~")]


def test_bad_input_messages(tmp_path, capsys):
    base = ["compare", "--device", "cpu", "--out", str(tmp_path)]
    assert cli.main(base + ["--opts", "sgd,no-such-opt"]) == 2
    assert "unknown optimizer ['no-such-opt']" in capsys.readouterr().err
    assert cli.main(base + ["--workbook", str(tmp_path / "missing.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "missing.xlsx does not exist" in err and "Traceback" not in err
    (tmp_path / "bad.xlsx").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        write_sheet(tmp_path / "bad.xlsx", pd.DataFrame(columns=COLUMNS))
