"""One training run of a recipe, as four steps: prepare → fit → evaluate → write.

``prepare`` checks what can be refused before any work (the output folder, a checkpoint to resume),
seeds, loads the data and hands this process its shard; ``fit`` builds the Learner
(`torch_side.experiments.builder`) and trains, timed; ``evaluate`` scores the trained model with
the one evaluator (plain accuracy, flip TTA); ``write`` puts history.csv, loss.png, lr.png and
metrics.json into the output folder. A distributed run (`torch_side.dist.ddp.Dist`) and a
single process (`torch_side.dist.local.Local`, the stand-in) offer the same pieces — shard,
callbacks, checkpoint, summary, close — so the steps never ask which one they run under; only
rank 0 (``is_main``) prints and writes.
"""
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from torch_side.dist.local import Local
from torch_side.errors import check_out
from torch_side.experiments.builder import build_learner, evaluator, recipe_dls
from torch_side.learn.callbacks import accuracy
from torch_side.learn.checkpoint import load_checkpoint
from torch_side.learn.preds import capture_preds, tta_preds

__all__ = ["Run", "prepare", "fit", "evaluate", "write", "train_recipe"]


@dataclass
class Run:
    """What the steps hand on: the recipe, where it runs and writes, and what each step made."""
    recipe: object
    device: torch.device
    out: Path
    dist: object            # torch_side.dist.ddp.Dist or torch_side.dist.local.Local
    seed: int
    dls: object = None
    config: dict = field(default_factory=dict)
    learn: object = None
    metrics: object = None
    recorder: object = None
    ckpt: object = None
    seconds: float = 0.

    def say(self, *a, **k):
        if self.dist.is_main:
            print(*a, **k)


def _config(recipe):
    """What a checkpoint must match to be resumed: another optimizer, schedule, lr or bs is refused."""
    config = {"opt": recipe.opt, "sched": recipe.sched, "lr": recipe.lr, "bs": recipe.bs}
    if not recipe.block_bn:  # another architecture: a checkpoint of the other must not load
        config["block_bn"] = False
    return config


def prepare(recipe, device, out, dist, subset=None, seed=42, resume=False, data_dir=None, download=False,
            dls=None, data_seed=None, test_size=None):
    """Refuse what can be refused before any work, seed, load the data, take this process's shard."""
    out = Path(out)
    check_out(out, what="the run's outputs")
    config = _config(recipe)
    if resume and (out / "checkpoint.pt").exists():  # refused before any work
        load_checkpoint(out / "checkpoint.pt", recipe.model, config)
    torch.manual_seed(seed)
    np.random.seed(seed)
    if dls is None:
        dls = recipe_dls(recipe.bs, device, subset=subset, test_size=test_size,
                         seed=seed if data_seed is None else data_seed, data_dir=data_dir, download=download)
    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    return Run(recipe, device, out, dist, seed, dls=dist.shard(dls), config=config)


def fit(run, resume=False, progress=True, compile=False):
    """Build the Learner with the checkpoint and the distribution's callbacks, train it, time it."""
    r = run.recipe
    run.ckpt = run.dist.checkpoint_cb(run.out / "checkpoint.pt", r.model, recipe=r.name, resume=resume,
                                      config=run.config)
    run.learn, run.metrics, run.recorder = build_learner(
        r, run.dls, run.device, progress=run.dist.is_main and progress, compile=compile,
        extra_cbs=[run.ckpt, *run.dist.callbacks()])
    if not run.dist.is_main:
        run.metrics.logger = None
    run.say(f"recipe {r.name}: {r.model}, {r.epochs} epoch{'s' * (r.epochs != 1)}, bs {r.bs}, "
            f"{r.opt} + {r.sched} lr {r.lr:g}, augment {list(r.augment)} (per {r.augment_mode}), "
            f"{len(run.dls.train.y)} train / {len(run.dls.valid.y)} test images on {run.device}")
    t0 = time.perf_counter()
    run.learn.fit(r.epochs)
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    run.seconds = time.perf_counter() - t0
    if run.ckpt.resumed_from is not None:
        run.say(f"resumed after epoch {run.ckpt.resumed_from + 1}; trained {len(run.learn.epochs)} more")
    return run


