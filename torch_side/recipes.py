"""Named training recipes (course22p2 nbs 13-14) and the Learner they build.

A recipe is data (airbench's ``hyp`` idea, frozen): the model, epochs, peak learning rate,
batch size, optimizer, schedule and augmentations. ``build_learner`` turns one into a
Learner with the standard callbacks; ``train`` and ``bench`` both use it.
"""
from dataclasses import dataclass, replace
from functools import partial

import torch
import torch.nn.functional as F

from torch_side.augment import batch_tfms
from torch_side.callbacks import (BatchTransformCB, DeviceCB, MetricsCB, MixedPrecisionCB,
                                  NaNGuardCB, ProgressCB, RecorderCB, accuracy)
from torch_side.learner import Learner
from torch_side.models import get_model
from torch_side.opt_choices import opt_func, sched_cbs

__all__ = ["Recipe", "RECIPES", "get_recipe", "build_learner", "UnknownRecipeError"]


class UnknownRecipeError(ValueError):
    """The recipe name is not one of RECIPES."""


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str              # a key of torch_side.models.MODELS
    epochs: int
    lr: float               # peak learning rate of the schedule
    bs: int = 1024          # images per batch
    opt: str = "adamw"      # a key of torch_side.opt_choices.OPTIMIZERS
    sched: str = "onecycle"  # a key of torch_side.opt_choices.SCHEDULERS
    wd: float = 1e-2        # decoupled weight decay (AdamW)
    augment: tuple = ()     # names for torch_side.augment.batch_tfms, training batches only
    tta: bool = False       # also report flip test-time-augmentation accuracy
    zero_bn: bool = True    # zero-init each ResBlock's second BatchNorm (identity at start)
    label_smoothing: float = 0.  # of the cross-entropy loss
    note: str = ""


RECIPES = {r.name: r for r in [
    # bs 256 / wd 0.1 / label smoothing 0.1 / no zero-init BN measured 93.44 % and 93.17 % (seeds
    # 42, 0; CPU fp32, full data) against 92.00 % for nb 13's bs 1024, lr 2e-2, zero-init BN
    Recipe("resnet-5ep", "resnet", 5, 1e-2, bs=256, wd=0.1, label_smoothing=0.1, zero_bn=False,
           note="nb 13: the 1.23M-parameter ResNet, AdamW + 1cycle, tuned for 5 epochs"),
    Recipe("aug-20ep", "wide-resnet", 20, 1e-2, augment=("crop", "flip"), tta=True,
           note="nb 14: the wide ks=5 ResNet with crop+flip, flip TTA"),
    Recipe("erase-50ep", "wide-resnet", 50, 1e-2, augment=("crop", "flip", "erase"), tta=True,
           note="nb 14: as aug-20ep for 50 epochs with RandErase"),
]}


def get_recipe(name, **overrides):
    """The named recipe, with any non-None ``overrides`` (epochs, lr, bs, opt, sched) applied."""
    try:
        r = RECIPES[name]
    except KeyError:
        raise UnknownRecipeError(
            f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}") from None
    return replace(r, **{k: v for k, v in overrides.items() if v is not None})


def _recorder_fns(opt):
    fns = {"lr": lambda cb: cb.pg["lr"], "loss": lambda cb: cb.learn.loss.detach()}
    pg = opt.param_groups[0]
    if "betas" in pg:
        fns["mom"] = lambda cb: cb.pg["betas"][0]
    elif "momentum" in pg:
        fns["mom"] = lambda cb: cb.pg["momentum"]
    return fns


def build_learner(recipe, dls, device, model=None, progress=True, compile=False,
                  extra_cbs=()):
    """``(learner, metrics_cb, recorder_cb)`` for ``recipe`` on already-loaded ``dls``."""
    if model is None:
        kw = {"zero_bn": recipe.zero_bn} if "resnet" in recipe.model else {}
        model = get_model(recipe.model, **kw)
    model = model.to(device).to(memory_format=torch.channels_last)
    if compile:
        model = torch.compile(model)
    metrics = MetricsCB(accuracy)
    cbs = [DeviceCB(device, channels_last=True), MixedPrecisionCB(), metrics,
           NaNGuardCB(every=1 if torch.device(device).type == "cpu" else 16)]
    if recipe.augment:
        cbs.append(BatchTransformCB(batch_tfms(recipe.augment)))
    total = recipe.epochs * len(dls.train)
    cbs += sched_cbs(recipe.sched, total, recipe.lr, opt_name=recipe.opt)
    if progress:
        cbs.append(ProgressCB())
    loss = partial(F.cross_entropy, label_smoothing=recipe.label_smoothing)
    learn = Learner(model, dls, loss_func=loss, lr=recipe.lr, cbs=cbs + list(extra_cbs),
                    opt_func=opt_func(recipe.opt, wd=recipe.wd if recipe.opt == "adamw" else 0.))
    # The recorder needs to know which momentum-like field the optimizer has.
    probe = learn.opt_func([torch.nn.Parameter(torch.zeros(1))], recipe.lr)
    recorder = RecorderCB(**_recorder_fns(probe))
    learn.cbs.append(recorder)
    return learn, metrics, recorder
