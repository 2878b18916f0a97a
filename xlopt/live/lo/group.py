"""soffice's process group: is soffice.bin still alive, and ending whatever is left of the group."""
import os
import signal
import time


def soffice_bin_alive(proc):
    """Is soffice.bin (not only its oosplash parent, which outlives it a moment) alive and not stopped
    for ever? Linux reads /proc; elsewhere any live process of the group counts."""
    if not os.path.isdir("/proc/self"):
        return group_alive(proc)
    proc.poll()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                head, tail = f.read().rsplit(b")", 1)
        except OSError:
            continue
        fields = tail.split()
        if int(fields[2]) == proc.pid and fields[0] not in (b"Z", b"X") and head.endswith(b"(soffice.bin"):
            return True
    return False


def kill_group(proc, grace_s=0.5):
    """End whatever is left of soffice's process group (the wrapper, oosplash, soffice.bin).

    After desktop.terminate() soffice.bin takes a second or two to wind down a profile we delete
    anyway: give it `grace_s`, then SIGTERM (documents are closed by then), then SIGKILL.
    """
    for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if sig is not None:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if not group_alive(proc):
                return
            time.sleep(0.02)


def group_alive(proc):
    """Does any live (not zombie) process remain in soffice's process group?"""
    proc.poll()  # reap our own child
    if os.path.isdir("/proc/self"):  # Linux: zombies (gpg helpers left to init) do not count
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == proc.pid and fields[0] != b"Z":
                return True
        return False
    try:
        os.killpg(proc.pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
