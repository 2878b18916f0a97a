"""The `xlopt run` / `xlopt show` contract: JSON schema, --state continuation, errors."""
import csv
import io
import json
import math

import pytest

from xlopt.core import buttons, sheets, state


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_json_schema(xlopt_json, name):
    r = xlopt_json("run", name)
    assert set(r) == {"sheet", "carry", "history", "state"}
    assert r["sheet"] == name and r["carry"] == "lesson"
    assert [h["epoch"] for h in r["history"]] == [1, 2, 3, 4, 5]  # one click of Run
    for h in r["history"]:
        assert set(h) == {"epoch", "const", "slope", "lr", "rmse"}
        assert all(isinstance(h[k], float) and math.isfinite(h[k]) for k in ("const", "slope", "lr", "rmse"))
    assert r["state"]["format"] == "xlopt-state" and r["state"]["sheet"] == name
    # the history is what the sheet shows: C1, C2, the lr cell and the rmse of the pass shown
    book = state.fresh(name)
    buttons.run(book, 5)
    last = r["history"][-1]
    assert (last["const"], last["slope"], last["lr"], last["rmse"]) == (
        book.get("const"), book.get("slope"), book.get("lr"), book.get("rmse"))


def test_run10_equals_run5_twice_through_state(xlopt_json, tmp_path):
    f = tmp_path / "s.json"
    once = xlopt_json("run", "adam_ann", "--epochs", 10)
    a = xlopt_json("run", "adam_ann", "--state", f)
    b = xlopt_json("run", "adam_ann", "--state", f)
    assert a["history"] + b["history"] == once["history"]
    assert b["state"] == once["state"] == json.loads(f.read_text())


def test_lr_change_through_state_equals_in_process(xlopt_json, tmp_path):
    f = tmp_path / "s.json"
    xlopt_json("run", "rmsprop", "--state", f)
    r = xlopt_json("run", "rmsprop", "--state", f, "--lr", 0.005, "--epochs", 3)
    book = state.fresh("rmsprop")
    buttons.run(book, 5)
    buttons.set_lr(book, 0.005)
    buttons.run(book, 3)
    assert r["state"]["inputs"] == book.inputs and r["state"]["log"] == book.log


def test_carry_full_is_recorded(xlopt_json, tmp_path):
    f = tmp_path / "s.json"
    r = xlopt_json("run", "momentum", "--carry", "full", "--state", f)
    assert r["carry"] == "full" == json.loads(f.read_text())["carry"]
    r2 = xlopt_json("run", "momentum", "--state", f)  # the state remembers its carry
    book = state.fresh("momentum")
    buttons.run(book, 10, "full")
    assert r2["state"]["inputs"] == book.inputs


def test_csv_loads_into_pandas(xlopt_cli):
    pd = pytest.importorskip("pandas")
    code, out, _ = xlopt_cli("run", "adam", "--epochs", 7, "--format", "csv")
    df = pd.read_csv(io.StringIO(out))
    assert code == 0 and list(df.columns) == ["epoch", "const", "slope", "lr", "rmse"] and len(df) == 7
    assert df["epoch"].tolist() == list(range(1, 8))


def test_table_is_aligned(xlopt_cli):
    code, out, _ = xlopt_cli("run", "basic")
    lines = out.splitlines()
    assert code == 0 and "basic (lesson carry)" in lines[0]
    assert len({len(line) for line in lines[1:]}) == 1  # header and rows line up


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_show_has_every_column(xlopt_cli, name):
    code, out, _ = xlopt_cli("show", name, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 29 and rows[0]["row"] == "4" and rows[-1]["row"] == "32"
    keys = {c.key for c in sheets.get(name).columns} | {"x", "y", "b", "a"}
    assert keys <= set(rows[0])
    p = state.fresh(name).pass_
    for k in keys - {"x", "y"}:
        assert [float(r[k]) for r in rows] == p.cols[k]


def test_show_basic_lists_the_lessons_titles(xlopt_cli):
    code, out, _ = xlopt_cli("show", "basic")
    header = out.splitlines()[0].split()
    assert header == ["row", "x", "y", "intercept", "slope", "y_pred", "err^2", "errb1", "est", "de/db",
                      "erra1", "est", "de/da", "de/db", "de/da", "new", "a", "new", "b"]


def test_random_data_is_reproducible(xlopt_json):
    a = xlopt_json("run", "adam", "--data", "random", "--seed", 7, "--rows", 40)
    b = xlopt_json("run", "adam", "--data", "random", "--seed", 7, "--rows", 40)
    assert a == b and len(a["state"]["data"]["x"]) == 40
    x, y = a["state"]["data"]["x"], a["state"]["data"]["y"]
    assert all(1 <= v <= 100 and v == int(v) for v in x) and y == [30 + 2 * v for v in x]


# --- bad input: one message, non-zero exit, nothing written -------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["run", "sgd"], "unknown sheet 'sgd'"),
    (["run", "adam", "--lr", "0"], "--lr must be a finite number > 0"),
    (["run", "adam", "--lr", "-1"], "--lr must be a finite number > 0"),
    (["run", "adam", "--lr", "nan"], "--lr must be a finite number > 0"),
    (["run", "adam", "--lr", "inf"], "--lr must be a finite number > 0"),
    (["run", "adam", "--epochs", "0"], "--epochs must be at least 1"),
])
def test_bad_arguments(xlopt_cli, argv, words):
    code, out, err = xlopt_cli(*argv)
    assert code == 2 and out == "" and words in err and err.count("\n") == 1


def test_state_of_another_sheet(xlopt_cli, tmp_path):
    f = tmp_path / "s.json"
    assert xlopt_cli("run", "adam", "--state", f)[0] == 0
    before = f.read_bytes()
    code, _, err = xlopt_cli("run", "momentum", "--state", f)
    assert code == 2 and "belongs to sheet 'adam'" in err and f.read_bytes() == before


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b'{"format": "xlopt-state", "version": 1}',
                                     b'{"format": "other"}', b"[]"])
def test_corrupt_state(xlopt_cli, tmp_path, content):
    f = tmp_path / "s.json"
    f.write_bytes(content)
    code, _, err = xlopt_cli("run", "adam", "--state", f)
    assert code == 2 and str(f) in err and f.read_bytes() == content


def test_state_with_a_non_finite_input(xlopt_cli, tmp_path):
    f = tmp_path / "s.json"
    xlopt_cli("run", "adam", "--state", f)
    d = json.loads(f.read_text())
    d["inputs"]["lr"] = "fast"
    f.write_text(json.dumps(d))
    code, _, err = xlopt_cli("run", "adam", "--state", f)
    assert code == 2 and "'lr'" in err and "not a finite number" in err


def test_overflow_reports_epoch_and_row_and_keeps_the_state(xlopt_cli, tmp_path):
    f = tmp_path / "s.json"
    assert xlopt_cli("run", "basic", "--state", f)[0] == 0
    before = f.read_bytes()
    code, out, err = xlopt_cli("run", "basic", "--state", f, "--lr", 0.01, "--epochs", 100)
    assert code == 3 and out == ""
    assert "values stopped being finite at epoch 9, data row 5 (sheet row 8)" in err
    assert f.read_bytes() == before
