"""Write a file so that readers see the old content or the new, never half of it."""
import os
import tempfile
from contextlib import contextmanager


@contextmanager
def replacing(path, mode="w"):
    """Yield a temp path beside `path`; it replaces `path` only if the block finishes."""
    path = os.path.abspath(path)
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".~" + os.path.basename(path), dir=d)
    os.close(fd)
    try:
        yield tmp
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    with replacing(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