def evaluate(run):
    """``(summary dict, evaluator Learner)``: the run's figures, test accuracy and (recipe.tta) flip TTA."""
    r, device, dls = run.recipe, run.device, run.dls
    trained = len(run.learn.epochs)
    summary = {"recipe": r.name, "model": r.model, "device": str(device),
               "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                               else f"{device.type} CPU, {torch.get_num_threads()} threads"),
               "epochs": r.epochs, "epochs_this_run": trained,
               "train_images": len(dls.train.y), "test_images": len(dls.valid.y),
               "batch_size": r.bs, "seed": run.seed, "seconds": round(run.seconds, 2)}
    if not r.block_bn:
        summary["block_bn"] = False  # the lesson's ResBlocks before its fix
    ev = evaluator(run.learn.model, dls, device)
    preds, targs = capture_preds(ev)
    summary["accuracy"] = round(float(accuracy(preds, targs)), 4)
    train_rows = [row for row in run.metrics.log if row["phase"] == "train"]
    if train_rows:
        summary["train_accuracy"] = round(train_rows[-1]["accuracy"], 4)
    if r.tta:
        p, t = tta_preds(ev, softmax=r.tta_softmax)
        summary["tta_accuracy"] = round(float(accuracy(p, t)), 4)
    if trained and run.seconds > 0:
        summary["seconds_per_epoch"] = round(run.seconds / trained, 2)
        summary["images_per_second"] = round(trained * len(dls.train.y) / run.seconds, 1)
    summary.update(run.dist.summary())
    return summary, ev


def _plots(out, metrics, recorder):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    hist = metrics.df
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.5))
    axs[0].plot(recorder.values("loss"), lw=0.7)
    axs[0].set(title="training loss per batch", xlabel="batch", ylabel="loss")
    for phase, g in hist.groupby("phase"):
        axs[1].plot(g["epoch"] + 1, g["loss"], marker="o", label=phase)
    axs[1].set(title="loss per epoch", xlabel="epoch", ylabel="loss")
    axs[1].legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png")
    plt.close(fig)
    fig = recorder.plot()
    fig.savefig(out / "lr.png")
    plt.close(fig)


def write(run, summary):
    """history.csv, loss.png and lr.png, metrics.json into the output folder; the summary line."""
    run.metrics.df.to_csv(run.out / "history.csv", index=False)
    if run.recorder.recs.get("loss"):
        _plots(run.out, run.metrics, run.recorder)
    (run.out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    run.say(" ".join(f"{k}={v}" for k, v in summary.items()))


def train_recipe(recipe, device, out, subset=None, seed=42, progress=True, resume=False,
                 compile=False, data_dir=None, download=False, dls=None, data_seed=None, dist=None,
                 test_size=None):
    """Train ``recipe`` once; write history, plots, checkpoint, metrics.json into ``out``.

    Returns ``(summary dict, evaluator Learner)``; the evaluator holds the trained model and
    the test loader, for TTA and ensembles. ``data_seed`` (default ``seed``) picks the
    subset and the batch order, so learners of one ensemble can differ by ``seed`` alone.
    ``dist`` (torch_side.dist.ddp.Dist): this process's rank in a DistributedDataParallel run;
    None, this process alone (`torch_side.dist.local.Local`).
    """
    dist = dist or Local(device)
    run = prepare(recipe, device, out, dist, subset=subset, seed=seed, resume=resume, data_dir=data_dir,
                  download=download, dls=dls, data_seed=data_seed, test_size=test_size)
    fit(run, resume=resume, progress=progress, compile=compile)
    summary, ev = evaluate(run)
    dist.close()
    if dist.is_main:
        write(run, summary)
    return summary, ev
