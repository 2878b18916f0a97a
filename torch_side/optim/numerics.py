"""The numbers an optimizer works with: correctly rounded square roots, hyper-parameters read and
checked as Python numbers, complex tensors as their real view."""
import math

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

__all__ = ["exact_sqrt", "exact_sqrt_mode", "is_number", "value_of", "check_lr", "check_beta", "check_betas",
           "check_nonneg", "check_flag", "real_view", "numbers", "UNSUPPORTED"]


def exact_sqrt(x):
    """√x correctly rounded (IEEE 754) for CPU float64 tensors; other tensors get torch.sqrt.

    CPU float64 goes through numpy's sqrt, which is the processor's IEEE square root (sqrtpd),
    into a new tensor: no autograd graph, so a tensor that requires grad (with grad enabled) keeps
    torch.sqrt. On CUDA, torch.sqrt is already correctly rounded.
    """
    if x.dtype != torch.float64 or x.device.type != "cpu" or (x.requires_grad and torch.is_grad_enabled()):
        return torch.sqrt(x)
    out = torch.empty(x.shape, dtype=x.dtype)
    with np.errstate(invalid="ignore"):  # √(negative) is NaN, silently, as in torch
        np.sqrt(x.detach().resolve_neg().numpy(), out=out.numpy())
    return out


class exact_sqrt_mode(TorchFunctionMode):
    """Within ``with exact_sqrt_mode():``, torch.sqrt / Tensor.sqrt compute `exact_sqrt`."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.sqrt, torch.Tensor.sqrt) and not kwargs and len(args) == 1:
            return exact_sqrt(args[0])
        return func(*args, **(kwargs or {}))


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def value_of(name, x):
    """A hyper-parameter as a Python number: a 1-element Tensor (torch.optim takes Tensor lr and
    betas) is read as its value; anything else is returned as it is."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element, got shape {tuple(x.shape)}")
        return x.item()
    return x


def check_lr(lr):
    lr = value_of("lr", lr)
    if not is_number(lr) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")


def check_beta(name, beta):
    beta = value_of(name, beta)
    if not is_number(beta) or not 0 <= beta < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {beta!r}")


def check_nonneg(name, v):
    if not is_number(v) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")


def check_flag(name, v):
    if not isinstance(v, bool):
        raise ValueError(f"{name} must be True or False, got {v!r}")


def real_view(t):
    return torch.view_as_real(t) if t.is_complex() else t


UNSUPPORTED = {  # key: (the only accepted values, why)
    "capturable": ((False,), "capturable=True (CUDA-graph capture) is not supported: the rules "
                   "take their hyper-parameters and step count as Python numbers (use fused=True "
                   "for a compiled step, or torch.optim's capturable kernels)"),
    "differentiable": ((False,), "differentiable=True is not supported: step() runs under "
                       "torch.no_grad, so no graph is kept through the update (use torch.optim's "
                       "differentiable=True)"),
    "amsgrad": ((False,), "amsgrad=True is not supported: the rules keep no running maximum of "
                "the squared-gradient average (use torch.optim.Adam(amsgrad=True))"),
}


def check_betas(betas):
    """A pair (β1, β2), each as `check_beta` allows (Adam's and Lion's)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    check_beta("betas[0]", betas[0])
    check_beta("betas[1]", betas[1])



def numbers(group):
    """The group's hyper-parameters as Python numbers (Tensor lr, Tensor betas read once)."""
    out = {}
    for k, v in group.items():
        if k == "params":
            continue
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = v.item()
        elif isinstance(v, tuple) and any(isinstance(x, torch.Tensor) for x in v):
            v = tuple(x.item() if isinstance(x, torch.Tensor) else x for x in v)
        out[k] = v
    return out
