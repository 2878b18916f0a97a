"""The miniai-shaped Learner and its callbacks, on small synthetic problems (CPU, seconds)."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
from functools import partial

import torch
from torch import nn

from torch_side.learn.record import BatchSchedCB, EpochSchedCB, RecorderCB
from torch_side.learn.preds import CapturePreds, SingleBatchCB
from torch_side.learn.callbacks import DeviceCB, MetricsCB, ProgressCB, NaNGuardCB, accuracy
from torch_side.learn.lr_find import lr_find
from torch_side.fashion.data import DataLoaders
from torch_side.learn.learner import Callback, CancelFitException, Learner, NonFiniteLossError
from torch_side.learn.summary import format_summary, summary


def _blobs(n=512, bs=64, seed=0):
    """Four Gaussian blobs in 2-D: a problem a tiny MLP solves in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[2., 2.], [-2., 2.], [-2., -2.], [2., -2.]])
    y = torch.randint(0, 4, (n,), generator=g)
    x = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    batches = [(x[i:i + bs], y[i:i + bs]) for i in range(0, n, bs)]
    return DataLoaders(batches, batches[:2])


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 4))


class _Losses(Callback):
    def before_fit(self, learn):
        self.losses = []

    def after_batch(self, learn):
        if learn.training:
            self.losses.append(learn.loss.item())


def test_learner_learns_loss_falls_5x():
    rec = _Losses()
    metrics = MetricsCB(accuracy, logger=None)
    learn = Learner(_mlp(), _blobs(), lr=0.1, cbs=[rec, metrics, DeviceCB("cpu")])
    learn.fit(5)
    first, last = sum(rec.losses[:4]) / 4, sum(rec.losses[-4:]) / 4
    assert last * 5 <= first, (first, last)  # stated factor: >= 5x lower
    df = metrics.df
    assert list(df.columns) == ["epoch", "phase", "loss", "accuracy"]
    assert len(df) == 10 and df.iloc[-1]["accuracy"] >= 0.95


def test_callbacks_run_in_order_and_only_defined_hooks():
    calls = []

    def mk(name, order):
        class C(Callback):
            def before_fit(self, learn):
                calls.append(name)
        C.order = order
        return C()

    class NoHooks(Callback):
        order = -5  # defines nothing: must simply be skipped

    learn = Learner(_mlp(), _blobs(), cbs=[mk("b", 2), mk("a", -1), NoHooks(), mk("c", 7)])
    learn.fit(1, cbs=[SingleBatchCB()])
    assert calls == ["a", "b", "c"]


def test_event_sequence_and_cancel_batch():
    events = []

    class Log(Callback):
        def __getattr__(self, nm):
            if nm.startswith(("before_", "after_", "cleanup_")):
                return lambda learn: events.append(nm)
            raise AttributeError(nm)

    learn = Learner(_mlp(), _blobs(n=64, bs=64), cbs=[Log()])
    learn.fit(1, valid=False)
    assert events[:3] == ["before_fit", "before_epoch", "before_batch"]
    assert events[3:9] == ["after_predict", "after_loss", "after_backward", "after_step",
                           "after_batch", "cleanup_batch"]
    assert events[-3:] == ["cleanup_epoch", "after_fit", "cleanup_fit"]


def test_per_fit_callbacks_are_removed_even_on_error():
    learn = Learner(_mlp(), _blobs(), cbs=[DeviceCB("cpu")])
    extra = SingleBatchCB()
    learn.fit(1, cbs=[extra])
    assert extra not in learn.cbs and len(learn.cbs) == 1

    class Boom(Callback):
        def before_batch(self, learn):
            raise KeyError("boom")

    boom = Boom()
    with pytest.raises(KeyError):
        learn.fit(1, cbs=[boom])
    assert boom not in learn.cbs and len(learn.cbs) == 1


def test_nan_loss_stops_with_epoch_and_batch_in_message():
    class PoisonAt(Callback):
        """Make the 3rd training batch of the 2nd epoch produce a NaN loss."""
        def before_batch(self, learn):
            if learn.training and learn.epoch == 1 and learn.iter == 2:
                xb, yb = learn.batch
                learn.batch = (xb * float("nan"), yb)

    saved = []

    class Save(Callback):
        def after_epoch(self, learn):
            saved.append(learn.epoch)

    learn = Learner(_mlp(), _blobs(), cbs=[NaNGuardCB(), PoisonAt(), Save()])
    with pytest.raises(NonFiniteLossError, match=r"epoch 2 of 3, batch 3 \(training\)"):
        learn.fit(3)
    assert issubclass(NonFiniteLossError, RuntimeError)
    assert saved == [0, 0]  # epoch 0 train+valid completed; nothing after the bad batch


def test_nan_guard_checking_every_k_batches_still_names_the_first_bad_batch():
    class PoisonAt(Callback):
        def before_batch(self, learn):
            if learn.training and learn.iter >= 2:
                xb, yb = learn.batch
                learn.batch = (xb * float("nan"), yb)

    learn = Learner(_mlp(), _blobs(), cbs=[NaNGuardCB(every=16), PoisonAt()])
    with pytest.raises(NonFiniteLossError, match=r"epoch 1 of 1, batch 3 \(training\)"):
        learn.fit(1)  # 8 batches < 16: found by the end-of-epoch check


