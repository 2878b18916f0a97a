"""Batch augmentations that run on the device: one random draw per image, or per batch.

``per_item=True`` (our recipes) gives each image its own draw. ``per_item=False`` is what the
lesson does (course22p2 nb 14): torchvision's transforms and its RandErase/RandCopy, applied
to a whole batch tensor, draw once and move, flip or patch every image of the batch the same
way; the lesson discusses this and keeps it, since each batch still gets a new draw.

Why not torchvision: it does not import beside torch 2.13 here, and applied to a batch
tensor its RandomCrop/RandomHorizontalFlip use one draw for the whole batch. These are a few
lines of indexing (airbench ``batch_flip_lr``: a random mask plus ``torch.where``).
RandErase and RandCopy follow course22p2 nb 14: patches of ``pct`` of each side, 0 to
``max_num`` of them per image, erased patches filled with noise of the batch's mean and std,
clamped to its range, so the batch statistics are preserved.
"""
import torch
from torch import nn

from torch_side.errors import UsageError

__all__ = ["random_crop", "random_flip", "rand_erase", "rand_copy", "RandomCrop",
           "RandomFlip", "RandErase", "RandCopy", "batch_tfms", "parse_augment", "AUGMENTS",
           "MODES", "LESSON_MODE"]


def _rand(n, x, generator=None, per_item=True):
    """Uniform draws on x's device (a seeded CPU ``generator`` is moved there, for tests).

    With ``per_item=False`` one draw is repeated ``n`` times: the whole batch moves together.
    """
    k = n if per_item else 1
    if generator is None:
        r = torch.rand(k, device=x.device)
    else:
        r = torch.rand(k, generator=generator).to(x.device)
    return r if per_item else r.expand(n)


def _shift(x, rows, cols):
    """Per-image gather: out[n, c, i, j] = x[n, c, rows[n, i], cols[n, j]]."""
    n = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x[n, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def random_crop(x, padding=1, fill=None, generator=None, per_item=True):
    """Pad each side by ``padding`` and crop back to the original size at a random offset.

    The border is filled with ``fill``, by default the batch minimum: on normalised
    Fashion-MNIST that is the black background, so cropping shifts the garment and keeps
    the batch statistics (the lesson's zero fill would add a grey frame).
    """
    N, _, H, W = x.shape
    fill = x.min() if fill is None else fill
    xp = nn.functional.pad(x - fill, (padding,) * 4) + fill
    off = torch.cat([_rand(N, x, generator, per_item), _rand(N, x, generator, per_item)])
    off = (off * (2 * padding + 1)).long().clamp_max(2 * padding)
    dy, dx = off[:N], off[N:]
    rows = dy[:, None] + torch.arange(H, device=x.device)
    cols = dx[:, None] + torch.arange(W, device=x.device)
    return _shift(xp, rows, cols).contiguous()


def random_flip(x, p=0.5, generator=None, per_item=True):
    """Mirror a random half of the images left-right (all or none of them if not per_item)."""
    mask = _rand(x.shape[0], x, generator, per_item) < p
    return torch.where(mask[:, None, None, None], x.flip(-1), x)


def _patch_mask(N, H, W, pct, x, generator, per_item=True):
    """A boolean (N, 1, H, W) mask of one pct-sized patch per image, plus its corner."""
    szx, szy = int(pct * H), int(pct * W)
    stx = (_rand(N, x, generator, per_item) * (1 - pct) * H).long()
    sty = (_rand(N, x, generator, per_item) * (1 - pct) * W).long()
    r = torch.arange(H, device=x.device)[None, :]
    c = torch.arange(W, device=x.device)[None, :]
    rm = (r >= stx[:, None]) & (r < stx[:, None] + szx)
    cm = (c >= sty[:, None]) & (c < sty[:, None] + szy)
    return (rm[:, :, None] & cm[:, None, :])[:, None], stx, sty


def _counts(N, max_num, x, generator, per_item=True):
    return (_rand(N, x, generator, per_item) * (max_num + 1)).long().clamp_max(max_num)


def rand_erase(x, pct=0.2, max_num=4, generator=None, per_item=True):
    """Replace 0..max_num patches per image by noise with the batch's mean/std and range."""
    N, _, H, W = x.shape
    xm, xs, mn, mx = x.mean(), x.std(), x.min(), x.max()
    num = _counts(N, max_num, x, generator, per_item)
    for k in range(max_num):
        mask, _, _ = _patch_mask(N, H, W, pct, x, generator, per_item)
        mask = mask & (num > k)[:, None, None, None]
        noise = (torch.randn(x.shape, device=x.device, dtype=x.dtype) if generator is None else
                 torch.randn(x.shape, generator=generator).to(x.device, x.dtype)) * xs + xm
        x = torch.where(mask, noise.clamp(mn, mx), x)
    return x


def rand_copy(x, pct=0.2, max_num=4, generator=None, per_item=True):
    """Copy 0..max_num patches per image from another random place in the same image."""
    N, _, H, W = x.shape
    num = _counts(N, max_num, x, generator, per_item)
    ar_h, ar_w = torch.arange(H, device=x.device), torch.arange(W, device=x.device)
    for k in range(max_num):
        mask, stx1, sty1 = _patch_mask(N, H, W, pct, x, generator, per_item)
        stx2 = (_rand(N, x, generator, per_item) * (1 - pct) * H).long()
        sty2 = (_rand(N, x, generator, per_item) * (1 - pct) * W).long()
        rows = (ar_h[None] - stx1[:, None] + stx2[:, None]).clamp(0, H - 1)
        cols = (ar_w[None] - sty1[:, None] + sty2[:, None]).clamp(0, W - 1)
        mask = mask & (num > k)[:, None, None, None]
        x = torch.where(mask, _shift(x, rows, cols), x)
    return x


class _Tfm(nn.Module):
    def __init__(self, fn, **kwargs):
        super().__init__()
        self.fn, self.kwargs = fn, kwargs

    def forward(self, x):
        return self.fn(x, **self.kwargs)

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.kwargs.items())


