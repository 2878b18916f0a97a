"""Fashion-MNIST: find the IDX files, verify them, and keep the whole set on the device.

Why (airbench ``CifarLoader``): with 60,000 28x28 images the set is 47 MB as uint8, so it
lives on the device as one tensor, is normalised there once, and batches are slices of a
permutation. No per-image Python runs in the training loop. ``per_item_dls`` builds the
lesson's Dataset + DataLoader pipeline for the speed comparison in bench/train_speed.py.
"""
import functools
import gzip
import zlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from torch_side.errors import DataError, DatasetMissingError, DeviceError

__all__ = [
    "DatasetMissingError", "DatasetError", "MEAN", "STD", "DEBIAN_DIR", "DEBIAN_PACKAGE",
    "OFFICIAL_URL", "FILES", "find_dataset", "read_idx", "load_fashion_mnist",
    "DeviceLoader", "DataLoaders", "fashion_dls", "per_item_dls", "resolve_device", "test_size_for",
]

MEAN, STD = 0.28, 0.35  # the lesson's xmean, xstd (measured: 0.2860 / 0.3530)
DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
OFFICIAL_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}
N_CLASSES = 10


class DatasetError(DataError):
    """The files were found but their contents are not Fashion-MNIST's."""


def default_cache_dir():
    return Path(os.environ.get("XLOPT_DATA",
                               Path.home() / ".cache" / "xlopt" / "fashion-mnist"))


def _has_all(d):
    return d is not None and all((Path(d) / f).is_file()
                                 for imgs, lbls, _ in FILES.values() for f in (imgs, lbls))


def find_dataset(data_dir=None, download=False):
    """The directory holding the four files: ``data_dir``, else Debian's, else the cache.

    With ``download=True`` and no copy found, fetch them from the official URL into the
    cache. Otherwise raise :class:`DatasetMissingError` saying where we looked and how to
    get the files.
    """
    if data_dir:  # a folder the user named is the only one looked in: never the system copy instead
        need = ", ".join(f for v in FILES.values() for f in v[:2])
        if not Path(data_dir).is_dir():
            raise DatasetMissingError(f"--data-dir {data_dir} is not a folder; name the folder holding {need}, "
                                      "or leave --data-dir out to use the installed copy")
        if not _has_all(data_dir):
            missing = [f for v in FILES.values() for f in v[:2] if not (Path(data_dir) / f).is_file()]
            raise DatasetMissingError(f"--data-dir {data_dir} lacks {', '.join(missing)}; put the four "
                                      "Fashion-MNIST IDX files there, or leave --data-dir out to use the installed copy")
        return Path(data_dir)
    tried = [DEBIAN_DIR, default_cache_dir()]
    for d in tried:
        if _has_all(d):
            return Path(d)
    if download:
        return _download(default_cache_dir())
    raise DatasetMissingError(
        "Fashion-MNIST not found (looked in: " + ", ".join(str(d) for d in tried) + "). "
        f"Install the Debian package `{DEBIAN_PACKAGE}` (files under {DEBIAN_DIR}), or put "
        f"{', '.join(f for v in FILES.values() for f in v[:2])} in one of those directories, "
        f"or download them from {OFFICIAL_URL} (pass download=True / --download).")


