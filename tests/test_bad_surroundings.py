"""Bad surroundings, with real processes: stdout closed, full or gone, the working folder deleted, a
full or read-only file system, a build interrupted or killed, a build over a workbook in use.

Each case: one line on stderr naming the thing and the fix, the documented exit status, no
traceback, every file byte-identical, no file added (temp files included). The file-system cases
mount a small or read-only tmpfs and are skipped where that is not allowed (not root).
"""
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def snapshot(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def run(argv, cwd, stdout=subprocess.PIPE, timeout=180, tmp=None, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT)
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    module = "xlopt.cli" if argv[0] == "xlopt" else "torch_side.cli"
    return subprocess.run([sys.executable, "-m", module, *argv[1:]], cwd=cwd, env=env, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)


def one_line(r, prog, code, message):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, r.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: ") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


@pytest.fixture
def mounted(tmp_path):
    """mount(options) -> a fresh tmpfs folder under tmp_path; unmounted after the test."""
    points = []

    def mount(options):
        d = tmp_path / f"fs{len(points)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        points.append(d)
        return d
    yield mount
    for d in points:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


# --- stdout -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["xlopt", "run", "adam", "--state", "s.json"], ["xlopt", "show", "adam"]])
def test_stdout_closed(tmp_path, argv):
    """`xlopt run >&-`: refused before any work (the state file is not written)."""
    r = subprocess.run([sys.executable, "-c", "import os, sys, subprocess; os.close(1); "
                        f"sys.exit(subprocess.call([sys.executable, '-m', 'xlopt.cli', *{argv[1:]!r}]))"],
                       cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.PIPE, text=True,
                       timeout=120)
    one_line(r, f"xlopt {argv[1]}", 2, "standard output is closed (>&-): send it to a file, or to /dev/null")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv", [["xlopt", "show", "adam"], ["xlopt", "run", "adam", "--epochs", "3"],
                                  ["xlopt", "sweep", "adam", "--grid", "lr=0.01..1:40:log"]])
def test_stdout_full(tmp_path, argv):
    with open("/dev/full", "w") as full:
        r = run(argv, tmp_path, stdout=full)
    one_line(r, f"xlopt {argv[1]}", 2, "cannot write to standard output: No space left on device")


@pytest.mark.slow
def test_stdout_full_torch_side(tmp_path):
    pytest.importorskip("torch")
    with open("/dev/full", "w") as full:
        r = run(["torch-side", "linreg", "adam", "--epochs", "3"], tmp_path, stdout=full)
    one_line(r, "torch-side linreg", 2, "cannot write to standard output: No space left on device")


@pytest.mark.slow
@pytest.mark.parametrize("cli", ["xlopt.cli", "torch_side.cli"])
def test_stdout_a_closed_pipe_ends_quietly(tmp_path, cli):
    """`xlopt run adam --epochs 200 --format csv | head -1`: the reader went away; no BrokenPipeError, no
    "Exception ignored". The pipe is shrunk to one page (Linux's F_SETPIPE_SZ), so 200 epochs' CSV (12 KB)
    is enough to meet the closed pipe; with the default 64 KB pipe it took torch 2000 epochs."""
    if cli == "torch_side.cli":
        pytest.importorskip("torch")
    argv = ["run", "adam"] if cli == "xlopt.cli" else ["linreg", "adam"]
    argv += ["--epochs", "200", "--format", "csv"]
    r, w = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    else:  # not Linux: the default pipe (64 KB on macOS) needs more output
        argv[argv.index("200")] = "2000"
    p = subprocess.Popen([sys.executable, "-m", cli, *argv], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT),
                         stdout=w, stderr=subprocess.PIPE, text=True)
    os.close(w)
    with os.fdopen(r) as out:
        out.readline()
    # as head does after its line: the reader is closed while the writer still has more than a pipe's worth
    err = p.stderr.read()
    p.wait(120)
    assert p.returncode == 0 and err == "", err


# --- the working folder ---------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["xlopt", "run", "adam", "--state", "s.json"], ["xlopt", "build"],
                                  ["torch-side", "linreg", "adam", "--state", "s.json"]])
def test_working_folder_deleted(tmp_path, argv):
    if argv[0] == "torch-side":
        pytest.importorskip("torch")
    gone = tmp_path / "gone"
    gone.mkdir()
    module = "xlopt.cli" if argv[0] == "xlopt" else "torch_side.cli"
    r = subprocess.run([sys.executable, "-c", f"import os, sys, runpy; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
                        f"sys.argv = ['x', *{argv[1:]!r}]; runpy.run_module({module!r}, run_name='__main__')"],
                       env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=120)
    one_line(r, f"{argv[0]} {argv[1]}", 2, "the working folder no longer exists (deleted or moved): cd to an "
             "existing folder and run the command again")
    assert os.listdir(tmp_path) == []


# --- full and read-only file systems ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_build_on_a_full_disk(tmp_path, mounted, suffix):
    small = mounted("size=64k")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    r = run(["xlopt", "build", "-o", str(small / ("g" + suffix))], tmp_path, tmp=tmp)
    one_line(r, "xlopt build", 2, f"cannot write {small / ('g' + suffix)}: No space left on device")
    assert os.listdir(small) == [] and os.listdir(tmp) == []  # no temp file beside it, none in $TMPDIR