def test_recorder_under_onecycle_with_torch_adam_cycles_beta1():
    total = 3 * len(_blobs().train)
    sched = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.05, total_steps=total)
    rec = RecorderCB(lr=lambda cb: cb.pg["lr"], mom=lambda cb: cb.pg["betas"][0])
    learn = Learner(_mlp(), _blobs(), lr=0.05, opt_func=torch.optim.Adam,
                    cbs=[BatchSchedCB(sched), rec])
    learn.fit(3)
    lrs, moms = rec.recs["lr"], rec.recs["mom"]
    assert len(lrs) == total
    peak = max(range(total), key=lrs.__getitem__)
    assert lrs[peak] == pytest.approx(0.05, rel=1e-2)  # 24 steps: the exact peak falls between two
    assert lrs[0] == pytest.approx(0.05 / 25, rel=1e-3)  # OneCycleLR div_factor=25
    assert lrs[-1] < 1e-5
    assert max(moms) == pytest.approx(0.95) and min(moms) == pytest.approx(0.85, abs=1e-2)
    assert moms[peak] == pytest.approx(0.85, abs=1e-2)  # beta1 is lowest where lr peaks
    assert list(rec.df.columns) == ["lr", "mom"]


def test_epoch_sched_steps_once_per_epoch():
    sched = partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    rec = RecorderCB(lr=lambda cb: cb.pg["lr"])
    learn = Learner(_mlp(), _blobs(n=128, bs=64), lr=0.1, cbs=[EpochSchedCB(sched), rec])
    learn.fit(3)
    assert rec.values("lr") == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_lr_find_stops_and_returns():
    learn = Learner(_mlp(), _blobs(), cbs=[NaNGuardCB()])
    before = [p.clone() for p in learn.model.parameters()]
    lrs, losses = lr_find(learn, start_lr=1e-5, gamma=1.3, max_mult=3)
    assert len(lrs) == len(losses) > 10
    assert lrs[0] == pytest.approx(1e-5)
    assert all(b == pytest.approx(a * 1.3) for a, b in zip(lrs, lrs[1:]))
    assert lrs[-1] < 1e-5 * 1.3 ** 80  # it stopped (loss blew up) well before 10 epochs
    assert all(torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))


def test_capture_preds_and_single_batch():
    cp = CapturePreds()
    learn = Learner(_mlp(), _blobs(), cbs=[cp])
    learn.fit(1, train=False)
    assert cp.all_preds.shape == (128, 4) and cp.all_targs.shape == (128,)
    with pytest.raises(CancelFitException):
        SingleBatchCB().after_batch(learn)


def test_progress_cb_runs_without_a_notebook():
    learn = Learner(_mlp(), _blobs(), cbs=[MetricsCB(accuracy, logger=None), ProgressCB(plot=True)])
    learn.fit(1)


def test_summary_totals_and_flops():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 10))
    df = summary(model, torch.zeros(2, 1, 8, 8), print_table=False)
    assert list(df["Module"]) == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert list(df["Params"]) == [40, 0, 0, 2570]
    assert df.attrs["total_params"] == 2610
    # lesson's count: the 4-D kernel (36) x h*w (64) + bias (4), then the Linear's numel
    assert df.attrs["total_mflops"] == pytest.approx((36 * 64 + 4 + 2570) / 1e6)
    assert df.iloc[0]["Output"] == (2, 4, 8, 8)
    assert "Tot params: 2,610" in format_summary(df)


def test_epoch_table_reads_like_fastai():
    lines = []
    metrics = MetricsCB(accuracy, logger=lines.append)
    Learner(_mlp(), _blobs(), lr=0.1, cbs=[metrics]).fit(3)
    assert lines[0].split() == ["epoch", "train_loss", "valid_loss", "accuracy", "time"]
    assert len(lines) == 4  # the header, then one line per epoch, as it ends
    for k, line in enumerate(lines[1:]):
        ep, train, valid, acc, t = line.split()
        assert int(ep) == k + 1  # counted from 1
        rows = {r["phase"]: r for r in metrics.log if r["epoch"] == k}
        assert float(train) == pytest.approx(rows["train"]["loss"], abs=6e-5)
        assert float(valid) == pytest.approx(rows["valid"]["loss"], abs=6e-5)
        assert float(acc) == pytest.approx(rows["valid"]["accuracy"], abs=6e-5)
        assert t.count(":") == 1
    lines.clear()  # training only: the line comes after the training phase, valid_loss empty
    Learner(_mlp(), _blobs(), lr=0.1, cbs=[MetricsCB(accuracy, logger=lines.append)]).fit(1, valid=False)
    assert len(lines) == 2 and len(lines[1].split()) == 4


def test_progress_bar_shows_every_batchs_loss(monkeypatch):
    from xlopt.core import progress
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: True)
    shown = []

    class Spy(Callback):
        order = ProgressCB.order + 1

        def after_batch(self, learn):
            if learn.training:
                shown.append((learn.dl.postfix, learn.loss.item()))
    import io
    Learner(_mlp(), _blobs(), lr=0.1, cbs=[MetricsCB(accuracy, logger=None), ProgressCB(file=io.StringIO()),
                                           Spy()]).fit(1)
    assert len(shown) == 8  # 512 images in batches of 64
    assert all(postfix == f"loss={loss:.3f}" for postfix, loss in shown)
