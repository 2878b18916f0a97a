"""Named training recipes (course22p2 nbs 13-14) and the Learner they build.

A recipe is data (airbench's ``hyp`` idea, frozen): the model, epochs, peak learning rate,
batch size, optimizer, schedule and augmentations. ``build_learner`` turns one into a
Learner with the standard callbacks (`torch_side.experiments.builder`); ``train``, ``reproduce``,
the teaching tools and ``bench`` all use it.

Two kinds: ``lesson-*`` recipes carry the lesson's own settings, checked against course22p2's
notebooks (13_resnet at 0eb1895, 14_augment at 03fac8a): bs 1024, AdamW with PyTorch's
default weight decay, PyTorch's OneCycleLR stepped per batch, plain cross-entropy, Kaiming
init (leak 0.1) of the convs, augmentation drawn once per batch, TTA and ensembles averaging
the raw outputs (no softmax). nb 14 trains everything after "going wider" on that wide ks=5
model: lr 1e-2, except RandErase's 50 epochs at 2e-2. The published accuracies come in two
sets: the lesson's, and the notebooks' after the post-lesson BatchNorm fix. The fix passed the
forgotten ``norm`` into the ResBlocks (the lesson's had no BatchNorm inside them) and, having
found it worse, dropped the zero-init of each block's second BatchNorm; our models are the
fixed ones (``zero_bn=False``). The others are ours, tuned.
"""
from dataclasses import dataclass, replace

from torch_side.errors import UsageError
from torch_side.experiments.choices import _DECOUPLED

__all__ = ["Recipe", "RECIPES", "WD_OPTS", "get_recipe", "UnknownRecipeError", "lesson_recipe"]


WD_OPTS = ("adamw", *_DECOUPLED)  # the optimizers a recipe's (decoupled) weight decay reaches


class UnknownRecipeError(UsageError):
    """The recipe name is not one of RECIPES."""


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str              # a key of torch_side.fashion.models.MODELS
    epochs: int
    lr: float               # peak learning rate of the schedule
    bs: int = 1024          # images per batch
    opt: str = "adamw"      # a key of torch_side.experiments.choices.OPTIMIZERS
    sched: str = "onecycle"  # a key of torch_side.experiments.choices.SCHEDULERS
    wd: float = 1e-2        # decoupled weight decay (AdamW)
    augment: tuple = ()     # names for torch_side.fashion.augment.batch_tfms, training batches only
    augment_mode: str = "item"  # "batch": one draw per batch (the lesson's), "item": per image
    crop_fill: float = None  # crop border: None the batch minimum (black), 0 the lesson's grey
    tta: bool = False       # also report flip test-time-augmentation accuracy
    tta_softmax: bool = True  # average probabilities (False: raw outputs, as nb 14 does)
    zero_bn: bool = True    # zero-init each ResBlock's second BatchNorm (identity at start)
    block_bn: bool = True   # BatchNorm inside the ResBlocks (False: the lesson before its fix)
    label_smoothing: float = 0.  # of the cross-entropy loss
    learners: int = 1       # >1: train that many (seeds seed, seed+1, ...) and ensemble them
    # the lesson's published figures: ((metric, before the BN fix, after it), ...); None = not
    # published. For our recipes, ``compare_to`` names the lesson recipe they set out to beat.
    lesson: tuple = ()
    compare_to: str = ""
    note: str = ""

    @property
    def is_lesson(self):
        return self.name.startswith("lesson-")


def lesson_recipe(name, model, epochs, lr, lesson, **kw):
    """The lesson's settings; only what differs between its experiments is passed."""
    base = dict(bs=1024, opt="adamw", sched="onecycle-torch", wd=1e-2, zero_bn=False,
                label_smoothing=0., augment_mode="batch", crop_fill=0., tta_softmax=False)
    base.update(kw)
    return Recipe(name, model, epochs, lr, lesson=lesson, **base)


