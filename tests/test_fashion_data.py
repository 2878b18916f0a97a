"""The Fashion-MNIST loader on the real IDX files, and its error messages."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import gzip

import numpy as np
import torch

from torch_side.fashion import data as D

pytestmark = pytest.mark.skipif(not D._has_all(D.DEBIAN_DIR),
                                reason=f"Debian package {D.DEBIAN_PACKAGE} not installed")


def test_real_files_shapes_and_label_counts():
    d = D.load_fashion_mnist()
    (xt, yt), (xv, yv) = d["train"], d["test"]
    assert xt.shape == (60_000, 28, 28) and xt.dtype == np.uint8
    assert xv.shape == (10_000, 28, 28) and yv.shape == (10_000,)
    assert np.bincount(yt).tolist() == [6000] * 10
    assert np.bincount(yv).tolist() == [1000] * 10


@pytest.mark.slow
def test_pixel_statistics_and_device_normalisation():
    xt = D.load_fashion_mnist()["train"][0]
    assert (xt / 255).mean() == pytest.approx(0.2860, abs=1e-4)
    assert (xt / 255).std() == pytest.approx(0.3530, abs=1e-4)
    dl = D.DeviceLoader(xt, np.zeros(len(xt), dtype=np.int64), bs=4096, device="cpu")
    # normalised with the lesson's rounded 0.28 / 0.35: mean (0.2860-0.28)/0.35, std 0.353/0.35
    assert float(dl.x.mean()) == pytest.approx((0.2860 - 0.28) / 0.35, abs=1e-3)
    assert float(dl.x.std()) == pytest.approx(0.3530 / 0.35, abs=1e-3)
    assert dl.x.shape == (60_000, 1, 28, 28) and dl.x.dtype == torch.float32


def test_batches_are_slices_of_a_permutation():
    dls = D.fashion_dls(bs=1000, subset=2500, valid_subset=300, seed=3)
    assert len(dls.train) == 3 and len(dls.valid) == 1
    seen = torch.cat([yb for _, yb in dls.train])
    assert len(seen) == 2500 and sorted(seen.tolist()) == sorted(dls.train.y.tolist())
    xb, yb = next(iter(dls.train))
    assert xb.shape == (1000, 1, 28, 28) and yb.dtype == torch.long
    first = [yb.tolist() for _, yb in dls.train]
    assert first != [yb.tolist() for _, yb in dls.train]  # reshuffled each epoch
    v1 = torch.cat([yb for _, yb in dls.valid])
    assert torch.equal(v1, torch.cat([yb for _, yb in dls.valid]))  # valid order is fixed


def test_plain_idx_files_are_read_too(tmp_path):
    for name in ("t10k-labels-idx1-ubyte.gz",):
        raw = gzip.decompress((D.DEBIAN_DIR / name).read_bytes())
        (tmp_path / "plain").write_bytes(raw)
        assert np.array_equal(D.read_idx(tmp_path / "plain"), D.read_idx(D.DEBIAN_DIR / name))


def test_missing_dataset_names_package_path_and_url(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "DEBIAN_DIR", tmp_path / "nothing-here")
    monkeypatch.setenv("XLOPT_DATA", str(tmp_path / "no-cache"))
    with pytest.raises(D.DatasetMissingError) as e:
        D.find_dataset()
    msg = str(e.value)
    assert D.DEBIAN_PACKAGE in msg and "nothing-here" in msg and D.OFFICIAL_URL in msg


def _write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.tobytes()))


def test_wrong_shapes_are_refused(tmp_path):
    for imgs, lbls, n in D.FILES.values():
        _write_idx(tmp_path / imgs, np.zeros((n, 27, 28)))  # one row short
        _write_idx(tmp_path / lbls, np.repeat(np.arange(10), n // 10))
    msg = r"train images have shape \(60000, 27, 28\), expected \(60000, 28, 28\)"
    with pytest.raises(D.DatasetError, match=msg):
        D.load_fashion_mnist(tmp_path)


def test_truncated_file_is_refused(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(10))
    with pytest.raises(D.DatasetError, match="header says"):
        D.read_idx(p)


def test_cuda_asked_for_but_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        D.resolve_device("cuda")
    assert D.resolve_device("auto").type == "cpu"
