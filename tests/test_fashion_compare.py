"""`torch-side compare`: the optimizer x schedule grid, its CSV/plot, and the workbook sheet."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import zipfile

import pandas as pd

from torch_side import cli
from torch_side.fashion import data as D
from torch_side.cli.compare_report import write_sheet
from torch_side.experiments.compare import COLUMNS

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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_seeds_tuning_and_target_on_a_tiny_subset(tmp_path, capsys):
    """The fair protocol end to end: 2 seeds, 3 lr trials per cell on a held-out split, a target."""
    from torch_side.experiments.compare import SUMMARY_COLUMNS, tune_grid
    out = tmp_path / "out"
    rc = cli.main(["compare", "--opts", "sgd,adam", "--scheds", "constant", "--subset", "600",
                   "--bs", "50", "--epochs", "1", "--device", "cpu", "--no-progress", "--seeds", "2",
                   "--tune", "lr", "--budget", "3", "--target", "0.2", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    df = pd.read_csv(out / "compare.csv")
    assert list(df.columns) == COLUMNS and len(df) == 8  # 2 cells x (default, tuned) x 2 seeds
    assert (df["status"] == "ok").all() and set(df["seed"]) == {42, 43}
    assert list(df["setting"][:4]) == ["default", "default", "tuned", "tuned"]
    tune = pd.read_csv(out / "tune.csv")
    grid = [lr for lr, _ in tune_grid("lr", 3)]
    assert grid == [1e-4, 1e-2, 1.0]
    for opt in ("sgd", "adam"):  # the same grid and budget for every cell; the best one is used
        t = tune[tune["optimizer"] == opt]
        assert list(t["lr"]) == grid and (t["setting"] == "tune").all()
        best = t.sort_values(["accuracy", "valid_loss"], ascending=[False, True], kind="stable").iloc[0]
        tuned = df[(df["optimizer"] == opt) & (df["setting"] == "tuned")]
        assert (tuned["lr"] == best["lr"]).all()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS and len(summary) == 4
    for r in summary.itertuples():
        runs = df[(df["optimizer"] == r.optimizer) & (df["setting"] == r.setting)]["accuracy"]
        assert r.seeds == 2
        assert r.accuracy == pytest.approx(runs.mean(), abs=1e-12)
        assert r.accuracy_std == pytest.approx(runs.std(ddof=1), abs=1e-12)
    # one epoch: the target is reached in epoch 1 exactly when the final accuracy reaches it
    assert ((df["accuracy"] >= 0.2) == df["epochs_to_target"].eq(1)).all()
    assert (df["seconds_to_target"].dropna() > 0).all()
    printed = capsys.readouterr().out
    assert "mean +- std over 2 seed(s)" in printed and "epochs / s to 0.2" in printed
    for f in ("compare.png", "accuracy.png"):
        assert (out / f).stat().st_size > 1000


def test_tuning_split_is_held_out_of_the_training_images():
    import torch
    from torch_side.experiments.compare import _dls
    spec = {"subset": 600, "test_size": None, "bs": 50, "data_seed": 42, "data_dir": None,
            "seed": 42}
    test = _dls(spec, torch.device("cpu"))
    valid = _dls({**spec, "split": "valid"}, torch.device("cpu"))
    assert len(test.train.y) == 600 and len(test.valid.y) == 100
    assert len(valid.train.y) == 500 and len(valid.valid.y) == 100
    # the validation images are training images, none of them in the split's own training part
    assert torch.equal(torch.cat([valid.train.x, valid.valid.x]), test.train.x)
    assert _dls({**spec, "test_size": 10_000}, torch.device("cpu")).valid.y.shape == (10_000,)


@pytest.mark.parametrize("extra, message", [
    (["--seeds", "0"], "--seeds must be a positive integer"),
    (["--tune", "lr", "--budget", "0"], "--budget must be a positive integer"),
    (["--target", "93"], "--target is a test accuracy between 0 and 1"),
    (["--test-size", "20000"], "--test-size must be 1..10000"),
    (["--tune", "lr", "--subset", "60"], "--tune holds out a sixth"),
])
def test_protocol_bad_input_is_one_line(tmp_path, capsys, extra, message):
    assert cli.main(["compare", "--device", "cpu", "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_compare_plot_tells_overlapping_curves_apart(tmp_path):
    import matplotlib.pyplot as plt

    from torch_side.cli.compare_report import plot
    same = [2.3 - 0.01 * i for i in range(50)]
    saved = {}
    orig = plt.Figure.savefig
    plt.Figure.savefig = lambda fig, path, **k: saved.setdefault("fig", fig)
    try:
        plot({("adam", "constant", "default"): same, ("adamw", "constant", "default"): same},
             ["constant"], tmp_path / "c.png")
    finally:
        plt.Figure.savefig = orig
    a, b = saved["fig"].axes[0].get_lines()
    assert a.get_color() != b.get_color() and a.get_linestyle() != b.get_linestyle()
    assert a.get_marker() != b.get_marker()


def test_tune_grid_is_the_same_log_grid_for_every_cell():
    from torch_side.experiments.compare import LR_RANGE, WD_RANGE, tune_grid
    assert tune_grid("lr", 5) == [(1e-4, None), (1e-3, None), (1e-2, None), (1e-1, None), (1.0, None)]
    pts = tune_grid("lr,wd", 4)
    assert len(pts) == 4 and pts == tune_grid("lr,wd", 4)  # fixed: every cell gets these points
    assert all(LR_RANGE[0] <= lr <= LR_RANGE[1] and WD_RANGE[0] <= wd <= WD_RANGE[1] for lr, wd in pts)
    assert len({lr for lr, _ in pts}) == 4 and len({wd for _, wd in pts}) == 4
    with pytest.raises(ValueError, match="--budget must be a positive integer"):
        tune_grid("lr", 0)
