"""Messages that must not mislead: the true line only for data that have one; compare's workbook lock."""
import hashlib
import threading

import pytest

from xlopt.core import locks
from xlopt.core.errors import Busy


@pytest.mark.parametrize("data, truth", [("lesson", True), ("random", True), ("csv", False)])
def test_the_table_states_the_true_line_only_for_the_lessons_or_random_data(xlopt_cli, tmp_path, data, truth):
    if data == "csv":
        path = tmp_path / "mine.csv"
        path.write_text("x,y\n1,5\n2,7\n3,10\n")
        data = str(path)
    code, out, err = xlopt_cli("run", "adam", "--data", data, "--epochs", "1")
    assert code == 0, err
    head = out.splitlines()[0]
    assert ("true b = 30, a = 2" in head) is truth, head
    assert head.startswith("adam (lesson carry): 1 epochs, now at epoch 1")


def test_a_user_csv_on_the_lessons_own_line_is_that_line():
    from xlopt.core.report import true_line
    assert true_line({"x": [1.0, 2.0], "y": [32.0, 34.0]}) == (30, 2)
    assert true_line({"x": [1.0, 2.0], "y": [32.0, 34.5]}) is None


def test_compare_workbook_waits_for_the_lock_then_gives_up(tmp_path):
    pytest.importorskip("torch")
    import pandas as pd

    from torch_side.cli.compare_report import write_sheet
    book = tmp_path / "g.xlsx"
    book.write_bytes(b"not read: the lock comes first")
    before = hashlib.sha256(book.read_bytes()).hexdigest()
    df = pd.DataFrame({"optimizer": ["sgd"], "schedule": ["constant"], "accuracy": [0.5]})
    held, release = threading.Event(), threading.Event()

    def holder():
        with locks.locked(str(book), None, "workbook"):
            held.set()
            release.wait(10)
    t = threading.Thread(target=holder)
    t.start()
    try:
        held.wait(10)
        with pytest.raises(Busy, match="is in use by another xlopt"):
            write_sheet(book, df, lock_timeout=0.3)
    finally:
        release.set()
        t.join()
    assert hashlib.sha256(book.read_bytes()).hexdigest() == before
