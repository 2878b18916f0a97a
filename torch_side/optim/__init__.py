"""The lesson's optimizers as real `torch.optim.Optimizer` subclasses that keep PyTorch's contract.

Every update is the plain-arithmetic function the engine and the workbook's formulas use
(`xlopt.rules`), evaluated each step on `xlopt.expr` symbols into one graph that three paths run
(`RuleOptimizer`, `torch_side.optim.graph`): over lists of tensors with ``torch._foreach_*``
(``foreach=True``, and the default on every device), over one tensor at a time (``foreach=False``;
the same bits as the multi-tensor path in every dtype), or printed as Python and compiled by
torch.compile (``fused=True``). In float64 both unfused paths reproduce the spreadsheet to the last bit.

PyTorch's classes, PyTorch's signatures, defaults and meanings::

  SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
      foreach=None, differentiable=False, fused=None)
  Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
       foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
       decoupled_weight_decay=False, bias_correction=True)
  AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, ...)   Adam, decoupled
  RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
          capturable=False, foreach=None, maximize=False, differentiable=False, *, sheet=False, fused=None)
  Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
          foreach=None, *, maximize=False, differentiable=False, fused=None)
  Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(3.4445,
       -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None, *, maximize, reshape, ns_dtype)

``weight_decay`` is L2 (``g + wd·p``, `rules.l2`) everywhere except AdamW,
``Adam(decoupled_weight_decay=True)``, Lion and Muon, where it shrinks the weights first
(`rules.decay`); both are `compose.weight_decay`, written once, and each class only names its
kind (``decay``). The squared-gradient average annealing reads is named by each class too
(``sqr_avg_key``; `sqr_avg_key_of` answers for torch.optim's twins as well). ``maximize`` ascends (the gradient is
negated). Param-group keys a class does not use are kept, as torch.optim keeps them; lr (and
Adam's betas) may be 1-element Tensors; every argument is checked before ``params`` is read.
Refused at construction, with a message: ``capturable=True``, ``differentiable=True``,
``amsgrad=True`` and sparse parameters. Sparse gradients are refused by ``step()`` before any
parameter moves. Complex parameters are updated as their real view (``torch.view_as_real``), as
torch.optim does.

The lesson's variants, explicit::

  Momentum(params, lr=1e-3, momentum=0.9, weight_decay=0, ...)   the sheets' EWMA momentum:
      m ← m·β + (1−β)·g (`rules.ewma`), p − m·lr; m starts at 0 (torch's SGD momentum is m·β + g,
      starting at g: Momentum equals SGD(momentum=β, dampening=β) once both have a buffer)
  RMSprop(..., eps=0., sheet=True)    the rmsprop sheet: p − g·lr/√s with the PREVIOUS average s,
      no ε (so eps must be 0); then s ← ewma(s, g², alpha)
  Adam(..., eps=0., bias_correction=False)   the adam sheets: m, v as usual, p − m·lr/√v
      (`rules.scaled_step`; with eps > 0 `rules.scaled_step_eps`)

State (PyTorch's key names, so state_dicts interchange with torch.optim both ways)::

  class        state keys                              lesson names (init_state accepts both)
  SGD          momentum_buffer (from the first step)   -
  Momentum     momentum_buffer                         grad_avg
  RMSprop      step, square_avg [, momentum_buffer] [, grad_avg (centered)]   sqr_avg
  Adam, AdamW  step, exp_avg, exp_avg_sq               grad_avg, sqr_avg
  Adagrad      step, sum (from construction, as torch)  sqr_avg
  Lion         exp_avg                                 grad_avg
  ScheduleFreeAdamW  step, weight_sum (numbers), z, x, exp_avg_sq   sqr_avg
  Muon         momentum_buffer                         grad_avg

``step`` is kept as a Python int (torch.optim keeps a float tensor; loading converts either way,
as torch.optim's own ``__setstate__`` does). A torch.optim state_dict loads into the matching class
(torch.optim.SGD → SGD, Adam → Adam, AdamW → AdamW, RMSprop → RMSprop, Adagrad → Adagrad,
Muon → Muon, and SGD(momentum=β, dampening=β) ↔ Momentum, whose state_dict says dampening=β);
ours load into torch.optim. Groups missing our own keys (``sheet``, ``bias_correction``) get the
class defaults, i.e. PyTorch's meaning; torch.optim ignores them, so only the PyTorch variants
(sheet=False, bias_correction=True) continue identically there.

A missing average starts at zeros, as in PyTorch. To start from other values (the sheets' Reset
puts m = momtarget and s = gradtarget on top), call ``opt.init_state(p, grad_avg=..., sqr_avg=...)``
before the first step. ``RMSprop(sheet=True)`` divides by the previous average, so its first step
from a zero ``square_avg`` divides by zero, as the sheet's cell would: seed it.

Square roots: PyTorch's CPU float64 ``sqrt`` is MKL's vdSqrt, which is not correctly rounded (about
1.2% of inputs come out one ulp off, e.g. √6964.288556901134), while the workbook, the engine
(``math.sqrt``) and IEEE hardware round correctly. ``step()`` therefore computes ``sqrt`` of CPU
float64 tensors with `exact_sqrt` (numpy's sqrt, the processor's IEEE instruction). Set
``EXACT_SQRT = False`` on a class or instance to use torch's own sqrt (up to 1 ulp off). In
float32 (not float64) both unfused paths fuse ``a ± s·b`` and ``a + s·b·c`` into fused
multiply-adds and EWMAs into lerps (one rounding instead of two, as torch.optim's own kernels); set
``FMA = False`` for every rounding the rules write (see `torch_side.optim.graph`).
"""
from torch_side.optim.base import RULE_CLASSES, RuleOptimizer, sqr_avg_key_of
from torch_side.optim.classic import SGD, Adagrad, Adam, AdamW, Lion, Momentum, RMSProp, RMSprop
from torch_side.optim.compose import weight_decay
from torch_side.optim.muon import Muon, MuonAdamW
from torch_side.optim.numerics import exact_sqrt, exact_sqrt_mode
from torch_side.optim.schedfree import ScheduleFreeAdamW

__all__ = ["SGD", "Momentum", "RMSprop", "RMSProp", "Adam", "AdamW", "Lion", "Adagrad", "ScheduleFreeAdamW",
           "Muon", "MuonAdamW", "exact_sqrt", "exact_sqrt_mode", "weight_decay", "SCHEDULER_KEYS",
           "RuleOptimizer", "RULE_CLASSES", "sqr_avg_key_of"]

# keys PyTorch's schedulers write into param groups: allowed in any group
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")
