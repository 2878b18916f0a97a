"""The lesson's optimizers as real `torch.optim.Optimizer` subclasses that keep PyTorch's contract.

Every update is the plain-arithmetic function the engine and the workbook's formulas use
(`xlopt.rules`), called on tensors (the per-tensor path) or on `xlopt.expr` symbols evaluated over
lists of tensors with ``torch._foreach_*`` (the multi-tensor path, `torch_side.foreach`). In
float64 the per-tensor path reproduces the spreadsheet to the last bit.

PyTorch's classes, PyTorch's signatures, defaults and meanings::

  SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
      foreach=None, differentiable=False, fused=None)
  Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
       foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
       decoupled_weight_decay=False, bias_correction=True)
  AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, ...)   Adam, decoupled
  RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
          capturable=False, foreach=None, maximize=False, differentiable=False, *, sheet=False)

``weight_decay`` is L2 (``g + wd·p``, `rules.l2`) everywhere except AdamW and
``Adam(decoupled_weight_decay=True)``, where it shrinks the weights first (`rules.decay`).
``maximize`` ascends (the gradient is negated). ``foreach``: None (default) takes the multi-tensor
path when every parameter is on CUDA, the per-tensor path otherwise (PyTorch's choice); True/False
force it. Refused at construction, with a message: ``fused=True``, ``capturable=True``,
``differentiable=True``, ``amsgrad=True``, sparse parameters, a Tensor lr, and param-group keys
the class does not know (a scheduler's ``initial_lr``, ``max_lr``, ``min_lr``, ``max_momentum``,
``base_momentum`` are known). Sparse gradients are refused by ``step()`` before any parameter
moves. Complex parameters are updated as their real view (``torch.view_as_real``), as torch.optim does.

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

``step`` is kept as a Python int (torch.optim keeps a float tensor; loading converts either way,
as torch.optim's own ``__setstate__`` does). A torch.optim state_dict loads into the matching class
(torch.optim.SGD → SGD, Adam → Adam, AdamW → AdamW, RMSprop → RMSprop, and SGD(momentum=β,
dampening=β) ↔ Momentum); ours load into torch.optim. Groups missing our own keys (``sheet``,
``bias_correction``) get the class defaults, i.e. PyTorch's meaning; torch.optim ignores them, so
only the PyTorch variants (sheet=False, bias_correction=True) continue identically there.

A missing average starts at zeros, as in PyTorch. To start from other values (the sheets' Reset
puts m = momtarget and s = gradtarget on top), call ``opt.init_state(p, grad_avg=..., sqr_avg=...)``
before the first step. ``RMSprop(sheet=True)`` divides by the previous average, so its first step
from a zero ``square_avg`` divides by zero, as the sheet's cell would: seed it.

Square roots: PyTorch's CPU float64 ``sqrt`` is MKL's vdSqrt, which is not correctly rounded (about
1.2% of inputs come out one ulp off, e.g. √6964.288556901134), while the workbook, the engine
(``math.sqrt``) and IEEE hardware round correctly. ``step()`` therefore computes ``sqrt`` of CPU
float64 tensors with `exact_sqrt` (numpy's sqrt, the processor's IEEE instruction). Set
``EXACT_SQRT = False`` on a class or instance to use torch's own sqrt (up to 1 ulp off). The
multi-tensor path fuses ``a ± s·b`` and ``a + s·b·c`` into fused multiply-adds (one rounding
instead of two, as torch.optim's own kernels); set ``FMA = False`` for exactly the per-tensor
path's numbers (see `torch_side.foreach`).
"""
import contextlib
import math

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from xlopt.core import rules
from xlopt.core.expr import square

from torch_side.foreach import evaluate, sym

__all__ = ["SGD", "Momentum", "RMSprop", "RMSProp", "Adam", "AdamW", "exact_sqrt", "exact_sqrt_mode",
           "SCHEDULER_KEYS"]

# keys PyTorch's schedulers write into param groups: allowed in any group
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


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


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_lr(lr):
    if isinstance(lr, torch.Tensor):
        raise ValueError("lr as a Tensor is not supported (PyTorch uses it for capturable/fused "
                         "steps, which torch_side does not have): pass a float")
    if not _number(lr) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")


def _check_beta(name, beta):
    if not _number(beta) or not 0 <= beta < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {beta!r}")


def _check_nonneg(name, v):
    if not _number(v) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")


def _check_flag(name, v):
    if not isinstance(v, bool):
        raise ValueError(f"{name} must be True or False, got {v!r}")


def _real(t):
    return torch.view_as_real(t) if t.is_complex() else t


