"""torch-side linreg: autograd + torch_side.optim reproduce the engine's sheets, Reset/Run and CLI."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import json
import math
import re

import torch

from xlopt.core import buttons, engine, rules, sheets, state
from torch_side.experiments.linreg import TorchBook, torch_pass

RTOL = 1e-12
EPOCHS = 50


def rel(a, b):
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def worst(a, b, where=""):
    """Largest relative difference between two nested structures of floats (same shape asserted)."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        return max([worst(a[k], b[k], f"{where}.{k}") for k in a] or [0.0])
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        return max([worst(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b))] or [0.0])
    if isinstance(a, float) or isinstance(b, float):
        return rel(float(a), float(b))
    assert a == b, where
    return 0.0


def engine_run(name, carry):
    e = state.fresh(name)
    buttons.run(e, EPOCHS, carry)
    return e


@pytest.fixture(scope="module")
def runs(torch_runs):
    """(engine book, torch book) for a sheet and carry after Reset + 50 epochs of Run, made on first use;
    the torch books are the test run's shared ones (conftest.torch_runs, also compared with the workbook)."""
    class Runs(dict):
        def __missing__(self, key):
            self[key] = engine_run(*key), torch_runs(*key)
            return self[key]
    return Runs()


@pytest.mark.slow
@pytest.mark.parametrize("carry", buttons.CARRIES)
@pytest.mark.parametrize("name", sheets.SHEETS)
def test_torch_equals_engine_50_epochs(runs, name, carry):
    e, t = runs[name, carry]
    assert len(t.log) == EPOCHS + 1
    # the top values: const, slope, lr, momtarget/gradtarget, prev_grad2, the hyper-parameters
    assert worst(t.inputs, e.inputs) <= RTOL
    # the whole log: epoch, rmse, const, slope, lr per epoch
    assert worst(t.log, e.log) <= RTOL
    # the pass the sheet shows now: every column of every row, and the summaries
    assert worst({k: t.pass_.cols[k] for k in e.pass_.cols}, e.pass_.cols) <= RTOL
    assert worst(t.pass_.summary, e.pass_.summary) <= RTOL
    for n in ("lastconst", "lastslope", "lastnewconst", "lastnewslope", "rmse", "momlast", "ms_last",
              "avg_grad2", "gradrat"):
        if e.has(n):
            assert worst(t.get(n), e.get(n), n) <= RTOL
    assert t.first_bad_row() is None


@pytest.mark.slow
def test_anneal_happened(runs):
    """adam_ann's 50 epochs do anneal (else the test above would not cover the annealer)."""
    for carry in buttons.CARRIES:
        lrs = [entry["lr"] for entry in runs["adam_ann", carry][1].log]
        assert lrs[-1] < lrs[0] / 4


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_autograd_gradient_is_the_sheets_formula_bit_for_bit(name):
    """At every row of the engine's pass, autograd's d(err²)/db and /da are the cells' values exactly."""
    e = engine_run(name, "lesson")
    p = e.pass_
    for i, (x, y) in enumerate(zip(e.data.x, e.data.y)):
        ba = torch.tensor([p.cols["b"][i], p.cols["a"][i]], dtype=torch.float64, requires_grad=True)
        pred = rules.predict(ba[1], ba[0], x)
        rules.sq_err(y, pred).backward()
        assert ba.grad.tolist() == [p.cols["g_b"][i], p.cols["g_a"][i]]
        assert pred.item() == p.cols["pred"][i]


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_first_pass_after_reset_is_bit_exact(name):
    """Right after Reset (the lesson's start) the torch pass is the engine's pass, bit for bit."""
    e = state.fresh(name)
    tp = torch_pass(e.sheet, e.data, e.inputs)
    for k, col in e.pass_.cols.items():
        assert tp.cols[k] == col, k
    assert tp.summary == e.pass_.summary


def test_lesson_values_after_reset():
    t = TorchBook.fresh("basic")
    assert t.pass_.cols["new_a"][0] == pytest.approx(1.1204, rel=1e-12)
    assert t.pass_.cols["new_b"][0] == pytest.approx(1.0086, rel=1e-12)
    assert t.get("rmse") == pytest.approx(150.7552, abs=1e-4)
    m = TorchBook.fresh("momentum")
    assert m.get("momtarget") == [-18.33392669020789, 98.24583039212854]
    assert m.get("rmse") == 200.9651846012761


@pytest.mark.parametrize("name", ["basic", "momentum"])
def test_diverging_pass_names_the_same_row_as_the_engine(name):
    e, t = state.fresh(name), TorchBook.fresh(name)
    rows = []
    for lr in (0.1, 1e3, 1e6, 1e10, 1e30, 1e100):
        for book in (e, t):
            book.set("lr", lr)
        assert t.first_bad_row() == e.first_bad_row()
        rows.append(e.first_bad_row())
    assert rows[-1] is not None and len(set(rows)) > 1


