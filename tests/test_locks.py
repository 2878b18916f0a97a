"""Concurrent writers never lose work: two processes at once on one state file or workbook add up."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from lo_fixtures import needs_lo

from xlopt.core import locks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
EPOCHS = 2000


def start(*argv):
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def both(cmd_a, cmd_b, timeout=300):
    procs = [start(*cmd_a), start(*cmd_b)]
    outs = [p.communicate(timeout=timeout) for p in procs]
    return [(p.returncode, o, e) for p, (o, e) in zip(procs, outs)]


def last_epoch(path):
    with open(path) as f:
        return json.load(f)["log"][-1]["epoch"]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize("exists", [False, True], ids=["new-state", "existing-state"])
def test_two_runs_on_one_state_file_add_up(tmp_path, exists):
    s = str(tmp_path / "s.json")
    if exists:
        subprocess.run([sys.executable, "-m", "xlopt.cli", "run", "adam", "--state", s, "--epochs", "5"],
                       cwd=ROOT, env=ENV, check=True, capture_output=True)
    cmd = ("xlopt.cli", "run", "adam", "--state", s, "--epochs", str(EPOCHS))
    results = both(cmd, cmd)
    assert [r[0] for r in results] == [0, 0], results
    assert last_epoch(s) == (5 if exists else 0) + 2 * EPOCHS


@pytest.mark.slow
def test_xlopt_run_and_torch_linreg_share_the_lock(tmp_path):
    s = str(tmp_path / "s.json")
    results = both(("xlopt.cli", "run", "adam", "--state", s, "--epochs", str(EPOCHS)),
                   ("torch_side.cli", "linreg", "adam", "--state", s, "--epochs", "50"))
    assert [r[0] for r in results] == [0, 0], results
    assert last_epoch(s) == EPOCHS + 50


def _hold(path, seconds, ready):
    with locks.locked(path):
        ready.set()
        time.sleep(seconds)


def test_a_waiting_writer_says_so_then_continues(tmp_path):
    s = str(tmp_path / "s.json")
    subprocess.run([sys.executable, "-m", "xlopt.cli", "run", "adam", "--state", s], cwd=ROOT, env=ENV,
                   check=True, capture_output=True)
    ready, release = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_until, args=(s, release, ready))
    t.start()
    ready.wait()
    # the lock is held until the second writer says it waits (however slowly it starts), at most 60 s
    child = subprocess.Popen([sys.executable, "-m", "xlopt.cli", "run", "adam", "--state", s], cwd=ROOT,
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = child.stderr.readline() if _readable(child.stderr, 60) else ""
    release.set()
    t.join()
    out, rest = child.communicate(timeout=60)
    assert child.returncode == 0, first + rest
    assert first.strip() == f"xlopt: waiting for another xlopt to finish with state file {s} ..."
    assert last_epoch(s) == 10


def _hold_until(path, release, ready):
    with locks.locked(path):
        ready.set()
        release.wait(60)


def _readable(stream, timeout):
    import select
    return bool(select.select([stream], [], [], timeout)[0])


@pytest.mark.slow
def test_lock_timeout_fails_clearly_and_writes_nothing(tmp_path):
    s = str(tmp_path / "s.json")
    subprocess.run([sys.executable, "-m", "xlopt.cli", "run", "adam", "--state", s], cwd=ROOT, env=ENV,
                   check=True, capture_output=True)
    before = digest(s)
    ready = threading.Event()
    t = threading.Thread(target=_hold, args=(s, 2.0, ready))
    t.start()
    ready.wait()
    r = subprocess.run([sys.executable, "-m", "xlopt.cli", "run", "adam", "--state", s, "--lock-timeout", "0.3"],
                       cwd=ROOT, env=ENV, capture_output=True, text=True)
    t.join()
    assert r.returncode == 5
    assert r.stderr.strip().splitlines() == [
        f"xlopt run: error: state file {s} is in use by another xlopt (waited 0.3 s); "
        "try again when it has finished, or raise --lock-timeout"]
    assert digest(s) == before and sorted(os.listdir(tmp_path)) == ["s.json"]


def test_a_lock_on_a_missing_file_follows_it_into_existence(tmp_path):
    s = str(tmp_path / "new.json")
    order = []
    ready = threading.Event()

    def first():
        with locks.locked(s):
            ready.set()
            time.sleep(0.3)
            with open(s, "w") as f:
                f.write("1")
            order.append("first")

    t = threading.Thread(target=first)
    t.start()
    ready.wait()
    with locks.locked(s):
        order.append("second")
        assert open(s).read() == "1"
    t.join()
    assert order == ["first", "second"]


@pytest.mark.slow
@needs_lo
@pytest.mark.libreoffice
def test_two_clicks_on_one_workbook_add_up(tmp_path):
    from xlopt.writers import workbook
    ref = workbook.build(str(tmp_path / "ref.xlsx"))
    path = str(tmp_path / "graddesc.xlsx")
    shutil.copyfile(ref, path)
    results = both(("xlopt.cli", "click", "run", path, "--sheet", "adam"),
                   ("xlopt.cli", "click", "run", path, "--sheet", "momentum"))
    assert [r[0] for r in results] == [0, 0], results
    from xlopt.live.lo import LibreOffice, UnoBook
    with LibreOffice() as lo:
        doc = lo.load(path)
        try:
            epochs = {s: UnoBook(doc, s).read_log()[-1]["epoch"] for s in ("adam", "momentum")}
        finally:
            doc.close()
    assert epochs == {"adam": 5, "momentum": 5}  # neither sheet's run lost
