"""Write a file so that readers see the old content or the new, never half of it.

The temp file sits beside the target (same file system, so the final rename is atomic) and its name
holds the writer's pid: `.~graddesc.4711-k2j1.xlsm`. A writer killed with SIGKILL cannot delete its
temp file; the next writer of the same target deletes the ones whose pid is no longer alive.
"""
import os
import re
import tempfile
from contextlib import contextmanager


def _prefix(path, keep_suffix):
    stem, suffix = os.path.splitext(os.path.basename(path))
    return ".~" + (stem if keep_suffix else stem + suffix) + "."


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_stale(path, keep_suffix=False):
    """Delete temp files for `path` left by writers that died (their pid is in the name)."""
    d = os.path.dirname(os.path.abspath(path))
    prefix = _prefix(path, keep_suffix)
    pattern = re.compile(re.escape(prefix) + r"(\d+)-")
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        m = pattern.match(name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            try:
                os.remove(os.path.join(d, name))
            except OSError:
                pass


@contextmanager
def replacing(path, keep_suffix=False):
    """Yield a temp path beside `path`; it replaces `path` only if the block finishes.

    keep_suffix: the temp name ends like `path` (.xlsx, .xlsm), for writers that choose the format
    by the file name (XlsxWriter, LibreOffice's filters).
    """
    path = os.path.abspath(path)
    d = os.path.dirname(path)
    suffix = os.path.splitext(path)[1]
    sweep_stale(path, keep_suffix)
    fd, tmp = tempfile.mkstemp(prefix=f"{_prefix(path, keep_suffix)}{os.getpid()}-",
                               suffix=suffix if keep_suffix else "", dir=d)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, (os.stat(path).st_mode & 0o777) if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    with replacing(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
