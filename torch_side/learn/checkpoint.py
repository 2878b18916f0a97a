"""Checkpoints written atomically after each completed epoch, and resumed from.

Why atomic: a run killed mid-save must leave the previous checkpoint readable, so we write
a temp file beside the target and ``os.replace`` it. A checkpoint holds the model name
and the schedule's shape (epochs x batches), so resuming with another model or another
schedule is refused with a message instead of a shape error deep in ``load_state_dict``.

A checkpoint holds tensors and plain data only, and is read with ``weights_only=True``: a file
crafted to run code when unpickled is refused before anything in it runs.
"""
import io
from pathlib import Path

import torch

from xlopt.core.atomic import replacing

from torch_side.errors import CheckpointError
from torch_side.learn.callbacks import MetricsCB
from torch_side.learn.learner import Callback

__all__ = ["CheckpointError", "CheckpointCB", "save_atomic", "load_checkpoint", "FORMAT"]

FORMAT = "torch-side-checkpoint-1"


def save_atomic(obj, path):
    """``torch.save`` to a temp file in the same directory, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(obj, buf)  # in memory: torch.save on a full disk fails with a RuntimeError of no use
    with replacing(path) as tmp:
        try:
            with open(tmp, "wb") as f:
                f.write(buf.getbuffer())
        except OSError as e:  # a full disk: one message naming the checkpoint (torch_side.cli.command_main)
            raise OSError(e.errno, e.strerror, str(path)) from None


def _plain(v):
    """numpy scalars -> Python numbers, recursively: what weights_only=True reads back."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    if hasattr(v, "item") and not isinstance(v, torch.Tensor):
        return v.item()
    return v


def load_checkpoint(path, model_name=None, config=None):
    """Load and check a checkpoint; ``model_name`` (and ``config``) must match the run it was made for.

    Read with ``weights_only=True``: only tensors and plain data are unpickled, nothing runs."""
    import pickle
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} was refused: it holds Python objects, not only tensors and plain data, so it was "
            "not written by torch-side (and may be crafted to run code); nothing in it was run. Delete "
            "it, or train without --resume") from None
    except Exception as e:  # noqa: BLE001 - any other failure is "not a checkpoint"
        raise CheckpointError(f"{path} is not a readable torch-side checkpoint ({type(e).__name__}); "
                              "delete it, or train without --resume") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a torch-side checkpoint (format {FORMAT})")
    _check_fields(ckpt, path, {"model_name": str})
    if not isinstance(ckpt.get("config"), (dict, type(None))):
        raise CheckpointError(f"{path} holds config = {type(ckpt['config']).__name__}, not what torch-side writes; "
                              "delete it, or train without --resume")
    if model_name is not None and ckpt["model_name"] != model_name:
        raise CheckpointError(
            f"{path} was saved from model {ckpt['model_name']!r} (recipe "
            f"{ckpt.get('recipe')!r}), but this run builds {model_name!r}; use another --out "
            "or the matching recipe")
    saved = ckpt.get("config")
    if config is not None and saved is not None and saved != config:
        diff = ", ".join(f"{k} {saved.get(k)!r} (this run: {config.get(k)!r})" for k in config if saved.get(k) != config.get(k))
        raise CheckpointError(f"{path} was saved by a run with {diff}; resume with the same options, or use "
                              "another --out")
    if model_name is not None:  # a resume: it reads every field
        _check_fields(ckpt, path, FIELDS)
    return ckpt


# what CheckpointCB writes, each with its type: a file lacking one cannot be resumed
FIELDS = {"epoch": int, "n_epochs": int, "steps_per_epoch": int, "model": dict, "opt": dict, "scheds": list,
          "history": list, "torch_rng": torch.Tensor}


def _check_fields(ckpt, path, fields):
    for key, kind in fields.items():
        if key not in ckpt:
            raise CheckpointError(f"{path} lacks {key!r}, which every torch-side checkpoint holds: it is damaged "
                                  "or was not written by torch-side; delete it, or train without --resume")
        if not isinstance(ckpt[key], kind) or isinstance(ckpt[key], bool):
            raise CheckpointError(f"{path} holds {key} = {type(ckpt[key]).__name__}, not what torch-side writes; "
                                  "delete it, or train without --resume")


def _unwrap(model):
    """The module itself: DistributedDataParallel keeps it as ``.module``, torch.compile as ``._orig_mod``."""
    from torch.nn.parallel import DistributedDataParallel
    if isinstance(model, DistributedDataParallel):
        model = model.module
    return getattr(model, "_orig_mod", model)


def _scheds(learn):
    return [cb.sched for cb in sorted(learn.cbs, key=lambda c: c.order)
            if hasattr(getattr(cb, "sched", None), "state_dict")]


class CheckpointCB(Callback):
    """Save after each epoch's last phase; with ``resume``, continue from the saved epoch."""
    order = 30  # after the schedulers (built at order 5), so their state can be restored

    def __init__(self, path, model_name, recipe=None, resume=False, config=None):
        self.path, self.model_name, self.recipe, self.config = Path(path), model_name, recipe, config
        self.resume, self.resumed_from = resume, None

    def _metrics(self, learn):
        return next((cb for cb in learn.cbs if isinstance(cb, MetricsCB)), None)

    def before_fit(self, learn):
        self.steps = len(learn.dls.train)
        if not (self.resume and self.path.exists()):
            return
        ckpt = load_checkpoint(self.path, self.model_name, self.config)
        if (ckpt["n_epochs"], ckpt["steps_per_epoch"]) != (learn.n_epochs, self.steps):
            raise CheckpointError(
                f"{self.path} belongs to a run of {ckpt['n_epochs']} epochs x "
                f"{ckpt['steps_per_epoch']} batches; this run has {learn.n_epochs} x "
                f"{self.steps}. Resume with the same --epochs, --subset and batch size")
        try:
            _unwrap(learn.model).load_state_dict(ckpt["model"])
        except RuntimeError as e:
            raise CheckpointError(f"{self.path} does not fit model {self.model_name!r}: "
                                  f"{str(e).splitlines()[0]}") from None
        learn.opt.load_state_dict(ckpt["opt"])
        for sched, state in zip(_scheds(learn), ckpt["scheds"]):
            sched.load_state_dict(state)
        metrics = self._metrics(learn)
        if metrics is not None:
            metrics.log[:] = ckpt["history"]
        gen = getattr(learn.dls.train, "gen", None)
        if gen is not None and ckpt.get("loader_rng") is not None:
            gen.set_state(ckpt["loader_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        self.resumed_from = ckpt["epoch"]
        learn.epochs = range(ckpt["epoch"] + 1, learn.n_epochs)

    def after_epoch(self, learn):
        last_phase = (not learn.training) or not learn.do_valid
        if not (learn.do_train and last_phase):
            return
        metrics = self._metrics(learn)
        gen = getattr(learn.dls.train, "gen", None)
        save_atomic({
            "format": FORMAT, "model_name": self.model_name, "recipe": self.recipe,
            "epoch": learn.epoch, "n_epochs": learn.n_epochs, "steps_per_epoch": self.steps,
            "model": _unwrap(learn.model).state_dict(), "opt": learn.opt.state_dict(),
            "config": self.config,
            "scheds": [_plain(s.state_dict()) for s in _scheds(learn)],
            "history": _plain(list(metrics.log)) if metrics is not None else [],
            "loader_rng": gen.get_state() if gen is not None else None,
            "torch_rng": torch.get_rng_state(),
        }, self.path)
