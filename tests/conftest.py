import json
import os
import signal
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# A run started as a background job (`cmd &` in a script) inherits SIGINT ignored, one under nohup
# SIGHUP, and so would every process the tests start (xlopt keeps a signal its parent ignored): give
# them back their meaning, so the signal tests test what a terminal does.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
for _s in (getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)):
    if signal.getsignal(_s) is signal.SIG_IGN:
        signal.signal(_s, signal.SIG_DFL)


@pytest.fixture
def xlopt_cli(capsys):
    """Run `xlopt ...` in-process: returns (exit code, stdout, stderr)."""
    from xlopt.cli import main

    def call(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return call


@pytest.fixture
def xlopt_json(xlopt_cli):
    def call(*argv):
        code, out, err = xlopt_cli(*argv, "--format", "json")
        assert code == 0, err
        return json.loads(out)
    return call


@pytest.fixture(scope="session", autouse=True)
def _lo_session_end():
    """The one LibreOffice the tests share (tests/lo_fixtures.py) ends with the session."""
    yield
    lo_fixtures = sys.modules.get("lo_fixtures")
    if lo_fixtures is not None:
        lo_fixtures.SHARED.close()


@pytest.fixture(autouse=True)
def _no_uno_import_hook():
    """A test that imported LibreOffice's `uno` itself must not leave uno's import hook behind: it turns
    every ModuleNotFoundError into a plain ImportError, and a later torch.compile then fails
    (xlopt.live.lo.bridge._import_uno says why)."""
    yield
    uno = sys.modules.get("uno")
    if uno is not None and getattr(uno, "_uno_import", None) is not None:
        import builtins
        if builtins.__import__ is uno._uno_import:
            builtins.__import__ = uno._builtin_import


TORCH_EPOCHS = 50  # the linear model's runs in torch that test_torch_linreg and test_torch_vs_workbook share


@pytest.fixture(scope="session")
def torch_runs():
    """`torch_runs(sheet, carry)`: a torch_side.experiments.linreg.TorchBook after Reset and TORCH_EPOCHS epochs of
    Run, computed once per test run on first use (about a second each) and shared by the files that
    compare it (with the engine, with the LibreOffice-recalculated workbook). Read it; do not press on it."""
    pytest.importorskip("torch")
    from torch_side.experiments.linreg import TorchBook
    from xlopt.core import buttons
    done = {}

    def get(name, carry):
        if (name, carry) not in done:
            book = TorchBook.fresh(name)
            buttons.run(book, TORCH_EPOCHS, carry)
            done[name, carry] = book
        return done[name, carry]
    return get
