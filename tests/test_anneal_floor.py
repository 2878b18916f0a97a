"""adam_ann's annealer stops at the smallest positive normal lr: engine, workbook buttons and torch agree."""
import json
import sys

import pytest

from xlopt.core import buttons, rules, state


def test_annealed_lr_is_a_pure_rule():
    assert rules.annealed_lr(1.0) == 0.25
    assert rules.annealed_lr(4 * rules.LR_FLOOR) == rules.LR_FLOOR
    assert rules.annealed_lr(rules.LR_FLOOR) == rules.LR_FLOOR  # a quarter would be subnormal: stays
    assert rules.annealed_lr(3e-308) == 3e-308
    assert rules.LR_FLOOR == sys.float_info.min
    lr = 1.0
    for _ in range(600):
        lr = rules.annealed_lr(lr)
    assert lr == rules.LR_FLOOR > 0


def test_the_engine_never_makes_lr_zero():
    book = state.fresh("adam_ann")
    log = buttons.run(book, 700)
    assert min(e["lr"] for e in log) == rules.LR_FLOOR and log[-1]["lr"] == rules.LR_FLOOR


FIRST_AT_FLOOR = 640  # the epoch whose lr first is the floor (from Reset, the lesson's data)


@pytest.mark.slow
@pytest.mark.parametrize("cmd", ["xlopt", "torch-side"])
def test_700_epochs_of_adam_ann_run_in_both(cmd, xlopt_cli, capsys, tmp_path):
    """700 epochs reach the floor and stay there. xlopt runs all 700; torch runs the last 80 of them
    (from the engine's state file after epoch 620, lr still 2^40 times the floor), which is where its
    annealer meets the floor, and lands where the engine's 700 epochs do (torch steps the rows one by
    one through autograd: all 700 epochs took it 30 s, the engine 0.2 s)."""
    s = tmp_path / "s.json"
    if cmd == "xlopt":
        code, out, err = xlopt_cli("run", "adam_ann", "--epochs", "700", "--state", s, "--format", "json")
    else:
        from torch_side import cli
        assert xlopt_cli("run", "adam_ann", "--epochs", "620", "--state", s)[0] == 0
        start = json.loads(s.read_text())["log"][-1]
        assert start["epoch"] == 620 and start["lr"] >= 2 ** 40 * rules.LR_FLOOR
        code = cli.main(["linreg", "adam_ann", "--epochs", "80", "--state", str(s), "--format", "json"])
        out, err = capsys.readouterr()
    assert code == 0, err
    history = json.loads(out)["history"]
    assert history[-1]["lr"] == rules.LR_FLOOR and history[-1]["epoch"] == 700
    floor = [e["epoch"] for e in history if e["lr"] == rules.LR_FLOOR]
    assert floor[0] == FIRST_AT_FLOOR and floor == list(range(FIRST_AT_FLOOR, 701))  # reached, then kept
    if cmd == "torch-side":
        engine = state.fresh("adam_ann")
        buttons.run(engine, 700)
        last = engine.log[-1]
        assert history[-1]["const"] == pytest.approx(last["const"], rel=1e-12)
        assert history[-1]["slope"] == pytest.approx(last["slope"], rel=1e-12)


def test_a_state_file_at_the_floor_continues_identically_in_both(tmp_path, xlopt_cli, capsys):
    from torch_side import cli
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert xlopt_cli("run", "adam_ann", "--epochs", "700", "--state", a)[0] == 0
    b.write_bytes(a.read_bytes())
    assert xlopt_cli("run", "adam_ann", "--epochs", "20", "--state", a)[0] == 0
    assert cli.main(["linreg", "adam_ann", "--epochs", "20", "--state", str(b)]) == 0
    capsys.readouterr()
    ea, eb = json.loads(a.read_text())["log"][-1], json.loads(b.read_text())["log"][-1]
    assert ea["epoch"] == eb["epoch"] == 720 and ea["lr"] == eb["lr"] == rules.LR_FLOOR
    assert ea["const"] == pytest.approx(eb["const"], rel=1e-12) and ea["slope"] == pytest.approx(eb["slope"], rel=1e-12)