_UNSUPPORTED = {  # key: (the only accepted values, why)
    "fused": ((None, False), "fused=True is not supported: torch_side's steps run the xlopt rules "
              "(use foreach=True for the multi-tensor path, or torch.optim's fused kernel)"),
    "capturable": ((False,), "capturable=True (CUDA-graph capture) is not supported: the rules "
                   "take their hyper-parameters and step count as Python numbers"),
    "differentiable": ((False,), "differentiable=True is not supported: step() runs under "
                       "torch.no_grad, so no graph is kept through the update"),
    "amsgrad": ((False,), "amsgrad=True is not supported: the rules keep no running maximum of "
                "the squared-gradient average (use torch.optim.Adam(amsgrad=True))"),
}


def _check_betas(betas):
    """A pair (β1, β2), each as `_check_beta` allows (Adam's and Lion's)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    _check_beta("betas[0]", betas[0])
    _check_beta("betas[1]", betas[1])


class RuleOptimizer(torch.optim.Optimizer):
    """What every optimizer here shares: validation, state, state_dict interchange, both paths.

    A subclass lists its state tensors in ``state_keys`` (PyTorch's names) and their lesson names
    in ``lesson_names``, says which a group needs in ``_keys(group)``, checks a group in
    ``_check_group`` and writes its update once, in ``_math(group, p, g, state, step)``: p, g and
    the state values are tensors (per-tensor path) or symbols (multi-tensor path); it returns
    ``(new p, {state key: new value})`` computed by `xlopt.rules` functions.
    """
    state_keys = ()
    lesson_names = {}
    lazy_keys = ()          # state that the first step creates from the gradient (SGD's buffer)
    counts_steps = False    # keeps state['step']
    EXACT_SQRT = True
    FMA = True

    def __init__(self, params, defaults):
        super().__init__(params, defaults)

    # --- param groups -------------------------------------------------------------------------
    def _check_keys(self, keys):
        unknown = sorted(set(keys) - set(self.defaults) - {"params", "param_names", *SCHEDULER_KEYS})
        if unknown:
            raise ValueError(f"{type(self).__name__} has no hyper-parameter {', '.join(map(repr, unknown))}; "
                             f"its param groups take {', '.join(sorted(self.defaults))}")

    def add_param_group(self, param_group):
        if isinstance(param_group, dict):
            self._check_keys(param_group)
        super().add_param_group(param_group)
        try:
            group = self.param_groups[-1]
            self._check_group(group)
            for p in group["params"]:
                if p.is_sparse or p.layout != torch.strided:
                    raise ValueError(f"{type(self).__name__} does not support sparse parameters "
                                     "(use torch.optim.SparseAdam)")
        except ValueError:
            self.param_groups.pop()
            raise

    def _check_group(self, group):
        for key, (ok, why) in _UNSUPPORTED.items():
            if key in group and group[key] not in ok:
                raise ValueError(f"{type(self).__name__}: {why}")
        _check_lr(group["lr"])
        _check_nonneg("weight_decay", group["weight_decay"])
        _check_flag("maximize", group["maximize"])
        if group["foreach"] not in (None, True, False):
            raise ValueError(f"foreach must be None, True or False, got {group['foreach']!r}")

    # --- state ---------------------------------------------------------------------------------
    def state_name(self, name):
        """The state key for ``name``, a PyTorch key or one of the lesson's names (grad_avg, sqr_avg)."""
        if name in self.state_keys:
            return name
        if name in self.lesson_names:
            return self.lesson_names[name]
        known = list(self.state_keys) + [f"{k} (= {v})" for k, v in self.lesson_names.items()]
        raise ValueError(f"{type(self).__name__} keeps no state {name!r}; its state is "
                         f"{', '.join(known) or 'empty'}")

    def init_state(self, p, **tensors):
        """Seed a parameter's state (e.g. ``grad_avg=momtarget``) before its first step."""
        keys = {k: self.state_name(k) for k in tensors}
        st = self.state[p]
        for k, v in tensors.items():
            t = torch.as_tensor(v, dtype=p.dtype, device=p.device)
            st[keys[k]] = t.expand_as(p).clone() if t.shape != p.shape else t.clone()

    def _keys(self, group):
        return self.state_keys

    def _prepare(self, p, group):
        st = self.state[p]
        for k in self._keys(group):
            if k not in st and k not in self.lazy_keys:
                st[k] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if self.counts_steps:
            st["step"] = int(st.get("step", 0)) + 1
        return st

    def load_state_dict(self, state_dict):
        """torch.optim's, after checking every saved group as a new one would be (nothing is
        changed when a group is refused); groups lacking one of our keys get the class default."""
        for g in state_dict["param_groups"]:
            self._check_keys(g)
            self._check_group({**self.defaults, **g})
        super().load_state_dict(state_dict)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for k, v in self.defaults.items():
                group.setdefault(k, v)
        for st in self.state.values():
            if isinstance(st, dict) and torch.is_tensor(st.get("step")):
                st["step"] = int(st["step"].item())

    # --- stepping --------------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for gi, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is not None and (p.grad.is_sparse or p.grad.layout != torch.strided):
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients "
                                       f"(param group {gi}, parameter {i}); no parameter was updated")
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            foreach = group["foreach"]
            if foreach is None:
                foreach = all(p.device.type == "cuda" for p in params)
            (self._step_foreach if foreach else self._step_loop)(group, params)
        return loss

    def _step_loop(self, group, params):
        exact = self.EXACT_SQRT and any(p.dtype in (torch.float64, torch.complex128) and p.device.type == "cpu"
                                        for p in params)
        with exact_sqrt_mode() if exact else contextlib.nullcontext():
            for p in params:
                st = self._prepare(p, group)
                pv, g = _real(p), _real(p.grad)
                if group["maximize"]:
                    g = -g
                cur = {k: _real(st[k]) for k in self._keys(group) if k in st}
                new_p, new_st = self._math(group, pv, g, cur, st.get("step"))
                pv.copy_(new_p)
                for k, v in new_st.items():
                    if k in st:
                        _real(st[k]).copy_(v)
                    else:
                        v = v.clone() if any(v is x for x in (pv, g, *cur.values())) else v
                        st[k] = torch.view_as_complex(v) if p.is_complex() else v

    def _step_foreach(self, group, params):
        buckets = {}
        for p in params:
            st = self._prepare(p, group)
            present = tuple(k in st for k in self._keys(group))
            buckets.setdefault((p.device, _real(p).dtype, st.get("step"), present), []).append(p)
        exact = exact_sqrt if self.EXACT_SQRT else None
        for (_, _, step, present), ps in buckets.items():
            states = [self.state[p] for p in ps]
            keys = [k for k, here in zip(self._keys(group), present) if here]
            env = {"p": [_real(p) for p in ps], "g": [_real(p.grad) for p in ps]}
            if group["maximize"]:
                env["g"] = torch._foreach_neg(env["g"])
            for k in keys:
                env[k] = [_real(s[k]) for s in states]
            new_p, new_st = self._math(group, sym("p"), sym("g"), {k: sym(k) for k in keys}, step)
            outs = [(new_p, "p")] + [(v, k if k in env else None) for k, v in new_st.items()]
            created = evaluate(outs, env, fma=self.FMA, exact_sqrt=exact)
            for k, vals in zip([k for k in new_st if k not in env], created):
                for s, p, v in zip(states, ps, vals):
                    s[k] = torch.view_as_complex(v) if p.is_complex() else v


