"""The lesson's models: parameter counts, the summary table, and one training step."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import torch
import torch.nn.functional as F
from torch import nn

from torch_side.fashion.models import LESSON_PARAMS, MODELS, ResBlock, get_model, resnet
from torch_side.learn.summary import param_count, summary


@pytest.mark.parametrize("name", list(MODELS))
def test_parameter_count_equals_lessons(name):
    model = MODELS[name]()
    assert param_count(model) == LESSON_PARAMS[name]
    model.eval()
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_stated_counts():
    # nb 13 prints 1228908 for the ResNet; nb 14's wide / pooled variants follow.
    assert LESSON_PARAMS["resnet"] == 1_228_908
    assert LESSON_PARAMS["wide-resnet"] == 4_907_588
    assert LESSON_PARAMS["resnet-gap"] == 1_231_428
    assert LESSON_PARAMS["resnet-gap-stem"] == 1_224_948


def test_summary_reproduces_the_lessons_table():
    df = summary(resnet(), torch.zeros(1024, 1, 28, 28)[:8], print_table=False)
    assert list(df["Params"]) == [712, 3696, 14560, 57792, 230272, 919296, 0, 2560, 20]
    assert df.iloc[1]["Output"] == (8, 16, 14, 14) and df.iloc[5]["Output"] == (8, 256, 1, 1)
    assert df.attrs["total_params"] == 1_228_908
    assert df.attrs["total_mflops"] == pytest.approx(4.7, abs=0.05)
    # nb 14's pooled models: 33.0 and 18.3 MFLOPS by the lesson's count
    assert summary(get_model("resnet-gap-wide"), torch.zeros(2, 1, 28, 28),
                   print_table=False).attrs["total_mflops"] == pytest.approx(33.0, abs=0.05)
    assert summary(get_model("resnet-gap"), torch.zeros(2, 1, 28, 28),
                   print_table=False).attrs["total_mflops"] == pytest.approx(18.3, abs=0.05)


def test_resblock_starts_as_identity_plus_activation():
    torch.manual_seed(0)
    blk = ResBlock(8, 8).eval()
    x = torch.randn(4, 8, 7, 7)
    assert torch.allclose(blk(x), blk.act(x), atol=1e-6)
    assert torch.count_nonzero(blk.convs[1][1].weight) == 0
    strided = ResBlock(8, 16, stride=2)
    assert isinstance(strided.pool, nn.AvgPool2d) and strided.idconv[0].kernel_size == (1, 1)


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="unknown model 'resnet9'.*wide-resnet"):
        get_model("resnet9")


def test_one_training_step_on_a_real_subset_reduces_the_loss():
    from torch_side.fashion.data import fashion_dls
    torch.manual_seed(0)
    dls = fashion_dls(bs=256, subset=256, valid_subset=100, seed=0)
    xb, yb = next(iter(dls.train))
    model = resnet()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(2):  # the same batch twice: the second loss is after one step
        loss = F.cross_entropy(model(xb), yb)
        losses.append(loss.item())
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert losses[1] < losses[0] - 0.1, losses


def test_zero_bn_switch_reaches_the_recipe():
    from torch_side.fashion.data import DataLoaders
    from torch_side.experiments.builder import build_learner
    from torch_side.experiments.recipes import get_recipe
    dls = DataLoaders([(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long))] * 8, [])
    for zero_bn, expect_zero in ((None, False), (True, True), (False, False)):
        learn, _, _ = build_learner(get_recipe("resnet-5ep", zero_bn=zero_bn), dls, "cpu",
                                    progress=False)
        w = learn.model[1].convs[1][1].weight
        assert bool((w == 0).all()) is expect_zero


def test_block_bn_off_builds_the_lessons_resblocks_before_its_fix():
    # nb 13's post-lesson note: `norm=norm` never reached `_conv_block`, so the lesson's
    # ResBlocks had no BatchNorm; --no-block-bn rebuilds that, for its "before" figures
    import argparse

    from torch_side.cli import train as cmd_train
    from torch_side.fashion.data import DataLoaders
    from torch_side.experiments.builder import build_learner
    from torch_side.experiments.recipes import RECIPES
    args = argparse.ArgumentParser()
    cmd_train.add_arguments(args)
    recipe = cmd_train.recipe_from_args(args.parse_args(["--recipe", "lesson-resnet",
                                                         "--no-block-bn"]))
    assert recipe.block_bn is False and RECIPES["lesson-resnet"].block_bn is True
    dls = DataLoaders([(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long))] * 8, [])
    learn, _, _ = build_learner(recipe, dls, "cpu", progress=False)
    bns = [m for m in learn.model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns == []  # only the head's BatchNorm1d is left
    assert sum(p.numel() for p in learn.model.parameters()) == 1_226_892
    fixed = get_model("resnet")
    assert sum(isinstance(m, nn.BatchNorm2d) for m in fixed.modules()) == 12  # 2 per block
