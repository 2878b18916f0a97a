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


@pytest.mark.parametrize("cmd", ["xlopt", "torch-side"])
def test_700_epochs_of_adam_ann_run_in_both(cmd, xlopt_cli, capsys, tmp_path):
    s = tmp_path / "s.json"
    if cmd == "xlopt":
        code, out, err = xlopt_cli("run", "adam_ann", "--epochs", "700", "--state", s, "--format", "json")
    else:
        from torch_side import cli
        code = cli.main(["linreg", "adam_ann", "--epochs", "700", "--state", str(s), "--format", "json"])
        out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["history"][-1]["lr"] == rules.LR_FLOOR


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
