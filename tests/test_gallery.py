"""`xlopt gallery`: the files it writes, its numbers against independent `xlopt run`s, the tuning rule,
bad input (exit 2, nothing written). Problems and sheets come from the definitions, never by name."""
import csv
import math

import pytest

from xlopt.core import gallery, problems, sheets

PROBS = (problems.FUNCTIONS[0], problems.FUNCTIONS[-1])
SHEETS = (sheets.SHEETS[0], sheets.SHEETS[-1])
BUDGET, EPOCHS = 4, 8


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    import xlsxwriter

    from xlopt.cli import main
    folder = tmp_path_factory.mktemp("gallery")
    book = folder / "book.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    wb.add_worksheet("first").write_string(0, 0, "kept")
    wb.close()
    out = folder / "g"
    code = main(["gallery", "--problems", *PROBS, "--sheets", *SHEETS, "--budget", str(BUDGET),
                 "--epochs", str(EPOCHS), "-o", str(out), "--workbook", str(book)])
    assert code == 0
    with open(out / "gallery.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return out, book, rows


def test_it_writes_a_picture_per_problem_and_the_tables(made):
    out, book, rows = made
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{p}.png" for p in PROBS] + ["gallery.md", "gallery.csv"])
    for p in PROBS:
        assert (out / f"{p}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "gallery.md").read_text()
    assert "equal budget of 4 runs × 8 epochs" in md and "do not choose optimizers for real networks" in md
    assert all(f"## {p}" in md and f"({p}.png)" in md for p in PROBS)
    assert [(r["problem"], r["sheet"], r["setting"]) for r in rows] == [
        (p, s, k) for p in PROBS for s in SHEETS for k in ("tuned", "default")]
    import openpyxl
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["first", "gallery"] and wb["first"]["A1"].value == "kept"
    values = [c.value for c in wb["gallery"]["A"]]
    assert all(p in values for p in PROBS)


def _num(v):
    return float(v) if v != "" else math.nan


def test_each_number_is_an_independent_run_at_its_lr(made, xlopt_cli):
    import json
    _, _, rows = made
    for r in rows:
        code, out, err = xlopt_cli("run", r["sheet"], "--problem", r["problem"], "--lr", r["lr"],
                                   "--epochs", EPOCHS, "--format", "json")
        if r["diverged_epoch"]:
            assert code == 3 and f"epoch {r['diverged_epoch']}" in err, (r, err)
            continue
        assert code == 0, err
        hist = json.loads(out)["history"]
        last = hist[-1]
        assert (last["loss"], last["x"], last["y"], last["lr"]) == (
            float(r["loss"]), float(r["x"]), float(r["y"]), float(r["final_lr"])), r
        p = problems.get(r["problem"])
        assert float(r["distance"]) == gallery.distance(p, last["x"], last["y"])
        within = next((h["epoch"] for h in hist if h["loss"] - gallery.f_min(p) <= gallery.TOLERANCE), None)
        assert (int(r["within_epoch"]) if r["within_epoch"] else None) == within


def test_tuned_is_on_the_grid_and_no_worse_than_the_default(made):
    _, _, rows = made
    for tuned, default in zip(rows[::2], rows[1::2]):
        sheet = sheets.get(tuned["sheet"], tuned["problem"])
        grid = gallery.lr_grid(gallery.own_lr(sheet), BUDGET)
        assert float(tuned["lr"]) in grid and float(default["lr"]) == gallery.own_lr(sheet)
        t, d = _num(tuned["loss"]), _num(default["loss"])
        assert math.isnan(d) or t <= d, (tuned, default)


@pytest.mark.parametrize("budget", [1, 2, 3, 7, 12])
def test_the_own_lr_is_always_on_the_grid(budget):
    for s in sheets.on(problems.FUNCTIONS[0]):
        lr0 = gallery.own_lr(s)
        grid = gallery.lr_grid(lr0, budget)
        assert len(grid) == budget and lr0 in grid and list(grid) == sorted(grid)
        assert max(grid) <= lr0 * 10 ** (gallery.STEP * gallery.ABOVE) * (1 + 1e-12)


def test_the_choice_ignores_diverged_runs_and_breaks_ties_towards_the_own_lr():
    nan = math.nan
    assert gallery.choose([3.0, 1.0, 2.0, nan], own=2) == 1
    assert gallery.choose([nan, nan], own=1) == 1            # all diverged: the own lr
    assert gallery.choose([5.0, 5.0, 5.0, 9.0], own=2) == 2   # equal: the own one
    assert gallery.choose([5.0, 5.0 + 1e-9, 9.0, 9.0], own=3) == 1  # equal within TIE: the nearest
    assert gallery.choose([-0.25, -0.25, 0.0], own=2, low=-0.25) == 1


@pytest.mark.parametrize("extra, words", [
    (["--problems", "nope"], ["unknown problem 'nope'", ", ".join(problems.PROBLEMS)]),
    (["--problems", problems.DEFAULT], ["not a function", ", ".join(problems.FUNCTIONS)]),
    (["--sheets", "nope"], ["unknown sheet 'nope'", ", ".join(sheets.SHEETS)]),
    (["--data", "random"], ["--data applies to the lesson's problem"]),
    (["--budget", "0"], ["--budget must be between 1"]),
    (["--epochs", "0"], ["--epochs must be between 1"]),
    (["--workbook", "missing.xlsx"], ["does not exist"]),
])
def test_bad_input_one_message_exit_2_nothing_written(xlopt_cli, tmp_path, monkeypatch, extra, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = xlopt_cli("gallery", "-o", tmp_path / "g", "--sheets", SHEETS[0], "--epochs", 2, *extra)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert all(w in err for w in words), err
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_file_is_refused(xlopt_cli, tmp_path):
    f = tmp_path / "g"
    f.write_text("mine")
    code, out, err = xlopt_cli("gallery", "-o", f, "--sheets", SHEETS[0], "--epochs", 2)
    assert code == 2 and "is a file" in err and f.read_text() == "mine" and list(tmp_path.iterdir()) == [f]
