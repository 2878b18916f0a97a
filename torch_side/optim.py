"""The lesson's optimizers as real `torch.optim.Optimizer` subclasses, computed by `xlopt.rules`.

Every update is the same plain-arithmetic function the engine and the workbook's formulas use
(`rules.ewma`, `rules.sgd_step`, `rules.scaled_step` ...), called on tensors: in float64 these
optimizers reproduce the spreadsheet to the last bit. State lives in ``self.state[p]`` (never on the
tensor), ``step()`` computes the new value with the rule and writes it with ``p.copy_()``.

  SGD(params, lr)                                    p − g·lr
  Momentum(params, lr, momentum=0.9)                 m ← m·β + (1−β)·g (the lerp/EWMA form, not
                                                     torch's m·β + g); p − m·lr
  RMSProp(params, lr, beta=0.9, eps=1e-8, sheet=False)
      sheet=True   the workbook's: p − g·lr/√s with the PREVIOUS average s, no ε; then s ← ewma
      sheet=False  the usual:      s ← ewma first; p − g·lr/(√s + ε)
  Adam(params, lr, betas=(0.9, 0.99), eps=1e-8, bias_correction=True, weight_decay=0.)
      m ← ewma(m, g, β1); v ← ewma(v, g², β2); then
      bias_correction=True   rules.adam_step (torch.optim.Adam's definition)
      bias_correction=False  rules.scaled_step_eps, or rules.scaled_step when eps == 0
                             (the workbook's adam: bias_correction=False, eps=0)
      weight_decay           decoupled (AdamW): p·(1 − lr·wd) before the step (rules.decay)

Group keys follow PyTorch's names where a scheduler looks for them: Momentum's ``'momentum'`` and
Adam's ``'betas'``, so ``OneCycleLR(cycle_momentum=True)`` cycles momentum / β1.

State keys: ``'grad_avg'`` (Momentum, Adam), ``'sqr_avg'`` (RMSProp, Adam), ``'step'`` (Adam, an int).
A missing average starts at zeros, as in PyTorch. To start from other values (the sheets' Reset puts
m = momtarget and s = gradtarget on top), call ``opt.init_state(p, grad_avg=..., sqr_avg=...)``
before the first step. Note that ``RMSProp(sheet=True)`` divides by the previous average, so its
first step from a zero ``sqr_avg`` divides by zero, as the sheet's cell would: seed it.

Square roots: PyTorch's CPU float64 ``sqrt`` is MKL's vdSqrt, which is not correctly rounded (about
1.2% of inputs come out one ulp off, e.g. √6964.288556901134), while the workbook, the engine
(``math.sqrt``) and IEEE hardware round correctly. ``step()`` therefore runs the rules under
`exact_sqrt_mode()`, which sends ``sqrt`` of CPU float64 tensors to `exact_sqrt` (numpy's sqrt,
the processor's IEEE instruction). Set ``EXACT_SQRT = False`` on a class or instance to use torch's
own sqrt (up to 1 ulp off).
"""
import math

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from xlopt.core import rules

__all__ = ["SGD", "Momentum", "RMSProp", "Adam", "exact_sqrt", "exact_sqrt_mode"]


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


def _check_lr(lr):
    if isinstance(lr, torch.Tensor):
        lr = lr.item()
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")


def _check_beta(name, beta):
    if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not 0 <= beta < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {beta!r}")


def _check_nonneg(name, v):
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")


