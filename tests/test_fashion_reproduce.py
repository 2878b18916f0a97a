"""`torch-side reproduce`, the lesson's recipes, `train --model/--augment` and the teaching
tools' commands, end to end on small real Fashion-MNIST subsets (CPU, seconds each)."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import json

import torch
from openpyxl import load_workbook

from torch_side.fashion import augment
from torch_side import cli
from torch_side.cli import reproduce as cmd_reproduce
from torch_side.cli import reproduce_table
from torch_side.fashion import data as D
from torch_side.experiments.recipes import RECIPES

pytestmark = pytest.mark.skipif(not D._has_all(D.DEBIAN_DIR),
                                reason=f"Debian package {D.DEBIAN_PACKAGE} not installed")


def _rep(tmp_path, *args):
    return cli.main(["reproduce", "--device", "cpu", "--no-progress", "--out",
                     str(tmp_path / "out"), "--bench-dir", str(tmp_path / "bench"), *args])


def _err(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_lesson_recipes_carry_the_lessons_settings_and_numbers():
    lesson = [r for r in RECIPES.values() if r.is_lesson]
    assert len(lesson) == 11
    for r in lesson:
        assert (r.bs, r.opt, r.sched, r.wd, r.label_smoothing, r.augment_mode, r.zero_bn) == \
            (1024, "adamw", "onecycle-torch", 1e-2, 0., "batch", False), r.name
        assert r.lesson and all(0.9 < v < 0.96 for _, b, a in r.lesson for v in (b, a)
                                if v is not None), r.name
    assert RECIPES["lesson-resnet"].lesson == (("accuracy", .922, .928),)
    assert RECIPES["lesson-copy-2x25ep"].learners == 2
    # as course22p2's notebooks set them (13_resnet @0eb1895, 14_augment @03fac8a): nb 13's
    # nets, then nb 14's wide ks=5 ResNet for every longer run, at lr 1e-2 except RandErase's
    settings = {n: (RECIPES[n].model, RECIPES[n].epochs, RECIPES[n].lr, RECIPES[n].augment)
                for n in RECIPES if n.startswith("lesson-")}
    assert settings == {
        "lesson-conv": ("conv-bn", 5, 6e-2, ()),
        "lesson-deep-conv": ("deep-conv", 5, 6e-2, ()),
        "lesson-resnet": ("resnet", 5, 2e-2, ()),
        "lesson-wide": ("wide-resnet", 5, 1e-2, ()),
        "lesson-gap-wide": ("resnet-gap-wide", 5, 1e-2, ()),
        "lesson-gap": ("resnet-gap", 5, 1e-2, ()),
        "lesson-gap-stem": ("resnet-gap-stem", 5, 1e-2, ()),
        "lesson-noaug-20ep": ("wide-resnet", 20, 1e-2, ()),
        "lesson-aug-20ep": ("wide-resnet", 20, 1e-2, ("crop", "flip")),
        "lesson-erase-50ep": ("wide-resnet", 50, 2e-2, ("crop", "flip", "erase")),
        "lesson-copy-2x25ep": ("wide-resnet", 25, 1e-2, ("crop", "flip", "copy")),
    }
    # nb 14 averages the raw outputs of its TTA passes (no softmax); ours average probabilities
    assert all(not r.tta_softmax for r in lesson)
    # torchvision's RandomCrop pads a normalised batch with 0 (the mean: grey), ours with black
    assert all(r.crop_fill == 0 for r in lesson) and RECIPES["ours-20ep"].crop_fill is None
    crop = augment.batch_tfms(("crop",), "batch", crop_fill=0.)[0]
    x = torch.full((2, 1, 4, 4), -0.75)
    torch.manual_seed(0)
    outs = torch.stack([crop(x) for _ in range(40)])
    assert set(outs.unique().tolist()) == {-0.75, 0.}  # shifted in a border of zeros
    assert all(torch.equal(o[0], o[1]) for o in outs)  # one draw for the whole batch
    assert RECIPES["ours-5ep"].tta_softmax
    ours = [r for r in RECIPES.values() if not r.is_lesson and r.name != "tiny"]
    assert all(RECIPES[r.compare_to].is_lesson for r in ours)
    assert {r.epochs for r in ours} == {5, 20, 50}


def test_table_lists_unmeasured_rows_with_their_reason():
    md = cmd_reproduce.markdown_table({}, reasons={"lesson-erase-50ep": "50 epochs on 2 cores"})
    assert "| lesson-erase-50ep | 50 | 94.6 | 94.9 | unmeasured: 50 epochs on 2 cores |" in md
    assert "| lesson-copy-2x25ep | 2x25 | 94.0 / 94.4 ens. | 94.7 ens. | unmeasured |" in md
    assert "| ours-5ep | 5 | 92.7 (lesson-wide) | 93.4 (lesson-wide) | unmeasured |" in md
    assert "tiny" not in md


def test_reproduce_tiny_end_to_end_then_resume_skips_it(tmp_path, capsys, monkeypatch):
    wb = tmp_path / "book.xlsx"
    assert _rep(tmp_path, "--only", "tiny", "--subset", "600", "--workbook", str(wb)) == 0
    out = tmp_path / "out"
    doc = json.loads((out / "results.json").read_text())
    row = doc["rows"]["tiny"]
    # two epochs on 600 images of the small conv net: measured 0.69 (seed 42); a wide margin
    assert 0.4 <= row["accuracy"] <= 1 and 0 <= row["tta_accuracy"] <= 1
    assert row["train_images"] == 600 and row["test_images"] == 100 and not row["full_scale"]
    assert row["seconds_per_epoch"] > 0 and row["images_per_second"] > 0
    assert "CPU" in row["device_name"]
    md = (out / "results.md").read_text()
    assert "| tiny | 2 |" in md and "| lesson-resnet | 5 | 92.2 | 92.8 | unmeasured |" in md
    for f in ("reproduce.png", "tiny/loss.png", "tiny/lr.png", "tiny/history.csv"):
        assert (out / f).stat().st_size > 0
    assert [p.name for p in (tmp_path / "bench").iterdir()][0].endswith("-tiny-subset.json")
    ws = load_workbook(wb)["reproduce"]
    assert ws["A1"].value == "experiment"
    assert any(r[0].value == "tiny" and r[4].value == row["accuracy"] for r in ws.iter_rows())
    capsys.readouterr()

    def no_training(*a, **k):
        raise AssertionError("a finished row was trained again")
    monkeypatch.setattr(cmd_reproduce, "train_recipe", no_training)
    assert _rep(tmp_path, "--only", "tiny", "--subset", "600", "--resume") == 0
    assert "tiny: done in" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["rows"]["tiny"] == row


def test_bare_reproduce_lists_the_experiments_and_runs_nothing(tmp_path, capsys, monkeypatch):
    def no_training(*a, **k):
        raise AssertionError("a bare reproduce trained something")
    monkeypatch.setattr(cmd_reproduce, "train_recipe", no_training)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["reproduce"]) == 0
    out = capsys.readouterr().out
    assert "--all for every one" in out and "CPU estimate" in out
    assert "lesson-erase-50ep" in out and "hires-20ep" in out and "tiny" not in out
    assert list(tmp_path.iterdir()) == []  # no runs/, no bench/results in the current folder


def test_reproduce_epochs_override_is_a_smoke_run_under_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["reproduce", "--only", "tiny", "--epochs", "1", "--subset", "600",
                     "--device", "cpu", "--no-progress", "--out", "o"]) == 0
    row = json.loads((tmp_path / "o" / "results.json").read_text())["rows"]["tiny"]
    assert row["epochs"] == 1 and not row["full_scale"] and "--epochs 1" in row["command"]
    assert [p.name for p in (tmp_path / "o" / "bench").iterdir()][0].endswith("-tiny-subset.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_reproduce_ensemble_of_two_learners(tmp_path, monkeypatch):
    from torch_side.experiments import recipes
    monkeypatch.setitem(recipes.RECIPES, "tiny", recipes.replace(RECIPES["tiny"], learners=2,
                                                                 epochs=1))
    assert _rep(tmp_path, "--only", "tiny", "--subset", "600") == 0
    row = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]["tiny"]
    assert len(row["learner_accuracies"]) == 2 and 0 <= row["ensemble_accuracy"] <= 1
    assert (tmp_path / "out" / "tiny" / "learner-1" / "metrics.json").exists()


@pytest.mark.parametrize("args, message", [
    (["--only", "lesson-resnet,resnet-9ep"], "unknown experiment 'resnet-9ep'; known: lesson-conv,"),
    (["--only", "tiny", "--workbook", "t.xls"], "--workbook must name an .xlsx file"),
    (["--only", "tiny", "--subset", "0"], "--subset must be a positive integer"),
])
def test_reproduce_bad_input_writes_nothing(tmp_path, capsys, args, message):
    assert _rep(tmp_path, *args) == 2
    assert message in _err(capsys)
    assert list(tmp_path.iterdir()) == []


def test_reproduce_cuda_absent(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["reproduce", "--only", "tiny", "--device", "cuda",
                     "--out", str(tmp_path / "o")]) == 2
    assert "no CUDA GPU is available" in _err(capsys)
    assert not (tmp_path / "o").exists()


def test_train_model_and_augment_override_the_recipe(tmp_path, capsys):
    assert cli.main(["train", "--recipe", "tiny", "--model", "conv", "--augment", "crop,flip",
                     "--augment-mode", "batch", "--subset", "600", "--epochs", "1",
                     "--device", "cpu", "--no-progress", "--out", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["model"] == "conv"
    assert "augment ['crop', 'flip'] (per batch)" in capsys.readouterr().out
    for bad, msg in [(["--model", "vgg"], "unknown model 'vgg'; known: conv,"),
                     (["--augment", "crop,rotate"], "unknown augmentation 'rotate'; known:")]:
        assert cli.main(["train", "--recipe", "tiny", *bad, "--out", str(tmp_path / "x")]) == 2
        assert msg in _err(capsys)
        assert not (tmp_path / "x").exists()


@pytest.mark.slow
@pytest.mark.parametrize("cmd, extra, files", [
    ("show-batch", ["--out", "{t}/b.png", "--subset", "500", "--recipe", "lesson-aug-20ep"],
     ["b.png"]),
    ("sched-plot", ["--out", "{t}/s.png"], ["s.png"]),
    ("lr-find", ["--out", "{t}/l.png", "--subset", "1500"], ["l.png"]),
    ("activations", ["--out", "{t}/act", "--subset", "600", "--epochs", "1"],
     ["act/color_dim.png", "act/dead.png", "act/stats.png", "act/stats.json"]),
])
def test_teaching_commands_write_their_pngs(tmp_path, capsys, cmd, extra, files):
    extra = [a.format(t=tmp_path) for a in extra]
    if "--recipe" not in extra:
        extra += ["--recipe", "tiny"]
    assert cli.main([cmd, *extra]) == 0, capsys.readouterr().err
    for f in files:
        assert (tmp_path / f).stat().st_size > 0
    assert capsys.readouterr().out.startswith(str(tmp_path))


def test_activations_reports_generalrelu_layers(tmp_path):
    assert cli.main(["activations", "--recipe", "tiny", "--subset", "600", "--epochs", "1",
                     "--out", str(tmp_path / "a")]) == 0
    st = json.loads((tmp_path / "a" / "stats.json").read_text())
    assert len(st["layers"]) == 4  # the conv net's four GeneralRelu convs
    assert len(st["means"][0]) == 10  # 600 images / bs 64 = 10 batches


@pytest.mark.parametrize("cmd, args, message", [
    ("show-batch", ["--out", "b.jpg"], "--out must name a .png file"),
    ("sched-plot", ["--out", "s.png", "--recipe", "nope"], "unknown recipe 'nope'"),
    ("sched-plot", ["--out", "s.png", "--sched", "anneal", "--opt", "adam"],
     "no schedule to plot in advance"),
    ("activations", ["--out", "a.png"], "--out is a folder"),
    ("lr-find", ["--out", "l.png", "--bs", "0"], "--bs must be a positive integer"),
])
def test_teaching_commands_bad_input(tmp_path, capsys, monkeypatch, cmd, args, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main([cmd, *args]) == 2
    assert message in _err(capsys)
    assert list(tmp_path.iterdir()) == []


def test_reproduce_plot_marks_smoke_runs_and_starts_near_the_data(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    saved = {}
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, path, **k: saved.setdefault("fig", fig))
    rows = {"lesson-resnet": {"accuracy": 0.929, "full_scale": True, "train_images": 60000, "epochs": 5},
            "tiny": {"accuracy": 0.58, "full_scale": False, "train_images": 600, "epochs": 2}}
    reproduce_table.plot_table(rows, tmp_path / "r.png")
    ax = saved["fig"].axes[0]
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_height() == pytest.approx(58)
    assert any("smoke run" in t.get_text() for t in ax.get_legend().get_texts())
    assert any("smoke: 600 img" in t.get_text() for t in ax.texts)
    assert 50 < ax.get_ylim()[0] <= 58