class RandomCrop(_Tfm):
    def __init__(self, padding=1, fill=None, per_item=True):
        super().__init__(random_crop, padding=padding, fill=fill, per_item=per_item)


class RandomFlip(_Tfm):
    def __init__(self, p=0.5, per_item=True):
        super().__init__(random_flip, p=p, per_item=per_item)


class RandErase(_Tfm):
    def __init__(self, pct=0.2, max_num=4, per_item=True):
        super().__init__(rand_erase, pct=pct, max_num=max_num, per_item=per_item)


class RandCopy(_Tfm):
    def __init__(self, pct=0.2, max_num=4, per_item=True):
        super().__init__(rand_copy, pct=pct, max_num=max_num, per_item=per_item)


_NAMED = {"crop": RandomCrop, "flip": RandomFlip, "erase": RandErase, "copy": RandCopy}
AUGMENTS = tuple(_NAMED)
MODES = ("batch", "item")  # one draw per batch (the lesson's default) or per image
LESSON_MODE = "batch"


def parse_augment(text):
    """``'crop,flip'`` -> ``('crop', 'flip')``; ``''`` or ``'none'`` -> ``()``."""
    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    unknown = [n for n in names if n not in _NAMED]
    if unknown:
        raise UsageError(f"unknown augmentation {unknown[0]!r}; known: {', '.join(_NAMED)}, none")
    return names


def batch_tfms(names, mode="item", crop_fill=None):
    """``('crop', 'flip', 'erase')`` -> an nn.Sequential applied to each training batch.

    ``mode='item'``: a draw per image; ``mode='batch'``: one draw per batch, as the lesson.
    ``crop_fill``: the crop's border value (None: the batch minimum; 0: the lesson's).
    """
    unknown = [n for n in names if n not in _NAMED]
    if unknown:
        raise UsageError(f"unknown augmentation {unknown}; known: {', '.join(_NAMED)}")
    if mode not in MODES:
        raise UsageError(f"unknown augmentation mode {mode!r}; known: {', '.join(MODES)}")
    kw = {"crop": {"fill": crop_fill}}
    return nn.Sequential(*[_NAMED[n](per_item=mode == "item", **kw.get(n, {})) for n in names])
