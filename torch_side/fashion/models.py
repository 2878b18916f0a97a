"""The lesson's Fashion-MNIST models (course22p2 nbs 11, 13 and 14), with their exact sizes.

One faithful detail matters for the parameter counts: the lesson's ``conv`` decides the bias
with ``isinstance(norm, nn.BatchNorm2d)`` while ``norm`` is the *class*, so every conv keeps
its bias even when followed by BatchNorm. We keep that, so ``resnet()`` has the lesson's
1,228,908 parameters.
"""
from functools import partial

import torch.nn.functional as F
from torch import nn

from torch_side.errors import UsageError

__all__ = [
    "GeneralRelu", "act_gr", "conv", "ResBlock", "GlobalAvgPool", "init_weights",
    "conv_net", "deep_conv_net", "resnet", "wide_resnet", "resnet_gap_wide",
    "resnet_gap", "resnet_gap_stem", "hires_resnet", "MODELS", "LESSON_PARAMS", "get_model",
]


class GeneralRelu(nn.Module):
    """Leaky ReLU shifted down by ``sub`` so activations have a mean nearer zero."""

    def __init__(self, leak=None, sub=None, maxv=None):
        super().__init__()
        self.leak, self.sub, self.maxv = leak, sub, maxv

    def forward(self, x):
        x = F.leaky_relu(x, self.leak) if self.leak is not None else F.relu(x)
        if self.sub is not None:
            x = x - self.sub
        if self.maxv is not None:
            x = x.clamp_max(self.maxv)
        return x


act_gr = partial(GeneralRelu, leak=0.1, sub=0.4)


