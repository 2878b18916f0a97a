"""The one place a Learner is built: ``build_learner`` for training a recipe, ``evaluator`` for
scoring a trained model (plain, TTA, ensembles) on the test loader, and ``recipe_dls`` for the
data a recipe trains on (with `torch_side.fashion.data.test_size_for`'s test-set rule)."""
from functools import partial

import torch
import torch.nn.functional as F

from torch_side.errors import UsageError
from torch_side.experiments.choices import opt_func, sched_cbs
from torch_side.experiments.recipes import WD_OPTS
from torch_side.fashion.augment import batch_tfms
from torch_side.fashion.data import fashion_dls, test_size_for
from torch_side.fashion.models import MODELS, get_model
from torch_side.learn.callbacks import (BatchTransformCB, DeviceCB, MetricsCB, MixedPrecisionCB, NaNGuardCB,
                                        ProgressCB, accuracy)
from torch_side.learn.learner import Learner
from torch_side.learn.record import RecorderCB

__all__ = ["build_learner", "evaluator", "recipe_dls", "eval_cbs"]


def eval_cbs(device):
    """The callbacks every evaluation and comparison runs with: the device (channels-last) and mixed
    precision."""
    return [DeviceCB(device, channels_last=True), MixedPrecisionCB()]


def evaluator(model, dls, device):
    """A Learner that only evaluates ``model`` on ``dls.valid`` (no optimizer): for accuracy, TTA and
    ensembles after training."""
    return Learner(model, dls, opt_func=None, cbs=eval_cbs(device))


def recipe_dls(bs, device, subset=None, test_size=None, seed=0, data_dir=None, download=False):
    """Fashion-MNIST on ``device`` for a run: ``subset`` training images and the test images
    `test_size_for` gives, channels-last."""
    return fashion_dls(bs, device, subset=subset, valid_subset=test_size_for(subset, test_size), seed=seed,
                       data_dir=data_dir, download=download, channels_last=True)


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
        kw = ({"zero_bn": recipe.zero_bn, "block_bn": recipe.block_bn}
              if "resnet" in recipe.model else {})
        if recipe.model not in MODELS:
            raise UsageError(f"unknown model {recipe.model!r}; known: {', '.join(MODELS)}")
        model = get_model(recipe.model, **kw)
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    model = model.to(device).to(memory_format=torch.channels_last)
    if compile:
        model = torch.compile(model)
    metrics = MetricsCB(accuracy)
    cbs = eval_cbs(device) + [metrics, NaNGuardCB(every=1 if torch.device(device).type == "cpu" else 16)]
    if recipe.augment:
        tfms = batch_tfms(recipe.augment, recipe.augment_mode, recipe.crop_fill)
        cbs.append(BatchTransformCB(tfms))
    total = recipe.epochs * len(dls.train)
    cbs += sched_cbs(recipe.sched, total, recipe.lr, opt_name=recipe.opt)
    if progress:
        cbs.append(ProgressCB())
    loss = partial(F.cross_entropy, label_smoothing=recipe.label_smoothing)
    learn = Learner(model, dls, loss_func=loss, lr=recipe.lr, cbs=cbs + list(extra_cbs),
                    opt_func=opt_func(recipe.opt, wd=recipe.wd if recipe.opt in WD_OPTS else 0.))
    # The recorder needs to know which momentum-like field the optimizer has.
    probe = learn.opt_func([torch.nn.Parameter(torch.zeros(1))], recipe.lr)
    recorder = RecorderCB(**_recorder_fns(probe))
    learn.cbs.append(recorder)
    return learn, metrics, recorder