def _download(dest):
    dest.mkdir(parents=True, exist_ok=True)
    for imgs, lbls, _ in FILES.values():
        for f in (imgs, lbls):
            target = dest / f
            if target.is_file():
                continue
            fd, tmp = tempfile.mkstemp(dir=dest, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(OFFICIAL_URL + f,
                                                                        timeout=60) as r:
                    shutil.copyfileobj(r, out)
                os.replace(tmp, target)
            except OSError as e:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise DatasetMissingError(
                    f"could not download {OFFICIAL_URL + f} ({e}); install the Debian "
                    f"package `{DEBIAN_PACKAGE}` or copy the files to {dest}") from None
    return dest


def read_idx(path):
    """Read an IDX file, gzip-compressed or not (Debian's copies are plain gzip)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise DatasetError(f"{path} is a damaged gzip file ({type(e).__name__}: truncated or corrupt); "
                               "copy it again from the dataset") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims).copy()  # writable, so torch can wrap it without a warning


def _check(split, x, y, n):
    if x.shape != (n, 28, 28):
        raise DatasetError(f"{split} images have shape {x.shape}, expected ({n}, 28, 28)")
    if y.shape != (n,):
        raise DatasetError(f"{split} labels have shape {y.shape}, expected ({n},)")
    counts = np.bincount(y, minlength=N_CLASSES)
    if len(counts) != N_CLASSES or not (counts == n // N_CLASSES).all():
        raise DatasetError(f"{split} label counts {counts.tolist()} are not "
                           f"{n // N_CLASSES} per class for {N_CLASSES} classes")


@functools.lru_cache(maxsize=4)
def _load(d):
    out = {}
    for split, (imgs, lbls, n) in FILES.items():
        x, y = read_idx(Path(d) / imgs), read_idx(Path(d) / lbls)
        _check(split, x, y, n)
        out[split] = (x, y)
    return out


def load_fashion_mnist(data_dir=None, download=False):
    """``{'train': (x, y), 'test': (x, y)}`` as uint8 / uint8 numpy arrays, verified."""
    return _load(str(find_dataset(data_dir, download)))


def resolve_device(name):
    """``'cpu'``/``'cuda'``/``'auto'`` to a torch.device; cuda without a GPU is an error."""
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked for but no CUDA GPU is available "
                           f"(torch {torch.__version__}, built "
                           f"{'with' if torch.version.cuda else 'without'} CUDA); "
                           "use --device cpu")
    return dev


class DeviceLoader:
    """Batches sliced from one normalised tensor that already lives on ``device``."""

    def __init__(self, x, y, bs, shuffle=False, device="cpu", drop_last=False, seed=0,
                 channels_last=False, mean=MEAN, std=STD):
        dev = torch.device(device)
        x = torch.as_tensor(np.asarray(x)).to(dev)  # uint8 over the bus, once
        x = x.float().div_(255).sub_(mean).div_(std).unsqueeze(1)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self.x, self.y = x, torch.as_tensor(np.asarray(y), dtype=torch.long).to(dev)
        self.bs, self.shuffle, self.drop_last = bs, shuffle, drop_last
        self.gen = torch.Generator().manual_seed(seed)  # CPU generator: same order on any device

    @classmethod
    def from_tensors(cls, x, y, bs, shuffle=False, seed=0, drop_last=False):
        """A loader over tensors already normalised and on their device (a split of another's)."""
        self = cls.__new__(cls)
        self.x, self.y, self.bs, self.shuffle, self.drop_last = x, y, bs, shuffle, drop_last
        self.gen = torch.Generator().manual_seed(seed)
        return self

    def __len__(self):
        n = len(self.y)
        return n // self.bs if self.drop_last else -(-n // self.bs)

    def __iter__(self):
        n = len(self.y)
        if self.shuffle:
            idx = torch.randperm(n, generator=self.gen).to(self.x.device)
            for i in range(len(self)):
                j = idx[i * self.bs:(i + 1) * self.bs]
                yield self.x[j], self.y[j]
        else:
            for i in range(len(self)):
                yield self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]


class DataLoaders:
    """What the Learner needs: ``.train`` and ``.valid`` iterables of (xb, yb)."""

    def __init__(self, train, valid):
        self.train, self.valid = train, valid


def test_size_for(subset, test_size=None):
    """The test images a run uses: ``test_size`` if given; with a training ``subset``, a sixth of it
    and at least 100; else None, all 10,000. The one place this rule is written."""
    if test_size:
        return test_size
    return None if subset is None else max(subset // 6, 100)


def _take(x, y, n, seed):
    if n is not None and n > len(y):
        raise DatasetError(f"--subset {n} is more than the {len(y)} images there are; pass at most {len(y)} "
                           "(or leave it out for all)")
    if n is None or n == len(y):
        return x, y
    idx = np.random.default_rng(seed).permutation(len(y))[:n]
    return x[idx], y[idx]


def fashion_dls(bs=1024, device="cpu", subset=None, valid_subset=None, seed=0, data_dir=None,
                download=False, channels_last=False):
    """Train (shuffled) and test loaders on ``device``; ``subset`` takes a random sample."""
    data = load_fashion_mnist(data_dir, download)
    xt, yt = _take(*data["train"], subset, seed)
    xv, yv = _take(*data["test"], valid_subset, seed)
    return DataLoaders(
        DeviceLoader(xt, yt, bs, shuffle=True, device=device, seed=seed,
                     channels_last=channels_last),
        DeviceLoader(xv, yv, bs * 2, device=device, channels_last=channels_last))


class _PerItemDataset(torch.utils.data.Dataset):
    """The lesson's pipeline, item by item: a PIL image (as torchvision's FashionMNIST hands
    out), ``to_tensor`` (/255), normalise, and with ``augment`` a padded random crop and a
    random flip, each done in Python per image before the DataLoader collates them."""

    def __init__(self, x, y, augment=False, mean=MEAN, std=STD):
        self.x, self.y, self.augment, self.mean, self.std = x, y, augment, mean, std
        try:
            from PIL import Image
            self._pil = Image
        except ImportError:  # without Pillow, the same steps on a small tensor
            self._pil = None

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        arr = self.x[i]
        if self._pil is not None:
            arr = np.asarray(self._pil.fromarray(arr, mode="L"))
        img = torch.from_numpy(np.array(arr, dtype=np.uint8)).float().div(255).unsqueeze(0)
        img = (img - self.mean) / self.std
        if self.augment:
            img = torch.nn.functional.pad(img, (1, 1, 1, 1), value=float(img.min()))
            dy, dx = np.random.randint(0, 3, size=2)
            img = img[:, dy:dy + 28, dx:dx + 28]
            if np.random.rand() < 0.5:
                img = img.flip(-1)
        return img, int(self.y[i])


def per_item_dls(bs=1024, subset=None, valid_subset=None, seed=0, data_dir=None,
                 num_workers=0, augment=False):
    """Dataset + DataLoader + per-item transforms, as the lesson built them (for comparison)."""
    data = load_fashion_mnist(data_dir)
    xt, yt = _take(*data["train"], subset, seed)
    xv, yv = _take(*data["test"], valid_subset, seed)
    mk = torch.utils.data.DataLoader
    return DataLoaders(
        mk(_PerItemDataset(xt, yt, augment), batch_size=bs, shuffle=True,
           num_workers=num_workers),
        mk(_PerItemDataset(xv, yv), batch_size=bs * 2, num_workers=num_workers))
