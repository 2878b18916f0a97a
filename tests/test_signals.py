"""SIGTERM and SIGHUP clean up exactly as Ctrl-C does; an interrupt at any moment prints one line.

Real signals at several moments of a real `xlopt click` (start-up, LibreOffice starting, pressing)
and of `xlopt run` / `torch-side linreg` start-up. Each child gets its own TMPDIR, so its soffice,
its profile folder and any temp file are told apart from other processes on the machine.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from lo_fixtures import needs_lo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_LINE = {signal.SIGINT: ("interrupted", 130), signal.SIGTERM: ("terminated (SIGTERM)", 143),
            signal.SIGHUP: ("terminated (SIGHUP)", 129)}


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ours_alive(marker):
    """Live processes whose command line names `marker` (our TMPDIR)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmd and state != b"Z":
            out.append((pid, cmd))
    return out


def interrupt(tmp_path, argv, sig, after_s, prog):
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", *argv], cwd=tmp_path, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(after_s)
    p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # it ignored the signal: leave no process behind
        p.kill()
        p.communicate()
        raise
    what, code = ONE_LINE[sig]
    if p.returncode == 0:  # it finished before the signal came: nothing to check
        return None
    assert err.splitlines() in ([f"{name}: {what}; no file was changed"] for name in prog), err
    assert p.returncode == code and "Traceback" not in err
    deadline = time.monotonic() + 10
    while ours_alive(str(tmp)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours_alive(str(tmp)) == []
    assert os.listdir(tmp) == []  # no /tmp/xlopt-lo-* profile, no soffice temp file
    return p.returncode


@pytest.mark.slow
@needs_lo
@pytest.mark.libreoffice
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("after_s", [0.4, 1.5, 3.5])
def test_click_interrupted_leaves_nothing(tmp_path, sig, after_s):
    src = os.path.join(ROOT, "workbooks", "graddesc.xlsm")
    path = tmp_path / "graddesc.xlsm"
    shutil.copyfile(src, path)
    before = digest(path)
    interrupt(tmp_path, ["xlopt.cli", "click", "run", str(path), "--sheet", "adam", "--times", "40"], sig, after_s,
              ("xlopt", "xlopt click"))
    assert sorted(os.listdir(tmp_path)) == ["graddesc.xlsm", "tmp"]  # no .~lock.graddesc.xlsm#, no temp file
    assert digest(path) == before


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("argv,prog", [(["torch_side.cli", "linreg", "adam"], "torch-side"),
                                       (["xlopt.cli", "run", "adam"], "xlopt")])
def test_an_interrupt_during_start_up_prints_one_line(tmp_path, sig, argv, prog):
    """Ctrl-C while the parser imports the sub-commands (torch takes a second): no traceback."""
    interrupt(tmp_path, argv + ["--epochs", "100000"], sig, 0.25, (prog, prog + " " + argv[1]))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_xlopt_run_interrupted_keeps_the_state_file(tmp_path, sig):
    s = tmp_path / "s.json"
    subprocess.run([sys.executable, "-m", "xlopt.cli", "run", "adam", "--state", str(s)], cwd=tmp_path,
                   env=dict(os.environ, PYTHONPATH=ROOT), check=True, capture_output=True)
    before = digest(s)
    code = interrupt(tmp_path, ["xlopt.cli", "run", "adam", "--state", str(s), "--epochs", "100000"], sig, 1.5,
                     ("xlopt", "xlopt run"))  # a loaded machine may still be starting up
    assert code is not None and digest(s) == before and sorted(os.listdir(tmp_path)) == ["s.json", "tmp"]


class _InterruptImport:
    """A meta-path finder whose import of `name` is interrupted, as Ctrl-C would interrupt it."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            raise KeyboardInterrupt
        return None


@pytest.mark.parametrize("cli,prog", [("xlopt.cli", "xlopt"), ("torch_side.cli", "torch-side")])
@pytest.mark.parametrize("module", ["xlopt.core.signals", "argparse"])
def test_ctrl_c_while_main_imports_prints_one_line(monkeypatch, capsys, cli, prog, module):
    """Both entry points import nothing at module level but sys; an interrupt while main() imports the
    signal guard, or (inside the guard) argparse and the sub-commands, prints one line, exit 130."""
    import importlib
    main = importlib.import_module(cli).main
    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_InterruptImport(module)] + sys.meta_path)
    assert main(["run" if prog == "xlopt" else "linreg", "adam"]) == 130
    out, err = capsys.readouterr()
    assert err == f"{prog}: interrupted; no file was changed\n" and out == ""


@pytest.mark.slow
@pytest.mark.parametrize("after_s", [0.3, 0.6, 0.9, 1.2])
def test_an_interrupt_at_several_moments_of_start_up(tmp_path, after_s):
    interrupt(tmp_path, ["torch_side.cli", "linreg", "adam", "--epochs", "100000"], signal.SIGINT, after_s,
              ("torch-side", "torch-side linreg"))


def _swallowed(sig):
    """A signal that lands inside a library which swallows it, as a C extension clearing the error
    mid-import does: the library is left half-imported and fails later with another error."""
    try:
        os.kill(os.getpid(), sig)
        time.sleep(2)  # the handler runs at the next bytecode; never reached in full
    except KeyboardInterrupt:
        pass


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_failure_after_a_swallowed_signal_is_reported_as_that_signal(capsys, sig, code):
    """CI saw it: Ctrl-C 0.6 s into `torch-side linreg` left numpy.linalg half-imported and the run
    ended in a RecursionError traceback. The failure after a signal is the signal's one line."""
    from xlopt.core.signals import guarded
    signal.signal(sig, lambda signum, frame: sys.exit(signum))  # as ray.init leaves SIGTERM: replaced

    def body():
        _swallowed(sig)
        raise RecursionError("maximum recursion depth exceeded")
    assert guarded("torch-side linreg", body) == code
    assert capsys.readouterr().err == f"torch-side linreg: {ONE_LINE[sig][0]}; no file was changed\n"
    with pytest.raises(ValueError, match="a real bug"):  # the next command starts with no signal on record
        guarded("xlopt run", lambda: (_ for _ in ()).throw(ValueError("a real bug")))


def test_a_known_failure_after_a_signal_is_not_reported_as_an_error(capsys):
    """command_main turns ValueError into 'error: ...' exit 2; after Ctrl-C it is the Ctrl-C."""
    pytest.importorskip("torch")
    from torch_side.cli import command_main

    from xlopt.core.signals import guarded

    def run(args):
        _swallowed(signal.SIGINT)
        raise ValueError("checkpoint half read")
    assert guarded("torch-side train", lambda: command_main("train", run)(None)) == 130
    assert capsys.readouterr().err == "torch-side train: interrupted; no file was changed\n"
    with pytest.raises(ValueError, match="invalid literal"):  # not ours: a bug keeps its traceback
        guarded("torch-side train", lambda: command_main("train", lambda a: int("x"))(None))
    from torch_side.experiments.recipes import get_recipe
    assert guarded("torch-side train", lambda: command_main("train", lambda a: get_recipe("nope"))(None)) == 2
    assert "torch-side train: error: unknown recipe 'nope'" in capsys.readouterr().err


def test_a_signal_ignored_by_the_parent_stays_ignored(tmp_path):
    """`nohup torch-side train ... &` ignores SIGHUP: closing the terminal must not end the run.
    SIGTERM, which nohup leaves alone, still ends it with its one line."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "xlopt.cli", "run", "adam", "--epochs", "100000"], cwd=tmp_path,
                         env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        time.sleep(1.0)  # start-up or running: ignored throughout (100000 epochs: 6 s of CPU here)
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert p.poll() is None  # still running
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 143 and err == "xlopt run: terminated (SIGTERM); no file was changed\n"


def test_a_signal_while_imports_are_held_waits_until_they_are_whole():
    """torch's C start-up imports numpy and swallows an error raised inside it: a Ctrl-C there was lost
    (the run went on) or left numpy half-imported. Held, the block finishes, then the Ctrl-C is raised."""
    from xlopt.core.signals import held, install
    install()
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # a held signal raises nothing here
            finished.append(True)
    assert finished == [True]
    with held():  # nothing came: nothing is raised
        finished.append(True)
    assert finished == [True, True]


# --- a killed xlopt, a stopped or killed soffice ---------------------------------------------------------
def _soffice_bins(marker):
    return [int(pid) for pid, cmd in ours_alive(marker) if "soffice.bin" in cmd]


def _osl_pipes(pid):
    """OSL pipes in /tmp named after xlopt's pid (the --accept pipe)."""
    return [n for n in os.listdir("/tmp") if n.startswith("OSL_PIPE_") and f"_xlopt_{pid}_" in n]


def _start(tmp_path, argv, connected=False, **env):
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    p = subprocess.Popen([sys.executable, "-m", "xlopt.cli", *argv], cwd=tmp_path, text=True,
                         env=dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=ROOT, **env),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60  # a loaded machine starts soffice in 1.5-10 s
    while not _soffice_bins(str(tmp)) or (connected and not _osl_pipes(p.pid)):  # listening on its pipe
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            out, err = p.communicate()
            pytest.fail(f"soffice never started: {err}")
        time.sleep(0.05)
    return p, tmp


def _nothing_left(p, tmp, within_s=15):
    deadline = time.monotonic() + within_s
    while (ours_alive(str(tmp)) or os.listdir(tmp) or _osl_pipes(p.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ours_alive(str(tmp)) == []  # no oosplash, soffice.bin, watchdog or UNO helper
    assert os.listdir(tmp) == []       # no xlopt-lo-* profile
    assert _osl_pipes(p.pid) == []     # no OSL pipe in /tmp


@pytest.mark.slow
@needs_lo
@pytest.mark.libreoffice
@pytest.mark.parametrize("command", ["click", "check"])
@pytest.mark.parametrize("after_s", [0.0, 1.0])
def test_sigkill_leaves_no_soffice_no_profile_no_pipe(tmp_path, command, after_s):
    """SIGKILL runs no clean-up in xlopt: the watchdog ends soffice's group and deletes the rest."""
    path = tmp_path / "graddesc.xlsm"
    shutil.copyfile(os.path.join(ROOT, "workbooks", "graddesc.xlsm"), path)
    before = digest(path)
    argv = (["click", "run", str(path), "--sheet", "adam", "--times", "300"] if command == "click"
            else ["check", str(path)])
    p, tmp = _start(tmp_path, argv)
    time.sleep(after_s)
    p.kill()
    p.communicate()
    _nothing_left(p, tmp)
    assert digest(path) == before and sorted(os.listdir(tmp_path)) == ["graddesc.xlsm", "tmp"]


@pytest.mark.slow
@needs_lo
@pytest.mark.libreoffice
def test_a_stopped_soffice_does_not_make_click_wait_for_ever(tmp_path):
    """SIGSTOP to soffice.bin mid-click: its call times out (5 s here), soffice is ended, one message."""
    path = tmp_path / "graddesc.xlsm"
    shutil.copyfile(os.path.join(ROOT, "workbooks", "graddesc.xlsm"), path)
    before = digest(path)
    p, tmp = _start(tmp_path, ["click", "run", str(path), "--sheet", "adam", "--times", "300"],
                    connected=True, XLOPT_LO_CALL_TIMEOUT_S="5")
    time.sleep(1.5)
    for pid in _soffice_bins(str(tmp)):
        os.kill(pid, signal.SIGSTOP)
    try:
        out, err = p.communicate(timeout=90)
    finally:
        for pid in _soffice_bins(str(tmp)):
            os.kill(pid, signal.SIGKILL)
        if p.poll() is None:
            p.kill()
            p.communicate()
    lines = err.splitlines()
    assert p.returncode == 4 and len(lines) == 1, err
    assert lines[0].startswith("xlopt click: error: LibreOffice did not answer within 5 s"), err
    assert "(stopped or hung) and was ended; the workbook was not changed" in lines[0]
    _nothing_left(p, tmp)
    assert digest(path) == before and sorted(os.listdir(tmp_path)) == ["graddesc.xlsm", "tmp"]


@pytest.mark.slow
@needs_lo
@pytest.mark.libreoffice
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_soffice_killed_during_a_click_gives_one_message(tmp_path, sig):
    path = tmp_path / "graddesc.xlsm"
    shutil.copyfile(os.path.join(ROOT, "workbooks", "graddesc.xlsm"), path)
    before = digest(path)
    p, tmp = _start(tmp_path, ["click", "run", str(path), "--sheet", "adam", "--times", "300"], connected=True)
    time.sleep(1.5)
    for pid in _soffice_bins(str(tmp)):
        os.kill(pid, sig)
    try:
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 4 and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("xlopt click: error: LibreOffice (soffice) ended"), err
    assert "(killed or crashed); the workbook was not changed" in lines[0]
    _nothing_left(p, tmp)
    assert digest(path) == before


@needs_lo
@pytest.mark.libreoffice
def test_what_a_crash_left_is_swept_at_the_next_start(tmp_path, monkeypatch):
    """A profile whose owner is dead (as a power cut or a killed watchdog leaves it) and our OSL pipe
    of a dead xlopt are deleted when the next LibreOffice starts; a live owner's are kept."""
    from xlopt.live.lo import profiles
    monkeypatch.setattr(profiles.tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "xlopt-lo-stale"
    pipe = f"/tmp/OSL_PIPE_{os.getuid()}_xlopt_{dead.pid}_0123abcd"
    profiles.write_profile(str(stale), [pipe])
    (stale / profiles.OWNER).write_text(f"{dead.pid} 1\n{pipe}\n")
    open(pipe, "w").close()
    live = tmp_path / "xlopt-lo-live"
    profiles.write_profile(str(live))  # ours: this process is alive
    profiles.sweep_stale()
    assert not stale.exists() and not os.path.exists(pipe) and live.exists()
