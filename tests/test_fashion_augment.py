"""Batch augmentations keep shapes and statistics; TTA and ensembles average predictions."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import torch
import torch.nn.functional as F
from torch import nn

from torch_side.fashion.augment import (batch_tfms, rand_copy, rand_erase, random_crop, random_flip)
from torch_side.learn.callbacks import DeviceCB
from torch_side.learn.preds import capture_preds
from torch_side.fashion.data import DataLoaders, fashion_dls
from torch_side.learn.learner import Learner
from torch_side.learn.preds import FlipCB, average_preds, ensemble_preds, tta_preds


@pytest.fixture(scope="module")
def batch():
    dls = fashion_dls(bs=1024, subset=1024, valid_subset=100, seed=1)
    return next(iter(dls.train))[0]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_crop_is_a_shift_of_at_most_one_pixel(batch):
    y = random_crop(batch, padding=1, generator=_gen())
    assert y.shape == batch.shape
    xp = F.pad(batch - batch.min(), (1, 1, 1, 1)) + batch.min()
    for i in range(64):
        assert any(torch.equal(y[i], xp[i, :, a:a + 28, b:b + 28])
                   for a in range(3) for b in range(3))
    # the background fill keeps the batch statistics: mean within 0.02, std within 2 %
    assert float(y.mean()) == pytest.approx(float(batch.mean()), abs=0.02)
    assert float(y.std()) == pytest.approx(float(batch.std()), rel=0.02)


def test_flip_mirrors_about_half(batch):
    y = random_flip(batch, generator=_gen())
    flipped = [not torch.equal(y[i], batch[i]) for i in range(len(batch))]
    assert all(torch.equal(y[i], batch[i].flip(-1)) for i in range(len(batch)) if flipped[i])
    assert 0.4 < sum(flipped) / len(batch) < 0.6
    assert float(y.mean()) == pytest.approx(float(batch.mean()), abs=1e-5)


def test_rand_erase_keeps_shape_and_statistics(batch):
    y = rand_erase(batch, pct=0.2, max_num=4, generator=_gen())
    assert y.shape == batch.shape
    changed = (y != batch).flatten(1).any(1).float().mean()
    assert 0.6 < float(changed) < 0.95  # 0 patches for ~1/5 of the images
    assert float(y.mean()) == pytest.approx(float(batch.mean()), abs=0.03)
    assert float(y.std()) == pytest.approx(float(batch.std()), rel=0.03)
    assert float(y.min()) >= float(batch.min()) and float(y.max()) <= float(batch.max())
    # each patch is int(0.2 * 28) = 5 pixels a side: at most 4 * 25 pixels per image change
    assert int((y != batch).flatten(1).sum(1).max()) <= 100


def test_rand_copy_copies_pixels_from_the_same_image(batch):
    y = rand_copy(batch, pct=0.2, max_num=4, generator=_gen())
    assert y.shape == batch.shape
    assert int((y != batch).flatten(1).sum(1).max()) <= 100
    for i in range(32):  # every value in the output already existed in that image
        assert set(y[i].unique().tolist()) <= set(batch[i].unique().tolist())
    assert float(y.mean()) == pytest.approx(float(batch.mean()), abs=0.03)
    assert float(y.std()) == pytest.approx(float(batch.std()), rel=0.03)


def test_batch_tfms_by_name(batch):
    tfm = batch_tfms(("crop", "flip", "erase", "copy"))
    assert tfm(batch).shape == batch.shape
    with pytest.raises(ValueError, match="unknown augmentation"):
        batch_tfms(("rotate",))


class _Fixed(nn.Module):
    """A 'model' whose logits are a fixed function of the left half of the image."""
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x[..., :14].flatten(1) @ self.w


def _dls(n=96):
    torch.manual_seed(0)
    x, y = torch.randn(n, 1, 28, 28), torch.randint(0, 10, (n,))
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, n, 32)]
    return DataLoaders(batches, batches), x, y


def test_tta_averages_plain_and_flipped_predictions():
    dls, x, y = _dls()
    w = torch.randn(28 * 14, 10)
    learn = Learner(_Fixed(w), dls, opt_func=None, cbs=[DeviceCB("cpu")])
    p, t = tta_preds(learn)
    expected = (F.softmax(x[..., :14].flatten(1) @ w, 1) +
                F.softmax(x.flip(-1)[..., :14].flatten(1) @ w, 1)) / 2
    assert torch.equal(t, y)
    assert torch.allclose(p, expected, atol=1e-6)
    assert torch.allclose(p.sum(1), torch.ones(len(y)), atol=1e-5)
    pf, _ = capture_preds(learn, cbs=[FlipCB()])
    assert torch.allclose(pf, x.flip(-1)[..., :14].flatten(1) @ w, atol=1e-5)


def test_ensemble_averages_learners():
    dls, x, y = _dls()
    ws = [torch.randn(28 * 14, 10) for _ in range(3)]
    learners = [Learner(_Fixed(w), dls, opt_func=None) for w in ws]
    p, t = ensemble_preds(learners)
    expected = sum(F.softmax(x[..., :14].flatten(1) @ w, 1) for w in ws) / 3
    assert torch.equal(t, y) and torch.allclose(p, expected, atol=1e-6)
    p_tta, _ = ensemble_preds(learners, tta=True)
    assert p_tta.shape == (len(y), 10)
    assert torch.allclose(p_tta.sum(1), torch.ones(len(y)), atol=1e-5)


def test_average_preds_of_identical_is_identity():
    a = torch.randn(5, 10)
    assert torch.allclose(average_preds([a, a], softmax=False), a)
