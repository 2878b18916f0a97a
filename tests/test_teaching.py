"""The lesson's teaching tools on small synthetic problems (CPU, seconds), and batch- vs
item-level augmentation."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
from functools import partial

import torch
from torch import nn

from torch_side.fashion.augment import batch_tfms, rand_erase, random_crop, random_flip
from torch_side.learn.callbacks import BatchTransformCB, HasLearnCB
from torch_side.fashion.data import DataLoaders
from torch_side.learn.learner import Learner, MomentumLearner, TrainLearner
from torch_side.fashion.models import act_gr
from torch_side.experiments.choices import _torch_onecycle
from torch_side.learn.summary import param_count
from torch_side.learn.teaching import ActivationStats, sched_values, show_batch


def _images(n=64, bs=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    batches = [(x[i:i + bs], y[i:i + bs]) for i in range(0, n, bs)]
    return DataLoaders(batches, batches[:1])


def _net(act=act_gr):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), act(), nn.Conv2d(4, 4, 3, stride=2),
                         act(), nn.Flatten(), nn.Linear(36, 3))


# -- batch- vs item-level augmentation ------------------------------------------------------
def _distinct(x):
    return torch.arange(64.).reshape(1, 1, 8, 8).repeat(32, 1, 1, 1) + 0 * x


def test_per_batch_flip_flips_all_or_none_per_item_flips_some():
    x = _distinct(torch.zeros(32, 1, 8, 8))
    for seed in range(6):
        out = random_flip(x, generator=torch.Generator().manual_seed(seed), per_item=False)
        flipped = (out == x.flip(-1)).flatten(1).all(1)
        assert flipped.all() or (~flipped).all()
    out = random_flip(x, generator=torch.Generator().manual_seed(0), per_item=True)
    n = int((out == x.flip(-1)).flatten(1).all(1).sum())
    assert 6 <= n <= 26  # about half of 32 (binomial, p=0.5: outside this is < 0.1 %)


def test_per_batch_crop_moves_every_image_the_same_way():
    x = _distinct(torch.zeros(32, 1, 8, 8))
    out = random_crop(x, padding=1, generator=torch.Generator().manual_seed(3), per_item=False)
    assert all(torch.equal(out[0], out[k]) for k in range(32))
    out = random_crop(x, padding=1, generator=torch.Generator().manual_seed(3), per_item=True)
    assert len({tuple(o.flatten().tolist()) for o in out}) > 3


def test_per_batch_erase_patches_the_same_place_in_every_image():
    x = torch.full((16, 1, 10, 10), 5.)
    x[:, :, 0, 0], x[:, :, 0, 1] = -5., 15.  # a range wide enough that no noise is clamped to 5
    out = rand_erase(x, generator=torch.Generator().manual_seed(1), per_item=False)
    masks = out != x
    assert masks.any()
    assert all(torch.equal(masks[0], masks[k]) for k in range(16))


def test_batch_tfms_mode_is_checked_and_passed():
    assert all(not m.kwargs["per_item"] for m in batch_tfms(("crop", "flip"), "batch"))
    assert all(m.kwargs["per_item"] for m in batch_tfms(("crop", "flip"), "item"))
    with pytest.raises(ValueError, match="unknown augmentation mode 'pixel'"):
        batch_tfms(("flip",), "pixel")


# -- ActivationStats -----------------------------------------------------------------------
def test_activation_stats_records_every_generalrelu_per_training_batch():
    dls = _images()
    stats = ActivationStats()
    learn = Learner(_net(), dls, lr=0.01, cbs=[stats])
    learn.fit(2)
    assert len(stats.names) == 2 and stats.handles == []  # hooks removed after the fit
    st = stats.stats()
    assert [len(m) for m in st["means"]] == [8, 8]  # 4 training batches x 2 epochs
    # histogram counts: every activation in [0, 10] lands in a bin
    assert float(stats.hist_matrix(0).sum(0)[0]) == pytest.approx(16 * 4 * 8 * 8, abs=50)
    # GeneralRelu(sub=0.4) outputs at least -0.4*... a mean near zero, std below 2
    assert all(-1 < v < 2 for v in st["means"][0]) and all(0 < v < 3 for v in st["stds"][0])
    assert all(0 <= d <= 1 for d in st["dead"][1])
    for f in (stats.color_dim, stats.dead_chart, stats.plot_stats):
        assert f() is not None


def test_activation_stats_without_generalrelu_says_so():
    learn = Learner(_net(act=nn.ReLU), _images(), lr=0.01, cbs=[ActivationStats()])
    with pytest.raises(ValueError, match="no GeneralRelu"):
        learn.fit(1)


def test_activation_stats_takes_any_selection():
    stats = ActivationStats(select=lambda m: isinstance(m, nn.Conv2d))
    Learner(_net(), _images(), lr=0.01, cbs=[stats]).fit(1)
    assert len(stats.names) == 2 and stats.names == ["0", "2"]


# -- show_batch ------------------------------------------------------------------------------
def test_show_batch_shows_the_batch_after_the_learners_augmentation_and_trains_nothing():
    model = _net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    learn = Learner(model, _images(), lr=0.5, cbs=[BatchTransformCB(lambda x: x * 0 + 7)])
    fig = show_batch(learn, n=5)
    assert fig.xb.shape == (5, 1, 8, 8) and bool((fig.xb == 7).all())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# -- schedules ---------------------------------------------------------------------------------
def test_sched_values_of_torch_onecycle_before_training():
    steps = 100
    v = sched_values(partial(_torch_onecycle, max_lr=0.02, total_steps=steps),
                     torch.optim.AdamW, steps, lr=0.02)
    assert v["lr"][0] == pytest.approx(0.02 / 25)  # PyTorch's div_factor
    assert max(v["lr"]) == pytest.approx(0.02, rel=1e-3)
    assert v["lr"].index(max(v["lr"])) in (29, 30)  # pct_start 0.3
    assert v["lr"][-1] < 1e-5
    assert v["mom"][0] == pytest.approx(0.95) and min(v["mom"]) == pytest.approx(0.85, abs=1e-3)


def test_sched_values_steps_epoch_schedulers_every_epoch():
    v = sched_values(partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5),
                     torch.optim.SGD, 6, lr=1., step_every=3)
    assert v["lr"] == [1., 1., 1., .5, .5, .5] and v["mom"] == [0.] * 6


# -- HasLearnCB, TrainLearner, MomentumLearner, Learner.lr_find / .summary --------------------
def test_has_learn_cb_holds_the_learner_during_the_fit_only():
    seen = []

    class Probe(HasLearnCB):
        def after_batch(self, learn):
            seen.append(self.learn is learn)
    p = Probe()
    TrainLearner(_net(), _images(), lr=0.01, cbs=[p]).fit(1)
    assert seen and all(seen) and p.learn is None


def test_momentum_learner_keeps_mom_times_the_gradients():
    learn = MomentumLearner(_net(), _images(), lr=0.01, mom=0.85)
    learn.fit(1, valid=False)
    g = [p.grad.clone() for p in learn.model.parameters()]
    learn.zero_grad()
    for a, p in zip(g, learn.model.parameters()):
        torch.testing.assert_close(p.grad, 0.85 * a)


def test_lr_find_and_summary_are_learner_methods():
    model = _net()
    before = [p.clone() for p in model.parameters()]
    learn = Learner(model, _images(n=256), lr=0.01, opt_func=torch.optim.Adam)
    lrs, losses = learn.lr_find(start_lr=1e-4, gamma=1.5, max_epochs=3)
    assert len(lrs) == len(losses) > 3 and lrs[1] == pytest.approx(1.5e-4)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    df = learn.summary(print_table=False)
    assert df.attrs["total_params"] == param_count(model)


# -- the pictures: what a newcomer reads on them ------------------------------------------------
def test_activation_plots_name_layers_label_axes_and_keep_the_legend_outside():
    from torch_side.fashion.models import resnet
    from torch_side.learn.teaching import layer_label
    m = resnet()
    assert layer_label(m, "0.convs.0.2") == "ResBlock 1: conv 1"
    assert layer_label(m, "3.act") == "ResBlock 4: output"
    assert layer_label(_net(), "1") == "layer 2 (GeneralRelu)"
    stats = ActivationStats()
    big = nn.Sequential(*[nn.Sequential(nn.Conv2d(1 if i == 0 else 2, 2, 3, padding=1), act_gr())
                          for i in range(12)], nn.Flatten(), nn.Linear(128, 3))
    Learner(big, _images(), lr=0.01, cbs=[stats]).fit(1)
    assert stats.labels[0] == "layer 1 (conv)"
    fig = stats.plot_stats()
    ax = fig.axes[1]
    colours = {(tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color(),
                line.get_linestyle()) for line in ax.get_lines()}
    assert len(ax.get_lines()) == 12 and len(colours) == 12  # twelve layers, twelve looks
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 > ax.get_window_extent().x1  # beside the curves, not over them
    assert ax.get_xlabel() == "training batch"
    cd = stats.color_dim()
    assert all(a.get_xlabel() == "training batch" and a.get_ylabel() == "|activation|"
               for a in cd.axes[:12])
    assert cd.axes[0].get_title() == "layer 1 (conv)"


def test_lr_find_suggestion_is_a_tenth_of_the_smoothed_minimum_and_on_the_plot():
    from torch_side.learn.lr_find import plot_lr_find, smooth, suggest_lr
    lrs = [1e-5 * 1.3 ** i for i in range(40)]
    losses = [2.3 - 0.04 * i + (0.5 if i % 2 else 0) for i in range(30)] + [1.5 + 0.3 * i for i in range(10)]
    sm = smooth(losses)
    lr, loss = suggest_lr(lrs, losses)
    i = min(range(40), key=sm.__getitem__)
    assert lr == pytest.approx(lrs[i] / 10)
    fig = plot_lr_find(lrs, losses)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "smoothed" in labels and any(t.startswith(f"suggestion: a tenth, lr {lr:.2g}") for t in labels)
    assert suggest_lr([], []) is None


def test_show_batch_titles_the_augmentation():
    learn = Learner(_net(), _images(), lr=0.5)
    fig = show_batch(learn, n=3, title="augmentation crop, flip (one random draw per item)")
    assert fig._suptitle.get_text() == "augmentation crop, flip (one random draw per item)"