_CF = ("crop", "flip")
RECIPES = {r.name: r for r in [
    # -- the lesson's experiments, its settings (nb 13 "13_resnet", nb 14 "14_augment") -------
    lesson_recipe("lesson-conv", "conv-bn", 5, 6e-2, (("accuracy", .906, .906),),
                  note="nb 13: nb 11's conv net with GeneralRelu + BatchNorm, AdamW + 1cycle"),
    lesson_recipe("lesson-deep-conv", "deep-conv", 5, 6e-2, (("accuracy", .917, .917),),
                  note="nb 13 'going deeper': a stride-1 stem and one more stride-2 conv"),
    lesson_recipe("lesson-resnet", "resnet", 5, 2e-2, (("accuracy", .922, .928),),
                  note="nb 13: the 1.23M-parameter ResNet"),
    lesson_recipe("lesson-wide", "wide-resnet", 5, 1e-2, (("accuracy", .927, .934),),
                  note="nb 14 'going wider': ks=5 first block, widths to 512"),
    lesson_recipe("lesson-gap-wide", "resnet-gap-wide", 5, 1e-2, (("accuracy", .926, .929),),
                  note="nb 14 pooling 1: a 256->512 block, then global average pooling"),
    lesson_recipe("lesson-gap", "resnet-gap", 5, 1e-2, (("accuracy", .927, .930),),
                  note="nb 14 pooling 2: global average pooling after the 256 block"),
    lesson_recipe("lesson-gap-stem", "resnet-gap-stem", 5, 1e-2, (("accuracy", None, .928),),
                  note="nb 14 pooling 3: a plain conv stem (before the fix: 'about the same')"),
    lesson_recipe("lesson-noaug-20ep", "wide-resnet", 20, 1e-2, (("accuracy", .924, None),),
                  note="nb 14: 20 epochs without augmentation overfit (train 99.9 %)"),
    lesson_recipe("lesson-aug-20ep", "wide-resnet", 20, 1e-2,
                  (("accuracy", .938, .943), ("tta_accuracy", .942, .945)), augment=_CF,
                  tta=True, note="nb 14: random crop (padding 1) + flip, flip TTA"),
    lesson_recipe("lesson-erase-50ep", "wide-resnet", 50, 2e-2, (("accuracy", .946, .949),),
                  augment=_CF + ("erase",), note="nb 14: crop + flip + RandErase, 50 epochs"),
    lesson_recipe("lesson-copy-2x25ep", "wide-resnet", 25, 1e-2,
                  (("accuracy", .940, None), ("ensemble_accuracy", .944, .947)),
                  augment=_CF + ("copy",), learners=2,
                  note="nb 14: crop + flip + RandCopy, two learners (94.0 and 94.1) ensembled"),
    # -- ours ------------------------------------------------------------------------------
    # bs 256 / wd 0.1 / label smoothing 0.1 / no zero-init BN measured 93.44 % and 93.17 % (seeds
    # 42, 0; CPU fp32, full data) against 92.00 % for nb 13's bs 1024, lr 2e-2, zero-init BN
    Recipe("resnet-5ep", "resnet", 5, 1e-2, bs=256, wd=0.1, label_smoothing=0.1, zero_bn=False,
           compare_to="lesson-resnet",
           note="ours: the 1.23M-parameter ResNet, AdamW + 1cycle, tuned for 5 epochs"),
    Recipe("ours-5ep", "wide-resnet", 5, 1e-2, bs=256, wd=0.1, label_smoothing=0.1,
           zero_bn=False, augment=("flip",), tta=True, compare_to="lesson-wide",
           note="ours: the wide ResNet with resnet-5ep's tuning, per-image flips, flip TTA "
                "(aims at 94.0 %)"),
    Recipe("aug-20ep", "wide-resnet", 20, 1e-2, augment=_CF, tta=True,
           compare_to="lesson-aug-20ep",
           note="ours: the wide ks=5 ResNet with per-image crop+flip, flip TTA"),
    Recipe("ours-20ep", "wide-resnet", 20, 1e-2, bs=256, wd=0.1, label_smoothing=0.1,
           zero_bn=False, augment=_CF, tta=True, compare_to="lesson-aug-20ep",
           note="ours: as ours-5ep with crop+flip for 20 epochs (aims at 95.0 %)"),
    Recipe("erase-50ep", "wide-resnet", 50, 1e-2, augment=_CF + ("erase",), tta=True,
           compare_to="lesson-erase-50ep",
           note="ours: as aug-20ep for 50 epochs with RandErase"),
    Recipe("ours-50ep", "wide-resnet", 50, 1e-2, bs=256, wd=0.1, label_smoothing=0.1,
           zero_bn=False, augment=_CF + ("erase",), tta=True, compare_to="lesson-erase-50ep",
           note="ours: as ours-20ep with RandErase for 50 epochs (aims at 95.5 %)"),
    # the full-resolution ResNet-9 (torch_side.fashion.models.hires_resnet): 7x the wide ResNet's
    # compute per image, so these two are GPU recipes (bench/gpu_table.sh)
    Recipe("hires-5ep", "hires-resnet", 5, 1e-2, bs=256, wd=0.1, label_smoothing=0.1,
           zero_bn=False, augment=("flip",), tta=True, compare_to="lesson-wide",
           note="ours: a ResNet-9 that keeps the 28x28 resolution in its first convs, "
                "ours-5ep's tuning (aims at 94.0 %)"),
    Recipe("hires-20ep", "hires-resnet", 20, 1e-2, bs=256, wd=0.1, label_smoothing=0.1,
           zero_bn=False, augment=_CF, tta=True, compare_to="lesson-aug-20ep",
           note="ours: hires-5ep's net and tuning with crop+flip for 20 epochs (aims at 95.0 %)"),
    # the newer optimizers on resnet-5ep's setting (issue 23; not yet measured on the full data)
    Recipe("adagrad-5ep", "resnet", 5, 1e-2, bs=256, opt="adagrad", wd=0., label_smoothing=0.1,
           zero_bn=False, compare_to="lesson-resnet", note="ours: resnet-5ep with Adagrad"),
    Recipe("schedfree-5ep", "resnet", 5, 2.5e-3, bs=256, opt="schedfree", sched="constant", wd=0.,
           label_smoothing=0.1, zero_bn=False, compare_to="lesson-resnet",
           note="ours: resnet-5ep with Schedule-Free AdamW, constant lr (no schedule)"),
    Recipe("muon-5ep", "resnet", 5, 1e-2, bs=256, opt="muon", wd=0., label_smoothing=0.1, zero_bn=False,
           compare_to="lesson-resnet", note="ours: resnet-5ep with Muon on the convs, AdamW on the rest"),
    # a seconds-long recipe for tests and smoke runs (`reproduce --only tiny --subset 600`)
    Recipe("tiny", "conv-bn", 2, 1e-2, bs=64, augment=("flip",), tta=True,
           note="smoke test: the small conv net, 2 epochs"),
]}


def get_recipe(name, **overrides):
    """The named recipe, with any non-None ``overrides`` (epochs, lr, bs, opt, sched, model,
    augment, augment_mode...) applied."""
    try:
        r = RECIPES[name]
    except KeyError:
        raise UnknownRecipeError(
            f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}") from None
    return replace(r, **{k: v for k, v in overrides.items() if v is not None})