# --- the command line ----------------------------------------------------------------------------
@pytest.fixture
def cli(capsys):
    def call(prog, *argv):
        if prog == "xlopt":
            from xlopt.cli import main
            code = main(["run", *map(str, argv)])
        else:
            from torch_side.cli import main
            code = main(["linreg", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return call


@pytest.mark.parametrize("name", ["momentum", "adam_ann"])
def test_cli_json_equals_xlopt_run(cli, name, tmp_path):
    args = (name, "--epochs", 7, "--carry", "full", "--format", "json")
    c1, o1, e1 = cli("xlopt", *args)
    c2, o2, e2 = cli("torch", *args)
    assert c1 == c2 == 0, (e1, e2)
    a, b = json.loads(o1), json.loads(o2)
    assert set(b) == {"sheet", "carry", "history", "state"}
    assert [h["epoch"] for h in b["history"]] == list(range(1, 8))
    assert worst(b, a) <= RTOL


def test_cli_state_continues_like_xlopt(cli, tmp_path):
    f, g = tmp_path / "t.json", tmp_path / "x.json"
    for _ in range(2):
        assert cli("torch", "adam", "--state", f, "--format", "csv")[0] == 0
        assert cli("xlopt", "adam", "--state", g, "--format", "csv")[0] == 0
    a, b = json.loads(f.read_text()), json.loads(g.read_text())
    assert [e["epoch"] for e in a["log"]] == list(range(11))
    assert worst(a, b) <= RTOL
    code, out, _ = cli("torch", "adam", "--state", f)
    assert code == 0 and "now at epoch 15" in out


def test_cli_divergence_names_epoch_and_row_and_keeps_the_state_file(cli, tmp_path):
    f = tmp_path / "s.json"
    assert cli("torch", "basic", "--state", f, "--epochs", 2)[0] == 0
    before = f.read_bytes()
    g = tmp_path / "copy.json"
    g.write_bytes(before)
    code, out, err = cli("torch", "basic", "--state", f, "--lr", 0.1)
    assert code == 3 and out == ""
    assert re.search(r"at epoch \d+, data row \d+ ", err) and "Traceback" not in err
    assert f.read_bytes() == before
    # the same message as xlopt run gives for the same state
    code2, _, err2 = cli("xlopt", "basic", "--state", g, "--lr", 0.1)
    assert code2 == 3 and err.split("error: ", 1)[1] == err2.split("error: ", 1)[1]


@pytest.mark.parametrize("argv, words", [
    (("adam", "--lr", "0"), "--lr must be a finite number > 0"),
    (("adam", "--lr", "-1"), "--lr must be a finite number > 0"),
    (("adam", "--lr", "nan"), "--lr must be a finite number > 0"),
    (("adam", "--epochs", "0"), "--epochs must be at least 1"),
    (("nosuch",), "unknown sheet 'nosuch'"),
])
def test_cli_bad_input(cli, argv, words):
    code, out, err = cli("torch", *argv)
    assert code == 2 and words in err and "Traceback" not in err


@pytest.mark.parametrize("key, value, words", [
    ("mom", 1.0, "mom (a beta) is 1.0; it must be a number in [0, 1)"),
    ("sqr_mom", -0.5, "sqr_mom (a beta) is -0.5; it must be a number in [0, 1)"),
    ("lr", -2.0, "lr is -2.0; lr must be a finite number > 0"),
])
@pytest.mark.parametrize("tool", ["torch", "xlopt"])
def test_cli_bad_hyper_parameters_in_state_file(cli, tmp_path, key, value, words, tool):
    """One meaning for a state file: xlopt run refuses exactly what torch-side linreg refuses."""
    f = tmp_path / "s.json"
    assert cli("torch", "adam", "--state", f)[0] == 0
    d = json.loads(f.read_text())
    d["inputs"][key] = value
    f.write_text(json.dumps(d))
    before = f.read_bytes()
    code, _, err = cli(tool, "adam", "--state", f)
    assert code == 2 and words in err, err
    assert f.read_bytes() == before


def test_torchbook_is_a_book_the_state_file_holds(tmp_path):
    t = TorchBook.fresh("rmsprop")
    buttons.run(t, 3, "full")
    state.save(t, "full", tmp_path / "s.json")
    book, carry = state.load(tmp_path / "s.json", "rmsprop")
    t2 = TorchBook.from_book(book)
    assert carry == "full" and t2.inputs == t.inputs and t2.log == t.log
    buttons.run(t, 2, carry)
    buttons.run(t2, 2, carry)
    assert t2.inputs == t.inputs and t2.log == t.log
    assert isinstance(t, engine.MemoryBook)