def test_build_force_on_a_full_disk_keeps_the_old_workbook(tmp_path, mounted):
    book = os.path.join(ROOT, "workbooks", "graddesc.xlsx")
    kib = os.path.getsize(book) // 1024 + 64  # room for the old workbook and a little: not for a new one
    small = mounted(f"size={kib}k")
    shutil.copyfile(book, small / "g.xlsx")
    (small / "pad").write_bytes(b"\0" * (kib * 1024 - os.path.getsize(small / "g.xlsx") - 8192))
    before = snapshot(small)
    r = run(["xlopt", "build", "-o", str(small / "g.xlsx"), "--force"], tmp_path)
    one_line(r, "xlopt build", 2, "No space left on device")
    assert snapshot(small) == before


@pytest.mark.slow
@pytest.mark.parametrize("argv,message", [
    (["xlopt", "build", "-o", "RO/g.xlsx"], "cannot write {ro}/g.xlsx: folder {ro} is not writable"),
    (["xlopt", "run", "adam", "--state", "RO/s.json"], "cannot write state file RO/s.json: Read-only file system"),
    (["torch-side", "train", "--recipe", "resnet-5ep", "--out", "RO/run"],
     "--out RO/run: cannot write in {ro} (a read-only file system or folder); choose another place"),
    (["torch-side", "sched-plot", "--out", "RO/s.png"], "--out RO/s.png: cannot write in {ro}"),
    (["torch-side", "activations", "--out", "RO/act"], "--out RO/act: cannot write in {ro}"),
    (["torch-side", "reproduce", "--only", "lesson-conv", "--out", "RO/r"], "--out RO/r: cannot write in {ro}"),
], ids=lambda v: v[1] if isinstance(v, list) else "")
def test_out_on_a_read_only_file_system(tmp_path, mounted, argv, message):
    if argv[0] == "torch-side":
        pytest.importorskip("torch")
    ro = mounted("ro")
    os.symlink(ro, tmp_path / "RO")
    r = run(argv, tmp_path)
    one_line(r, f"{argv[0]} {argv[1]}", 2, message.format(ro=tmp_path / "RO"))
    assert os.listdir(ro) == []


# --- a build interrupted, killed, or over a workbook in use ---------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
@pytest.mark.parametrize("after_s", [0.8, 1.6])
def test_build_interrupted_leaves_no_temp_file(tmp_path, sig, after_s):
    """XlsxWriter writes in memory: nothing in $TMPDIR to leave, and the temp file beside the output goes."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "xlopt.cli", "build", "-o", "g.xlsm", "--data", "random",
                          "--rows", "3000"], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT, TMPDIR=str(tmp)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after_s)
    p.send_signal(sig)
    out, err = p.communicate(timeout=120)
    assert os.listdir(tmp) == []
    if p.returncode == 0:  # finished first on a fast machine
        assert sorted(os.listdir(tmp_path)) == ["g.xlsm", "tmp"]
        return
    assert p.returncode == 128 + sig if sig != signal.SIGINT else p.returncode == 130
    assert err.count("\n") == 1 and "no file was changed" in err and "Traceback" not in err, err
    assert sorted(os.listdir(tmp_path)) == ["tmp"]


def test_a_killed_build_leaves_no_temp_file_after_the_next_build(tmp_path):
    """SIGKILL runs no clean-up: its temp file (its pid in the name) is deleted by the next writer."""
    p = subprocess.Popen([sys.executable, "-m", "xlopt.cli", "build", "-o", "g.xlsm", "--data", "random",
                          "--rows", "3000"], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not [n for n in os.listdir(tmp_path) if n.startswith(".~g.")] and p.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    p.kill()
    p.communicate()
    left = [n for n in os.listdir(tmp_path) if n.startswith(".~g.")]
    if not left:
        pytest.skip("the build finished before the kill")
    assert left[0].startswith(f".~g.{p.pid}-") and left[0].endswith(".xlsm")
    r = run(["xlopt", "build", "-o", "g.xlsm", "--force"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["g.xlsm"]


def test_build_force_waits_for_the_workbook_lock(tmp_path):
    """A click holds the workbook's lock from load to save: build --force must not write under it."""
    from xlopt.core import locks
    path = tmp_path / "g.xlsx"
    shutil.copyfile(os.path.join(ROOT, "workbooks", "graddesc.xlsx"), path)
    before = snapshot(tmp_path)
    with locks.locked(str(path), what="workbook"):
        r = run(["xlopt", "build", "-o", "g.xlsx", "--force", "--lock-timeout", "0.5"], tmp_path)
    one_line(r, "xlopt build", 5, "is in use by another xlopt")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_train_on_a_full_disk(tmp_path, mounted):
    """torch.save fails on a full disk with a RuntimeError of no use: the checkpoint is made in memory
    and written plainly, so the failure is the disk's, named; no temp file is left in --out."""
    pytest.importorskip("torch")
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Fashion-MNIST is not installed")
    small = mounted("size=64k")
    r = run(["torch-side", "train", "--recipe", "tiny", "--subset", "256", "--out", str(small / "run"),
             "--no-progress"], tmp_path, timeout=600)
    one_line(r, "torch-side train", 2, f"cannot write {small / 'run' / 'checkpoint.pt'}: No space left on device")
    assert [f for _, _, files in os.walk(small) for f in files] == []  # the run's folder is left empty
