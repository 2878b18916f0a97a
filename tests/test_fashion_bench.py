"""bench/train_speed.py writes one JSON object per run with the fields the issue names."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import importlib.util
import json
from pathlib import Path


from torch_side.fashion import data as D

pytestmark = pytest.mark.skipif(not D._has_all(D.DEBIAN_DIR),
                                reason=f"Debian package {D.DEBIAN_PACKAGE} not installed")


def test_cpu_benchmark_json(tmp_path, capsys):
    """On the tiny recipe (its flip TTA takes the benchmark's TTA branch too): both pipelines trained
    and timed, the loaders alone timed, every field written; a fifth of resnet-5ep's time."""
    path = Path(__file__).resolve().parents[1] / "bench" / "train_speed.py"
    spec = importlib.util.spec_from_file_location("train_speed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--recipe", "tiny", "--device", "cpu", "--subset", "800", "--epochs", "2", "--bs", "100",
                     "--repeats", "1", "--out", str(tmp_path), "--tag", "t"]) == 0
    (f,) = tmp_path.glob("cpu-*-tiny-t.json")
    res = json.loads(f.read_text())
    for k in ("device", "recipe", "epochs", "accuracy", "seconds_per_epoch",
              "images_per_second", "cpu_pipeline_ratio"):
        assert k in res, k
    assert res["device"] == "cpu" and res["gpu"].startswith("unmeasured") and res["recipe"] == "tiny"
    assert 0 <= res["tta_accuracy"] <= 1
    assert res["images_per_second"] == pytest.approx(800 / res["seconds_per_epoch"], rel=1e-2)
    # both times are written to 3 decimals: on the tiny recipe (0.03 s an epoch) that rounding alone
    # moves their quotient by over 1 %, so the tolerance is what it allows
    spe, ispe = res["seconds_per_epoch"], res["per_item_seconds_per_epoch"]
    slack = (ispe / spe) * (0.0005 / spe + 0.0005 / ispe) + 0.0005
    assert abs(res["cpu_pipeline_ratio"] - ispe / spe) <= slack
    # the ratio is the two measured rates' (rounded to 0.1), not a speed target: that is the
    # benchmark's to print (on 800 images CI measured 1.9 on a loaded machine; full scale: 115-221)
    rates = res["loader_only_images_per_second"]
    assert rates["ours"] > 0 and rates["per_item"] > 0
    assert res["loader_only_ratio"] == pytest.approx(rates["ours"] / rates["per_item"], abs=0.051)
    assert json.loads(capsys.readouterr().out) == res
