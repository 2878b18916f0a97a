"""Run a grid of independent trials as Ray tasks: results stream back, finished ones are kept.

Any grid can use it (``compare``'s optimizer x schedule cells, a results table's rows): a trial is
a plain JSON-able ``spec`` dict and a module-level function ``fn(spec) -> JSON-able result``.
``run_grid`` keeps at most ``workers`` trials in flight, each a Ray task holding its share of the
cluster's CPUs (and GPUs, where there are any), and hands each result to ``on_result`` in the
driver as soon as it arrives. Every finished result is saved atomically in a ``TrialStore``
(one JSON file per trial, named by a digest of its spec), so a rerun of the same grid skips it.
A trial whose worker process dies is retried by Ray (``retries`` times), then reported as a
failed result (``{"failed": "..."}``); it is not stored, so the next run tries it again, and
nothing already finished is lost.

Ray is imported only here and only when a grid is run with workers: ``pip install -e ".[dist]"``.
"""
import hashlib
import json
import logging
import os
import socket
from pathlib import Path

from xlopt.core import signals
from xlopt.core.atomic import write_text

from torch_side.errors import UsageError

__all__ = ["GridError", "TrialStore", "add_arguments", "check_args", "wanted", "run_grid",
           "spec_key", "DIE_ENV"]

EXTRA = 'pip install -e ".[dist]"'
# Test hook: "NAME" (that trial's worker always dies) or "NAME=MARKER" (it dies once, leaving MARKER);
# several rules split by ';'.
DIE_ENV = "XLOPT_GRID_DIE"


class GridError(UsageError):
    """Bad --workers/--ray-address, Ray missing, or the cluster unreachable: one line, exit 2."""


def add_arguments(p):
    p.add_argument("--workers", type=int, help="run the trials as N parallel Ray tasks, each with its "
                   f"share of the CPUs/GPUs (needs Ray: {EXTRA}); finished trials are kept and not rerun")
    p.add_argument("--ray-address", help="run on an existing Ray cluster (HOST:PORT, ray://HOST:PORT or "
                   "auto) instead of a local one; --workers then defaults to its GPU (else CPU) count")


def wanted(args):
    """Whether this run goes through Ray (``--workers`` or ``--ray-address`` given)."""
    return getattr(args, "workers", None) is not None or getattr(args, "ray_address", None) is not None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise GridError(f"--workers/--ray-address need Ray, which is not installed; install the dist extra: "
                        f"{EXTRA} (or pip install 'xlopt[dist]')") from None
    return ray


def _reachable(address, timeout=3.0):
    """TCP-connect to HOST:PORT first, so an unreachable cluster fails in seconds, named."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise GridError(f"--ray-address {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise GridError(f"--ray-address {address}: cannot reach the Ray cluster there ({e.strerror or e}); "
                        "start it with `ray start --head` or name the head node's address") from None


def check_args(args):
    """Everything about --workers/--ray-address that can be checked before any work is done."""
    if args.workers is not None and args.workers < 1:
        raise GridError(f"--workers must be a positive integer, got {args.workers}")
    _import_ray()
    if args.ray_address:
        _reachable(args.ray_address)


def spec_key(spec):
    """A short digest of everything that determines a trial's result."""
    return hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]


