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