class SGD(RuleOptimizer):
    """torch.optim.SGD: p − lr·d, d = g, or the heavy-ball buffer (`rules.heavy_ball`, Nesterov's
    `rules.nesterov`); with no momentum this is the basic sheet's new a / new b."""
    state_keys = ("momentum_buffer",)
    lazy_keys = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                                      foreach=foreach, differentiable=differentiable, fused=fused))

    def _check_group(self, group):
        super()._check_group(group)
        _check_nonneg("momentum", group["momentum"])
        if not _number(group["dampening"]) or not math.isfinite(group["dampening"]):
            raise ValueError(f"dampening must be a finite number, got {group['dampening']!r}")
        _check_flag("nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

    def _keys(self, group):
        return self.state_keys if group["momentum"] != 0 else ()

    def _math(self, group, p, g, st, step):
        lr, mom, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd != 0:
            g = rules.l2(g, p, wd)
        if mom == 0:
            return rules.sgd_step(p, g, lr), {}
        buf = st.get("momentum_buffer")
        buf = g if buf is None else rules.heavy_ball(buf, g, mom, group["dampening"])
        d = rules.nesterov(g, buf, mom) if group["nesterov"] else buf
        return rules.sgd_step(p, d, lr), {"momentum_buffer": buf}


class Momentum(RuleOptimizer):
    """The momentum sheet: m ← m·β + (1−β)·g (`rules.ewma`), then p − m·lr with the updated m.

    nesterov=True is the nesterov sheet: the step is the look-ahead β·m + (1−β)·g with the updated
    m (one more `rules.ewma`), the EWMA form of Nesterov's momentum (torch.optim.SGD's nesterov is
    the heavy-ball form g + β·buf)."""
    state_keys = ("momentum_buffer",)
    lesson_names = {"grad_avg": "momentum_buffer"}

    def __init__(self, params, lr=1e-3, momentum=0.9, weight_decay=0, *, nesterov=False, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach, differentiable=differentiable,
                                      fused=fused))

    def _check_group(self, group):
        super()._check_group(group)
        _check_beta("momentum", group["momentum"])
        _check_flag("nesterov", group["nesterov"])

    def _math(self, group, p, g, st, step):
        if group["weight_decay"] != 0:
            g = rules.l2(g, p, group["weight_decay"])
        m = rules.ewma(st["momentum_buffer"], g, group["momentum"])
        d = rules.ewma(m, g, group["momentum"]) if group["nesterov"] else m
        return rules.sgd_step(p, d, group["lr"]), {"momentum_buffer": m}