def conv(ni, nf, ks=3, stride=2, act=nn.ReLU, norm=None, bias=None):
    """Conv (+ norm) (+ activation); bias kept whenever ``norm`` is a class, as in the lesson."""
    if bias is None:
        bias = not isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))
    layers = [nn.Conv2d(ni, nf, stride=stride, kernel_size=ks, padding=ks // 2, bias=bias)]
    if norm:
        layers.append(norm(nf))
    if act:
        layers.append(act())
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """Two convs plus a shortcut: 1x1 ``idconv`` when widths differ, AvgPool when strided.

    ``zero_bn=True`` zero-initialises the second conv's BatchNorm weight so that a fresh
    block is the identity (plus activation). The lesson's post-lesson note found this
    slightly worse for these shallow nets; it is kept switchable. ``block_bn=False`` builds
    the block as the lesson did before that fix: ``norm`` never reached the two convs.
    """

    def __init__(self, ni, nf, stride=1, ks=3, act=act_gr, norm=nn.BatchNorm2d, zero_bn=True,
                 block_bn=True):
        super().__init__()
        norm = norm if block_bn else None
        self.convs = nn.Sequential(conv(ni, nf, stride=1, act=act, norm=norm, ks=ks),
                                   conv(nf, nf, stride=stride, act=None, norm=norm, ks=ks))
        self.idconv = nn.Identity() if ni == nf else conv(ni, nf, ks=1, stride=1, act=None)
        self.pool = nn.Identity() if stride == 1 else nn.AvgPool2d(2, ceil_mode=True)
        self.act = act()
        if zero_bn and norm is not None:
            nn.init.zeros_(self.convs[1][1].weight)

    def forward(self, x):
        return self.act(self.convs(x) + self.idconv(self.pool(x)))


class GlobalAvgPool(nn.Module):
    """Mean over the two spatial axes: (N, C, H, W) -> (N, C)."""

    def forward(self, x):
        return x.mean((-2, -1))


def init_weights(m, leaky=0.1):
    """Kaiming-normal init of conv kernels, with the GeneralRelu's leak."""
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        nn.init.kaiming_normal_(m.weight, a=leaky)


def _init(model, leaky):
    return model.apply(partial(init_weights, leaky=leaky))


def conv_net(act=nn.ReLU, nfs=(1, 8, 16, 32, 64), norm=None, leaky=0.):
    """nb 11 ``get_model``: four stride-2 convs, then a conv to 10 channels and Flatten.

    ``leaky``: the Kaiming init's leak (nb 13 applies ``init_weights`` with 0.1 to the
    GeneralRelu + BatchNorm version, "conv-bn").
    """
    layers = [conv(nfs[i], nfs[i + 1], act=act, norm=norm) for i in range(len(nfs) - 1)]
    return _init(nn.Sequential(*layers, conv(nfs[-1], 10, act=None, norm=None, bias=True),
                               nn.Flatten()), leaky=leaky)


def deep_conv_net(act=act_gr, nfs=(8, 16, 32, 64, 128), norm=nn.BatchNorm2d):
    """nb 13 "Going deeper": a stride-1 stem, five stride-2 convs, conv to 10, Flatten."""
    layers = [conv(1, 8, stride=1, act=act, norm=norm)]
    layers += [conv(nfs[i], nfs[i + 1], act=act, norm=norm) for i in range(len(nfs) - 1)]
    return _init(nn.Sequential(*layers, conv(nfs[-1], 10, act=None, norm=norm, bias=True),
                               nn.Flatten()), leaky=0.1)


def resnet(act=act_gr, nfs=(8, 16, 32, 64, 128, 256), norm=nn.BatchNorm2d, **block):
    """nb 13 ResNet: ResBlocks 1->8 then stride-2 blocks to 256, Flatten, Linear, BatchNorm1d.

    ``block`` (here and below): ResBlock's ``zero_bn`` and ``block_bn``."""
    layers = [ResBlock(1, nfs[0], stride=1, act=act, norm=norm, **block)]
    layers += [ResBlock(nfs[i], nfs[i + 1], act=act, norm=norm, stride=2, **block)
               for i in range(len(nfs) - 1)]
    layers += [nn.Flatten(), nn.Linear(nfs[-1], 10, bias=False), nn.BatchNorm1d(10)]
    return _init(nn.Sequential(*layers), leaky=0.1)


def wide_resnet(act=act_gr, nfs=(16, 32, 64, 128, 256, 512), norm=nn.BatchNorm2d, **block):
    """nb 14 "Going wider": a ks=5 first block and widths doubled to 512."""
    layers = [ResBlock(1, nfs[0], ks=5, stride=1, act=act, norm=norm, **block)]
    layers += [ResBlock(nfs[i], nfs[i + 1], act=act, norm=norm, stride=2, **block)
               for i in range(len(nfs) - 1)]
    layers += [nn.Flatten(), nn.Linear(nfs[-1], 10, bias=False), nn.BatchNorm1d(10)]
    return _init(nn.Sequential(*layers), leaky=0.1)


def resnet_gap_wide(act=act_gr, nfs=(16, 32, 64, 128, 256), norm=nn.BatchNorm2d, **block):
    """nb 14 pooling, first variant: stride-2 blocks to 256, a stride-1 256->512 block, GAP."""
    layers = [ResBlock(1, nfs[0], ks=5, stride=1, act=act, norm=norm, **block)]
    layers += [ResBlock(nfs[i], nfs[i + 1], act=act, norm=norm, stride=2, **block)
               for i in range(len(nfs) - 1)]
    layers += [ResBlock(nfs[-1], 512, act=act, norm=norm, **block), GlobalAvgPool(),
               nn.Linear(512, 10, bias=False), nn.BatchNorm1d(10)]
    return _init(nn.Sequential(*layers), leaky=0.1)


def resnet_gap(act=act_gr, nfs=(16, 32, 64, 128, 256), norm=nn.BatchNorm2d, **block):
    """nb 14 pooling, second variant: no 512 block; GAP straight after the 256 block."""
    layers = [ResBlock(1, nfs[0], ks=5, stride=1, act=act, norm=norm, **block)]
    layers += [ResBlock(nfs[i], nfs[i + 1], act=act, norm=norm, stride=2, **block)
               for i in range(len(nfs) - 1)]
    layers += [GlobalAvgPool(), nn.Linear(nfs[-1], 10, bias=False), nn.BatchNorm1d(10)]
    return _init(nn.Sequential(*layers), leaky=0.1)


def resnet_gap_stem(act=act_gr, nfs=(16, 32, 64, 128, 256), norm=nn.BatchNorm2d, **block):
    """nb 14 pooling, third variant: a plain ks=5 conv stem instead of the first ResBlock."""
    layers = [conv(1, nfs[0], ks=5, stride=1, act=act, norm=norm)]
    layers += [ResBlock(nfs[i], nfs[i + 1], act=act, norm=norm, stride=2, **block)
               for i in range(len(nfs) - 1)]
    layers += [GlobalAvgPool(), nn.Linear(nfs[-1], 10, bias=False), nn.BatchNorm1d(10)]
    return _init(nn.Sequential(*layers), leaky=0.1)


def hires_resnet(act=act_gr, width=64, norm=nn.BatchNorm2d, **block):
    """Ours, not the lesson's: the DAWNBench ResNet-9 layout (airbench's ancestor) for 28x28.

    The lesson's nets halve the 28x28 image in their first strided block; this one spends its
    first conv at full resolution with ``width`` channels, then three stages of conv + 2x max
    pool (widths 2, 4, 8 x ``width``), with a ResBlock after the first and the last stage, then
    global average pooling and the lesson's Linear + BatchNorm1d head. About 7x the wide
    ResNet's compute per image: made for a GPU.
    """
    w = width
    layers = [conv(1, w, stride=1, act=act, norm=norm),
              conv(w, 2 * w, stride=1, act=act, norm=norm), nn.MaxPool2d(2),
              ResBlock(2 * w, 2 * w, act=act, norm=norm, **block),
              conv(2 * w, 4 * w, stride=1, act=act, norm=norm), nn.MaxPool2d(2),
              conv(4 * w, 8 * w, stride=1, act=act, norm=norm), nn.MaxPool2d(2, ceil_mode=True),
              ResBlock(8 * w, 8 * w, act=act, norm=norm, **block),
              GlobalAvgPool(), nn.Linear(8 * w, 10, bias=False), nn.BatchNorm1d(10)]
    return _init(nn.Sequential(*layers), leaky=0.1)


MODELS = {
    "conv": conv_net,
    "conv-bn": partial(conv_net, act=act_gr, norm=nn.BatchNorm2d, leaky=0.1),
    "deep-conv": deep_conv_net,
    "resnet": resnet,
    "wide-resnet": wide_resnet,
    "resnet-gap-wide": resnet_gap_wide,
    "resnet-gap": resnet_gap,
    "resnet-gap-stem": resnet_gap_stem,
    "hires-resnet": hires_resnet,
    "hires-resnet-s": partial(hires_resnet, width=32),
}

# Parameter counts of the definitions above. "resnet" is the figure printed in course22p2
# nbs/13_resnet.ipynb ("Tot params:  1228908"); the others are what the lesson's layer
# definitions give (conv biases kept, see the module docstring), pinned by
# tests/test_fashion_models.py.
LESSON_PARAMS = {
    "conv": 30_154,
    "conv-bn": 30_394,
    "deep-conv": 110_286,
    "resnet": 1_228_908,
    "wide-resnet": 4_907_588,
    "resnet-gap-wide": 4_907_588,
    "resnet-gap": 1_231_428,
    "resnet-gap-stem": 1_224_948,
    "hires-resnet": 6_574_228,  # ours (not the lesson's)
    "hires-resnet-s": 1_646_676,  # ours, width 32
}


def get_model(name, **kwargs):
    """Build a model by name; an unknown name lists the known ones."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
    return factory(**kwargs)
