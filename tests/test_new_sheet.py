"""A new optimizer sheet is one file: a throw-away definition, written at test time into a copy of the
package, is picked up by build, check, run, click, sweep, `torch-side linreg` and compare with no
other edit (the real tree is left as it was).

The throw-away sheet is signSGD (new = old − lr·SIGN(grad)), written with rules that exist; its
torch optimizer is Lion with both betas 0 (its interpolation is then the gradient itself)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from xlopt.core import sheets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "zz_throwaway"  # sorts last among the modules; position after every sheet
DEFINITION = f'''"""{NAME}: signSGD, a throw-away sheet written by tests/test_new_sheet.py."""
from xlopt.core import rules
from xlopt.core.sheet import Column, Optimizer, Reset, TorchSpec

OPTIMIZER = Optimizer(
    "{NAME}", 99, "D2", 0.01, {{}},
    columns=(
        Column("new_b", "H", "new b", lambda e: rules.sign_step(e["b"], e["g_b"], e["lr"])),
        Column("new_a", "I", "new a", lambda e: rules.sign_step(e["a"], e["g_a"], e["lr"])),
    ),
    reset=Reset(lr=0.01), step="scaled",
    instructions="{NAME}: signSGD, new = old - lr*SIGN(grad).",
    torch=TorchSpec("Lion", {{"lr": "lr"}}, fixed={{"betas": (0.0, 0.0)}}, compare="{NAME}", compare_lr=1e-3),
)
'''

@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the packages with the new definition in it, and a runner of their commands."""
    src = tmp_path_factory.mktemp("src")
    for package in ("xlopt", "torch_side"):
        shutil.copytree(os.path.join(ROOT, package), src / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (src / "xlopt" / "core" / "sheets" / f"{NAME}.py").write_text(DEFINITION)
    work = tmp_path_factory.mktemp("work")
    env = dict(os.environ, PYTHONPATH=str(src))

    def run(module, *argv):
        p = subprocess.run([sys.executable, "-m", module, *map(str, argv)], cwd=work, env=env,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (argv, p.stderr[-2000:])
        return p.stdout
    return work, run


def test_the_real_tree_does_not_have_it():
    assert NAME not in sheets.SHEETS


@pytest.mark.slow
@pytest.mark.libreoffice
def test_every_command_picks_up_a_new_sheet_file(tree):
    work, run = tree
    assert NAME in run("xlopt.cli", "run", "--help")
    history = json.loads(run("xlopt.cli", "run", NAME, "--epochs", 3, "--format", "json"))["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    torch_history = json.loads(run("torch_side.cli", "linreg", NAME, "--epochs", 3, "--format", "json"))["history"]
    assert torch_history == history, "torch's Lion with betas 0 is signSGD to the bit"
    f = json.loads(run("xlopt.cli", "run", NAME, "--problem", "rosenbrock", "--epochs", 2, "--format", "json"))
    assert f["problem"] == "rosenbrock" and "x" in f["history"][0]
    run("xlopt.cli", "build", "-o", "lab.xlsx")
    checked = run("xlopt.cli", "check", "lab.xlsx")
    assert NAME in checked and "OK" in checked
    clicked = run("xlopt.cli", "click", "run", "lab.xlsx", "--sheet", NAME)
    assert "epoch 5" in clicked
    swept = json.loads(run("xlopt.cli", "sweep", NAME, "--grid", "lr=0.001,0.01", "--epochs", 3, "--format", "json"))
    assert len(swept["results"] if "results" in swept else swept["configs"]) == 2
    run("torch_side.cli", "compare", "--opts", NAME, "--scheds", "constant", "--epochs", 1, "--subset", 300,
        "--bs", 100, "--device", "cpu", "--no-progress", "--out", work / "cmp")
    assert NAME in (work / "cmp" / "compare.csv").read_text()
