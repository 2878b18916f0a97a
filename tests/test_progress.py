"""Progress on stderr for long runs, only when stderr is a terminal.

Forced through the one check (`xlopt.core.progress.is_terminal`) in-process, and once for real:
a child whose stderr is a pseudo-terminal. When stderr is not a terminal nothing is printed, and
stdout is the same either way.
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios

import pytest

from xlopt.core import buttons, progress
from xlopt.live import press

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def terminal(monkeypatch):
    """stderr counts as a terminal and bars show at once (no 2 s delay)."""
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)


@pytest.fixture
def no_delay(monkeypatch):
    monkeypatch.setattr(progress, "DELAY_S", 0.0)


def test_run_shows_a_bar_on_a_terminal_and_stdout_is_unchanged(xlopt_cli, no_delay, monkeypatch):
    code, plain_out, plain_err = xlopt_cli("run", "adam", "--epochs", "300")
    assert code == 0 and plain_err == ""  # capsys' stderr is no terminal: nothing
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    code, out, err = xlopt_cli("run", "adam", "--epochs", "300")
    assert code == 0 and out == plain_out
    assert "adam (lesson carry)" in err and "/300 " in err and "epoch" in err


def test_a_short_run_shows_nothing_even_on_a_terminal(xlopt_cli, monkeypatch):
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    code, out, err = xlopt_cli("run", "adam", "--epochs", "5")  # well under DELAY_S
    assert code == 0 and err == ""


def test_bar_is_a_no_op_off_a_terminal():
    with progress.bar(10, "x") as tick:
        assert tick is progress.noop
        tick()


def test_is_terminal_is_false_for_odd_streams():
    class Closed:
        def isatty(self):
            raise ValueError("I/O operation on closed file")
    assert progress.is_terminal(Closed()) is False
    assert progress.is_terminal(object()) is False


def test_sweep_shows_a_bar_on_a_terminal(xlopt_cli, terminal):
    code, out, err = xlopt_cli("sweep", "adam", "--grid", "lr=0.01,0.1", "--epochs", "40")
    assert code == 0 and "sweep adam" in err and "/40 " in err
    assert "sweep adam" not in out


def test_linreg_shows_a_bar_on_a_terminal(terminal, capsys):
    pytest.importorskip("torch")
    from torch_side.cli import main
    assert main(["linreg", "adam", "--epochs", "30"]) == 0
    out, err = capsys.readouterr()
    assert "adam (lesson carry)" in err and "/30 " in err and "/30 " not in out


def test_press_ticks_once_per_epoch_on_the_real_book_only():
    from test_buttons_xlwings import XlwingsBook, excel  # a fake Excel sheet behind the xlwings book
    book = XlwingsBook(excel("momentum"))
    ticks = []
    press.press(book, "run", 3, "lesson", tick=lambda n=1: ticks.append(n))
    assert len(ticks) == 3 * buttons.EPOCHS_PER_CLICK  # the dry run on the copy does not tick
    ticks.clear()
    press.press(book, "reset", tick=lambda n=1: ticks.append(n))
    assert ticks == [1]


def test_click_advances_once_a_press():
    from xlopt.cli import click
    ticks = []
    per_press = click._per_press(lambda n=1: ticks.append(n))
    for _ in range(3 * buttons.EPOCHS_PER_CLICK):
        per_press()
    assert ticks == [1, 1, 1]


def test_training_bars_only_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("torch")
    from test_learner import _blobs, _mlp

    from torch_side.learn.callbacks import MetricsCB, ProgressCB, accuracy
    from torch_side.learn.learner import Learner
    Learner(_mlp(), _blobs(), cbs=[MetricsCB(accuracy, logger=None), ProgressCB()]).fit(1)
    assert "epoch 1/1" not in capsys.readouterr().err
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    Learner(_mlp(), _blobs(), cbs=[MetricsCB(accuracy, logger=None), ProgressCB()]).fit(1)
    assert "epoch 1/1" in capsys.readouterr().err


def _read_all(fd, proc, timeout_s=120):
    chunks = []
    while True:
        r, _, _ = select.select([fd], [], [], timeout_s)
        if not r:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=timeout_s)
    return b"".join(chunks).decode(errors="replace")


def test_a_real_pseudo_terminal_gets_the_bar_and_a_pipe_does_not(tmp_path):
    code = ("import sys; import xlopt.core.progress as p; p.DELAY_S = 0.0; "
            "from xlopt.cli import main; sys.exit(main(['run', 'adam', '--epochs', '1000', '--format', 'csv']))")
    env = dict(os.environ, PYTHONPATH=ROOT)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide
    try:
        with open(tmp_path / "out.csv", "wb") as out_f:  # a file, not a pipe nobody reads
            proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=out_f, stderr=slave)
        os.close(slave)
        err = _read_all(master, proc)
    finally:
        os.close(master)
    out = (tmp_path / "out.csv").read_text()
    assert proc.returncode == 0, err
    assert "adam (lesson carry)" in err and "epoch" in err and "\r" in err
    assert out.startswith("epoch,const,slope,lr,rmse\n")
    piped = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == "" and piped.stdout == out