class TrialStore:
    """Finished trials, one JSON file each (``<name>-<digest>.json``), written atomically."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def _path(self, spec, name):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return self.folder / f"{safe}-{spec_key(spec)}.json"

    def get(self, spec, name):
        p = self._path(spec, name)
        if not p.is_file():
            return None
        try:
            saved = json.loads(p.read_text())
        except ValueError:
            return None  # a damaged record is simply run again
        return saved["result"] if saved.get("spec") == json.loads(json.dumps(spec, default=str)) else None

    def put(self, spec, name, result):
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text(self._path(spec, name), json.dumps({"spec": spec, "result": result}, default=str) + "\n")


def _maybe_die(name):
    """The test hook: end this worker process abruptly inside a named trial (rules split by ';')."""
    for rule in filter(None, os.environ.get(DIE_ENV, "").split(";")):
        key, _, marker = rule.partition("=")
        if key != name:
            continue
        if marker:
            if os.path.exists(marker):
                continue
            Path(marker).write_text("died once\n")
        os._exit(17)


def _run_one(fn, spec, name, threads):
    """What a Ray task runs: the trial with a fixed torch thread count (same bits as a sequential run)."""
    import torch
    torch.set_num_threads(threads)
    _maybe_die(name)
    return fn(spec)


def _start(ray, workers, address):
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # workers started on this machine import torch_side from where the driver does
    root = str(Path(__file__).resolve().parent.parent)
    if root not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    kw = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        with signals.kept():  # SIGTERM stays a clean stop with one line (xlopt.core.signals), not Ray's exit
            if address:
                ray.init(address=address, **kw)
            else:
                import torch
                ncpu = max(os.cpu_count() or 1, workers)
                ray.init(num_cpus=ncpu, num_gpus=torch.cuda.device_count(), object_store_memory=200 * 2**20,
                         **kw)
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise GridError(f"could not connect to {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    res = ray.cluster_resources()
    cpus, gpus = int(res.get("CPU", 1)), res.get("GPU", 0)
    if workers is None:
        workers = int(gpus) or cpus
    per_cpu = max(1, cpus // workers)
    per_gpu = 0 if not gpus else (gpus / workers if gpus < workers else float(int(gpus // workers)))
    threads = max(1, (os.cpu_count() or 1) // workers) if not address else per_cpu
    return workers, per_cpu, per_gpu, threads


def run_grid(items, fn, store, on_result, workers=None, address=None, retries=1, log=print,
             threads=None):
    """Run ``fn(spec)`` for each ``(name, spec)`` in ``items`` on Ray; return ``{name: result}``.

    ``threads``: torch threads per trial (default: the worker's share of the cores); a grid whose
    specs carry their own thread count passes it, so the log says what the trials use.

    Trials already in ``store`` are not run: their saved result is passed to ``on_result`` first.
    ``on_result(name, result, cached)`` is called in the driver as each trial finishes; a trial
    that failed (its worker died ``retries + 1`` times, or it raised) gives ``{"failed": why}``.
    """
    results, todo = {}, []
    for name, spec in items:
        saved = store.get(spec, name)
        if saved is not None:
            results[name] = saved
            on_result(name, saved, True)
        else:
            todo.append((name, spec))
    if log and len(results):
        log(f"{len(results)} finished trial(s) kept from {store.folder}; {len(todo)} to run")
    if not todo:
        return results
    ray = _import_ray()
    started_here = not ray.is_initialized()
    given = threads
    workers, per_cpu, per_gpu, threads = _start(ray, workers, address) if started_here else (workers or 1, 1, 0, 1)
    threads = given or threads
    if log:
        log(f"ray: {workers} workers, {per_cpu} CPU{'s' if per_cpu > 1 else ''}"
            + (f" and {per_gpu:g} GPU" if per_gpu else "") + f" each, torch threads {threads}"
            + (f", cluster {address}" if address else ""))
    task = ray.remote(_run_one).options(num_cpus=per_cpu, num_gpus=per_gpu, max_retries=retries,
                                        retry_exceptions=False)
    pending, queue = {}, list(todo)
    try:
        while queue or pending:
            while queue and len(pending) < workers:
                name, spec = queue.pop(0)
                pending[task.remote(fn, spec, name, threads)] = (name, spec)
            ready, _ = ray.wait(list(pending), num_returns=1)
            name, spec = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayError as e:
                why = ("its worker process died" + (f" ({retries + 1} tries)" if retries else "")
                       if isinstance(e, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError))
                       else str(getattr(e, "cause", None) or e).strip().splitlines()[-1])
                result = {"failed": why}
            else:
                store.put(spec, name, result)
            results[name] = result
            on_result(name, result, False)
    finally:
        if started_here:
            ray.shutdown()
    return results