class RuleOptimizer(torch.optim.Optimizer):
    """What the four optimizers share: validation, state seeding and the step loop.

    A subclass names its state tensors in ``state_keys``, checks a group in ``_check_group`` and
    computes one parameter's new value in ``_update(p, grad, state, group)`` (returning the new
    value; it may replace tensors in ``state``).
    """
    state_keys = ()
    EXACT_SQRT = True

    def __init__(self, params, defaults):
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        try:
            self._check_group(self.param_groups[-1])
        except ValueError:
            self.param_groups.pop()
            raise

    def _check_group(self, group):
        _check_lr(group["lr"])

    def init_state(self, p, **tensors):
        """Seed a parameter's state (e.g. ``grad_avg=momtarget``) before its first step."""
        for k in tensors:
            if k not in self.state_keys:
                raise ValueError(f"{type(self).__name__} keeps no state {k!r}; "
                                 f"its state is {', '.join(self.state_keys) or 'empty'}")
        st = self.state[p]
        for k, v in tensors.items():
            t = torch.as_tensor(v, dtype=p.dtype, device=p.device)
            st[k] = t.expand_as(p).clone() if t.shape != p.shape else t.clone()

    def _averages(self, p):
        st = self.state[p]
        for k in self.state_keys:
            if k not in st:
                st[k] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return st

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.EXACT_SQRT and any(p.dtype == torch.float64 and p.device.type == "cpu"
                                   for g in self.param_groups for p in g["params"]):
            with exact_sqrt_mode():
                self._step_all()
        else:
            self._step_all()
        return loss

    def _step_all(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                p.copy_(self._update(p, p.grad, self._averages(p), group))


class SGD(RuleOptimizer):
    """Plain gradient descent: p − g·lr (the basic sheet's new a / new b)."""

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    def _update(self, p, g, st, group):
        return rules.sgd_step(p, g, group["lr"])


class Momentum(RuleOptimizer):
    """m ← m·β + (1−β)·g, then p − m·lr with the updated m (the momentum sheet)."""
    state_keys = ("grad_avg",)

    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def _check_group(self, group):
        super()._check_group(group)
        _check_beta("momentum", group["momentum"])

    def _update(self, p, g, st, group):
        st["grad_avg"] = rules.ewma(st["grad_avg"], g, group["momentum"])
        return rules.sgd_step(p, st["grad_avg"], group["lr"])


class RMSProp(RuleOptimizer):
    """Steps scaled by √ of an average of g² (see the module doc for ``sheet``)."""
    state_keys = ("sqr_avg",)

    def __init__(self, params, lr, beta=0.9, eps=1e-8, sheet=False):
        super().__init__(params, dict(lr=lr, beta=beta, eps=eps, sheet=bool(sheet)))

    def _check_group(self, group):
        super()._check_group(group)
        _check_beta("beta", group["beta"])
        _check_nonneg("eps", group["eps"])  # sheet=True ignores eps: the workbook has none

    def _update(self, p, g, st, group):
        if group["sheet"]:
            new = rules.scaled_step(p, g, group["lr"], st["sqr_avg"])
            st["sqr_avg"] = rules.ewma(st["sqr_avg"], g ** 2, group["beta"])
            return new
        st["sqr_avg"] = rules.ewma(st["sqr_avg"], g ** 2, group["beta"])
        return rules.scaled_step_eps(p, g, group["lr"], st["sqr_avg"], group["eps"])


class Adam(RuleOptimizer):
    """Adam with the sheet's and the usual variants (see the module doc)."""
    state_keys = ("grad_avg", "sqr_avg")

    def __init__(self, params, lr, betas=(0.9, 0.99), eps=1e-8, bias_correction=True, weight_decay=0.):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      bias_correction=bool(bias_correction), weight_decay=weight_decay))

    def _check_group(self, group):
        super()._check_group(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        _check_beta("betas[0]", betas[0])
        _check_beta("betas[1]", betas[1])
        _check_nonneg("eps", group["eps"])
        _check_nonneg("weight_decay", group["weight_decay"])

    def _averages(self, p):
        st = super()._averages(p)
        st.setdefault("step", 0)
        return st

    def _update(self, p, g, st, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        st["step"] += 1
        if group["weight_decay"] != 0:
            p = rules.decay(p, lr, group["weight_decay"])
        st["grad_avg"] = m = rules.ewma(st["grad_avg"], g, b1)
        st["sqr_avg"] = v = rules.ewma(st["sqr_avg"], g ** 2, b2)
        if group["bias_correction"]:
            return rules.adam_step(p, m, v, lr, b1, b2, st["step"], eps)
        if eps == 0:
            return rules.scaled_step(p, m, lr, v)
        return rules.scaled_step_eps(p, m, lr, v, eps)