class RMSprop(RuleOptimizer):
    """torch.optim.RMSprop (centered, momentum), and the rmsprop sheet's variant with sheet=True."""
    state_keys = ("square_avg", "momentum_buffer", "grad_avg")
    lesson_names = {"sqr_avg": "square_avg"}
    counts_steps = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False, *, sheet=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, sheet=sheet))

    def _check_group(self, group):
        super()._check_group(group)
        if not _number(group["alpha"]) or not 0 <= group["alpha"] <= 1:
            raise ValueError(f"alpha must be a number in [0, 1], got {group['alpha']!r}")
        _check_nonneg("eps", group["eps"])
        _check_nonneg("momentum", group["momentum"])
        _check_flag("centered", group["centered"])
        _check_flag("sheet", group["sheet"])
        if group["sheet"] and (group["eps"] != 0 or group["centered"] or group["momentum"] != 0):
            raise ValueError("RMSprop(sheet=True) is the workbook's step p − g·lr/√s with the previous "
                             "average and no ε: pass eps=0., and neither centered nor momentum")

    def _keys(self, group):
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + \
            (("grad_avg",) if group["centered"] else ())

    def _math(self, group, p, g, st, step):
        lr, alpha, eps, mom = group["lr"], group["alpha"], group["eps"], group["momentum"]
        if group["weight_decay"] != 0:
            g = rules.l2(g, p, group["weight_decay"])
        if group["sheet"]:
            new = rules.scaled_step(p, g, lr, st["square_avg"])
            return new, {"square_avg": rules.ewma(st["square_avg"], square(g), alpha)}
        s = rules.ewma(st["square_avg"], square(g), alpha)
        out, var = {"square_avg": s}, s
        if group["centered"]:
            out["grad_avg"] = ga = rules.ewma(st["grad_avg"], g, alpha)
            var = rules.centered(s, ga)
        if mom > 0:
            out["momentum_buffer"] = buf = rules.rms_momentum(st["momentum_buffer"], g, var, mom, eps)
            return rules.sgd_step(p, buf, lr), out
        return rules.scaled_step_eps(p, g, lr, var, eps), out


RMSProp = RMSprop  # the lesson's spelling


class Adam(RuleOptimizer):
    """torch.optim.Adam, and the adam sheets' variant with eps=0., bias_correction=False."""
    state_keys = ("exp_avg", "exp_avg_sq")
    lesson_names = {"grad_avg": "exp_avg", "sqr_avg": "exp_avg_sq"}
    counts_steps = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False, bias_correction=True):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      bias_correction=bias_correction))

    def _check_group(self, group):
        super()._check_group(group)
        _check_betas(group["betas"])
        _check_nonneg("eps", group["eps"])
        _check_flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        _check_flag("bias_correction", group["bias_correction"])

    def _math(self, group, p, g, st, t):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p = rules.decay(p, lr, wd)
            else:
                g = rules.l2(g, p, wd)
        m = rules.ewma(st["exp_avg"], g, b1)
        v = rules.ewma(st["exp_avg_sq"], square(g), b2)
        if group["bias_correction"]:
            new = rules.adam_step(p, m, v, lr, b1, b2, t, eps)
        elif eps == 0:
            new = rules.scaled_step(p, m, lr, v)
        else:
            new = rules.scaled_step_eps(p, m, lr, v, eps)
        return new, {"exp_avg": m, "exp_avg_sq": v}


class Lion(RuleOptimizer):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), the lion sheet:
    c = β1·m + (1−β1)·g, p ← p·(1 − lr·wd) − lr·sign(c) (`rules.decay`, `rules.sign_step`), then
    m ← β2·m + (1−β2)·g (`rules.ewma` throughout). Weight decay is decoupled, as the paper's."""
    state_keys = ("exp_avg",)
    lesson_names = {"grad_avg": "exp_avg"}

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0, *, maximize=False, foreach=None,
                 differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, differentiable=differentiable, fused=fused))

    def _check_group(self, group):
        super()._check_group(group)
        _check_betas(group["betas"])

    def _math(self, group, p, g, st, step):
        lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
        c = rules.ewma(st["exp_avg"], g, b1)
        new = rules.sign_step(rules.decay(p, lr, wd) if wd != 0 else p, c, lr)
        return new, {"exp_avg": rules.ewma(st["exp_avg"], g, b2)}


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None,
                 bias_correction=True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, bias_correction=bias_correction)
