"""The lesson's optimizers as real `torch.optim.Optimizer` subclasses that keep PyTorch's contract.

Every update is the plain-arithmetic function the engine and the workbook's formulas use
(`xlopt.rules`), evaluated each step on `xlopt.expr` symbols into one graph that three paths run
(`RuleOptimizer`, `torch_side.foreach`): over lists of tensors with ``torch._foreach_*``
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
(`rules.decay`); both are `weight_decay` here, written once. ``maximize`` ascends (the gradient is
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
``FMA = False`` for every rounding the rules write (see `torch_side.foreach`).
"""
import collections
import math
import os
import shutil

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from xlopt.core import rules
from xlopt.core.expr import square

from torch_side.foreach import compiled, plan, printed, sym

__all__ = ["SGD", "Momentum", "RMSprop", "RMSProp", "Adam", "AdamW", "Lion", "Adagrad", "ScheduleFreeAdamW",
           "Muon", "MuonAdamW", "exact_sqrt", "exact_sqrt_mode", "weight_decay", "SCHEDULER_KEYS"]

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


def _value(name, x):
    """A hyper-parameter as a Python number: a 1-element Tensor (torch.optim takes Tensor lr and
    betas) is read as its value; anything else is returned as it is."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element, got shape {tuple(x.shape)}")
        return x.item()
    return x


def _check_lr(lr):
    lr = _value("lr", lr)
    if not _number(lr) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")


def _check_beta(name, beta):
    beta = _value(name, beta)
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
    "capturable": ((False,), "capturable=True (CUDA-graph capture) is not supported: the rules "
                   "take their hyper-parameters and step count as Python numbers (use fused=True "
                   "for a compiled step, or torch.optim's capturable kernels)"),
    "differentiable": ((False,), "differentiable=True is not supported: step() runs under "
                       "torch.no_grad, so no graph is kept through the update (use torch.optim's "
                       "differentiable=True)"),
    "amsgrad": ((False,), "amsgrad=True is not supported: the rules keep no running maximum of "
                "the squared-gradient average (use torch.optim.Adam(amsgrad=True))"),
}


def _check_betas(betas):
    """A pair (β1, β2), each as `_check_beta` allows (Adam's and Lion's)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    _check_beta("betas[0]", betas[0])
    _check_beta("betas[1]", betas[1])


def weight_decay(p, g, lr, wd, decoupled):
    """The one place weight decay happens: decoupled (`rules.decay`, AdamW's, Lion's: the weights
    shrink before the step) or L2 (`rules.l2`, torch.optim's ``weight_decay``: wd·p added to g).
    Returns (p, g); nothing changes when wd is 0."""
    if wd == 0:
        return p, g
    return (rules.decay(p, lr, wd), g) if decoupled else (p, rules.l2(g, p, wd))


def _numbers(group):
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


class RuleOptimizer(torch.optim.Optimizer):
    """What every optimizer here shares: validation, state, state_dict interchange, three paths.

    A subclass lists its state tensors in ``state_keys`` (PyTorch's names) and their lesson names
    in ``lesson_names``, says which a group needs in ``_keys(group)``, checks a group in
    ``_check_group`` and writes its update once, in ``_math(group, p, g, state, step)``: p, g and
    the state values are tensors (fused path) or symbols (per-tensor and multi-tensor paths); it
    returns ``(new p, {state key: new value})`` computed by `xlopt.rules` functions.

    The paths: ``foreach=True`` evaluates the rule's graph once over lists of all a bucket's
    tensors (`torch_side.foreach`); ``foreach=False`` evaluates the same graph once per parameter,
    so the two give the same bits in every dtype (same operations, same fusions); ``foreach=None``
    takes the multi-tensor path on every device (measured faster than the per-tensor one on CPU
    and CUDA, see bench/optim_speed.py). ``fused=True`` compiles the per-tensor math of a whole
    bucket with torch.compile (Inductor) into fused kernels: its float32 results agree with the
    other paths to a few ulps (the compiler reassociates), float64 to 1e-12 relative.
    """
    state_keys = ()
    lesson_names = {}
    lazy_keys = ()          # state that the first step creates from the gradient (SGD's buffer)
    counts_steps = False    # keeps state['step']
    scalar_keys = ("step",)  # per-parameter Python-number state (init_state/linreg seed them as numbers)
    elementwise = True      # False: the math is not element-wise (Muon), it runs on tensors only
    EXACT_SQRT = True
    FMA = True

    def __init__(self, params, defaults):
        # every argument is checked before params is read (a generator is left untouched)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    # --- param groups -------------------------------------------------------------------------
    def add_param_group(self, param_group):
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
        if group.get("foreach") not in (None, True, False):
            raise ValueError(f"foreach must be None, True or False, got {group['foreach']!r}")
        if group.get("fused") not in (None, True, False):
            raise ValueError(f"fused must be None, True or False, got {group['fused']!r}")
        if group.get("fused") and group.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

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

    def _scalars(self, group, st):
        """Advance the per-parameter numbers a step reads (the step count) and return them."""
        if not self.counts_steps:
            return None
        st["step"] = int(st.get("step", 0)) + 1
        return st["step"]

    def _fresh(self, p, key):
        """A missing state tensor: zeros, as in PyTorch."""
        return torch.zeros_like(p, memory_format=torch.preserve_format)

    def _prepare(self, p, group, keys):
        """One parameter's state, missing entries made (`_fresh`), and its scalars."""
        st = self.state[p]
        for k in keys:
            if k not in st and k not in self.lazy_keys:
                st[k] = self._fresh(p, k)
        return st, self._scalars(group, st)

    def load_state_dict(self, state_dict):
        """torch.optim's, after checking every saved group as a new one would be (nothing is
        changed when a group is refused); groups lacking one of our keys get the class default,
        keys we do not know are kept (as torch.optim keeps them)."""
        for g in state_dict["param_groups"]:
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
            hp = _numbers(group)
            if hp.get("fused"):
                self._step_fused(group, hp, params)
            elif not self.elementwise:
                self._step_tensors(hp, params)
            else:
                self._step_graph(group, hp, params, per_tensor=hp.get("foreach") is False)
        return loss

    def _buckets(self, group, params, per_tensor):
        """Parameters that step together: same device, dtype, scalars and state present.
        Returns [(params, scalars, state keys present, their state dicts)]."""
        keys = self._keys(group)
        if not keys and not self.counts_steps:  # no state at all (plain SGD): none is created
            return [([p], None, [], []) for p in params] if per_tensor else [(params, None, [], [])]
        state, lazy = self.state, self.lazy_keys
        sts = [state[p] for p in params]
        for k in keys:
            if k not in lazy:
                for p, st in zip(params, sts):
                    if k not in st:
                        st[k] = self._fresh(p, k)
        scalars = [self._scalars(group, st) for st in sts] if self.counts_steps else [None] * len(params)
        if per_tensor:
            return [([p], sc, [k for k in keys if k in st], [st]) for p, sc, st in zip(params, scalars, sts)]
        s0, st0 = scalars[0], sts[0]
        here0 = [k for k in keys if k in st0]
        n0 = len(st0)
        if all(sc == s0 for sc in scalars) and all(len(st) == n0 for st in sts) and \
                all(k in st for st in sts for k in here0) and len({(p.device, p.dtype) for p in params}) == 1:
            return [(params, s0, here0, sts)]  # the usual case: one bucket
        buckets = {}
        for p, sc, st in zip(params, scalars, sts):
            present = tuple(k in st for k in keys)
            b = buckets.setdefault((p.device, p.dtype, sc, present), ([], sc, [k for k in keys if k in st], []))
            b[0].append(p)
            b[3].append(st)
        return list(buckets.values())

    def _step_graph(self, group, hp, params, per_tensor):
        """The per-tensor (a bucket per parameter) and multi-tensor paths: one graph of the rule,
        evaluated with ``torch._foreach_*`` over the bucket's lists."""
        exact = exact_sqrt if self.EXACT_SQRT else None
        graphs = {}
        for ps, scalars, keys, states in self._buckets(group, params, per_tensor):
            cplx = ps[0].dtype.is_complex  # a bucket has one dtype
            env = {"p": [_real(p) for p in ps] if cplx else list(ps),
                   "g": [_real(p.grad) for p in ps] if cplx else [p.grad for p in ps]}
            if hp["maximize"]:
                env["g"] = torch._foreach_neg(env["g"])
            for k in keys:
                env[k] = [_real(s[k]) for s in states] if cplx else [s[k] for s in states]
            gkey = (scalars, tuple(keys))
            if gkey not in graphs:  # one graph per distinct step and state, run over each bucket
                graphs[gkey] = self._plan(hp, scalars, keys)
            graph, made = graphs[gkey]
            fma = self.FMA and ps[0].dtype not in (torch.float64, torch.complex128)
            created = graph.run(env, fma=fma, exact_sqrt=exact)
            for k, vals in zip(made, created):
                for s, p, v in zip(states, ps, vals):
                    s[k] = torch.view_as_complex(v) if p.is_complex() else v

    def _plan(self, hp, scalars, keys):
        """The analysed graph of one step (and the state keys it creates), kept while the numbers it
        folds in are the same (SGD's every step; Adam's changes with the step count)."""
        try:
            key = (scalars, tuple(keys), tuple(sorted((k, v) for k, v in hp.items() if k != "param_names")))
            hash(key)
        except TypeError:  # an unhashable value in the group (a key we do not use): no reuse
            key = None
        cache = self.__dict__.setdefault("_plans", {})
        if key is not None and key in cache:
            return cache[key]
        new_p, new_st = self._math(hp, sym("p"), sym("g"), {k: sym(k) for k in keys}, scalars)
        outs = [(new_p, "p")] + [(v, k if k in keys else None) for k, v in new_st.items()]
        made = (plan(outs), [k for k in new_st if k not in keys])
        if key is not None:
            if len(cache) > 16:
                cache.clear()
            cache[key] = made
        return made

    @staticmethod
    def _check_compiler(device):
        """fused=True compiles C++ on CPU: without a compiler, one message instead of Inductor's."""
        if device.type == "cpu" and not any(shutil.which(c) for c in (os.environ.get("CXX") or "g++", "c++",
                                                                        "clang++")):
            raise RuntimeError("fused=True compiles the step with torch.compile, which needs a C++ compiler "
                               "on CPU (g++, c++ or clang++ on PATH, or CXX): install one (apt-get install "
                               "g++) or use foreach=True")

    def _fused_plan(self, hp, scalars, keys, device):
        """The compiled step and its numbers (one float64 tensor, read in the kernel), kept while
        the numbers are the same (as `_plan`)."""
        try:
            key = (device, scalars, tuple(keys), tuple(sorted((k, v) for k, v in hp.items() if k != "param_names")))
            hash(key)
        except TypeError:
            key = None
        cache = self.__dict__.setdefault("_fused_plans", {})
        if key is not None and key in cache:
            return cache[key]
        new_p, new_st = self._math(hp, sym("p"), sym("g"), {k: sym(k) for k in keys}, scalars)
        source, consts = printed([(new_p, "p")] + [(v, k) for k, v in new_st.items()], keys)
        made = compiled(source), torch.tensor(consts, dtype=torch.float64, device=device)
        if key is not None:
            if len(cache) > 16:
                cache.clear()
            cache[key] = made
        return made

    def _step_tensors(self, hp, params):
        """Math that is not element-wise (Muon's matrices): the rule on each parameter's tensors."""
        keys = self._keys(hp)
        for p in params:
            st, scalars = self._prepare(p, hp, keys)
            g = -p.grad if hp["maximize"] else p.grad
            new_p, new_st = self._math(hp, p, g, {k: st[k] for k in keys if k in st}, scalars)
            p.copy_(new_p)
            for k, v in new_st.items():
                if k in st:
                    st[k].copy_(v)
                else:
                    st[k] = v

    def _step_fused(self, group, hp, params):
        """``fused=True``: the bucket's graph (the same one the other paths run) printed once as
        Python over one parameter (`torch_side.foreach.printed`) and compiled by torch.compile into
        fused kernels. Every number of the graph (lr, the bias corrections, β) is read from one
        float64 tensor argument, so the next step and a schedule run the same compiled code, and
        the scalar work happens once per step in Python, not per element."""
        if not self.__dict__.get("_compiler_ok"):  # before any state moves
            self._check_compiler(params[0].device)
            self._compiler_ok = True
        for ps, scalars, keys, states in self._buckets(group, params, False):
            kernel, c = self._fused_plan(hp, scalars, keys, ps[0].device)
            re = _real if ps[0].dtype.is_complex else (lambda t: t)  # a bucket has one dtype
            sts = {k: [re(s[k]) for s in states] for k in keys}
            created = kernel([re(p) for p in ps], [re(p.grad) for p in ps], sts, c, hp["maximize"])
            for s, p, made in zip(states, ps, created):
                for k, v in made.items():
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
        lr, mom = group["lr"], group["momentum"]
        p, g = weight_decay(p, g, lr, group["weight_decay"], decoupled=False)
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
    the heavy-ball form g + β·buf).

    Its torch twin is ``torch.optim.SGD(momentum=β, dampening=β)`` (with nesterov=False): the
    state_dict says ``dampening=β`` in each group, so torch.optim.SGD loads and steps it, and an
    SGD state_dict with dampening = momentum loads here (its ``dampening`` then follows momentum;
    any other dampening is refused, since that is not this optimizer)."""
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
        if "dampening" in group and (group["nesterov"] or _value("dampening", group["dampening"])
                                     != _value("momentum", group["momentum"])):
            raise ValueError(
                f"this group is SGD(momentum={group['momentum']}, dampening={group['dampening']}, "
                f"nesterov={group['nesterov']}); Momentum is SGD(momentum=β, dampening=β) without "
                "nesterov: load it into torch_side.optim.SGD instead")

    def state_dict(self):
        sd = super().state_dict()
        for g in sd["param_groups"]:
            if not g["nesterov"]:  # torch.optim.SGD's reading of the same numbers
                g["dampening"] = g["momentum"]
        return sd

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for g in self.param_groups:
            g.pop("dampening", None)  # it is the momentum: kept in step by state_dict()

    def _math(self, group, p, g, st, step):
        p, g = weight_decay(p, g, group["lr"], group["weight_decay"], decoupled=False)
        m = rules.ewma(st["momentum_buffer"], g, group["momentum"])
        d = rules.ewma(m, g, group["momentum"]) if group["nesterov"] else m
        return rules.sgd_step(p, d, group["lr"]), {"momentum_buffer": m}


class RMSprop(RuleOptimizer):
    """torch.optim.RMSprop (centered, momentum), and the rmsprop sheet's variant with sheet=True."""
    state_keys = ("square_avg", "momentum_buffer", "grad_avg")
    lesson_names = {"sqr_avg": "square_avg"}
    counts_steps = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False, *, sheet=False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, sheet=sheet,
                                      fused=fused))

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
        p, g = weight_decay(p, g, lr, group["weight_decay"], decoupled=False)
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
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        p, g = weight_decay(p, g, lr, group["weight_decay"], group["decoupled_weight_decay"])
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
        lr, (b1, b2) = group["lr"], group["betas"]
        c = rules.ewma(st["exp_avg"], g, b1)
        p, _ = weight_decay(p, g, lr, group["weight_decay"], decoupled=True)
        new = rules.sign_step(p, c, lr)
        return new, {"exp_avg": rules.ewma(st["exp_avg"], g, b2)}


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None,
                 bias_correction=True):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True, bias_correction=bias_correction)


class Adagrad(RuleOptimizer):
    """torch.optim.Adagrad (Duchi et al. 2011), the adagrad sheet: s ← s + g² (`rules.accumulate`),
    p ← p − g·lr_t/(√s + ε) (`rules.scaled_step_eps`) with lr_t = lr/(1 + (t−1)·lr_decay)
    (`rules.decayed_lr`). The sum never forgets, so every coordinate's step shrinks like 1/√t."""
    state_keys = ("sum",)
    lesson_names = {"sqr_avg": "sum"}
    counts_steps = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # as torch.optim.Adagrad: the state exists from the start
            for p in group["params"]:
                self._init_sum(p, group)

    def _init_sum(self, p, group):
        st = self.state[p]
        if "sum" not in st:
            v = group["initial_accumulator_value"]
            init = complex(v, v) if p.is_complex() else v
            st["sum"] = torch.full_like(p, init, memory_format=torch.preserve_format)
            st["step"] = 0

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if hasattr(self, "state"):
            for p in self.param_groups[-1]["params"]:
                if self.param_groups[-1] is not None and len(self.param_groups) > 0 and p not in self.state:
                    self._init_sum(p, self.param_groups[-1])

    def _check_group(self, group):
        super()._check_group(group)
        _check_nonneg("lr_decay", group["lr_decay"])
        _check_nonneg("initial_accumulator_value", group["initial_accumulator_value"])
        _check_nonneg("eps", group["eps"])

    def _math(self, group, p, g, st, t):
        p, g = weight_decay(p, g, group["lr"], group["weight_decay"], decoupled=False)
        s = rules.accumulate(st["sum"], g)
        lr_t = rules.decayed_lr(group["lr"], t, group["lr_decay"])
        return rules.scaled_step_eps(p, g, lr_t, s, group["eps"]), {"sum": s}


class ScheduleFreeAdamW(RuleOptimizer):
    """Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled", Algorithm 1), the
    schedfree sheet. Three sequences per parameter; the model's weights hold y, where the gradient
    is taken::

        y_t     = (1−β1)·z_t + β1·x_t                  (`rules.sf_y`; the parameter itself)
        v_t     = β2·v_{t−1} + (1−β2)·g_t²             (`rules.ewma`)
        γ_t     = lr·√(1−β2^t)·min(1, t/warmup_steps)  (`rules.warmup_lr`)
        z_{t+1} = z_t − γ_t·g_t/(√v_t + ε) − γ_t·λ·y_t (`rules.sf_z`, `rules.sf_decay`)
        c_{t+1} = γ_t² / Σ_{i≤t} γ_i²                  (`rules.weight_sum`, `rules.avg_weight`)
        x_{t+1} = (1−c_{t+1})·x_t + c_{t+1}·z_{t+1}    (`rules.sf_x`)

    x, the average of the z's weighted by γ², is the point to evaluate: call ``opt.eval()`` before
    evaluating or saving the model (the weights become x) and ``opt.train()`` before training on
    (they become y again). No learning-rate schedule is needed: the averaging does what a decaying
    schedule does, without knowing the stopping time. State: z, x, exp_avg_sq (tensors), step and
    weight_sum (Σ γ_i², a number)."""
    state_keys = ("z", "x", "exp_avg_sq")
    lesson_names = {"sqr_avg": "exp_avg_sq"}
    counts_steps = True
    scalar_keys = ("step", "weight_sum")

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, warmup_steps=0, *,
                 maximize=False, foreach=None, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      warmup_steps=warmup_steps, maximize=maximize, foreach=foreach,
                                      fused=fused))
        self.training = True

    def _check_group(self, group):
        super()._check_group(group)
        _check_betas(group["betas"])
        _check_nonneg("eps", group["eps"])
        _check_nonneg("warmup_steps", group["warmup_steps"])

    def _fresh(self, p, key):
        if key in ("z", "x"):  # z_1 = x_1 = the starting weights
            return p.detach().clone(memory_format=torch.preserve_format)
        return super()._fresh(p, key)

    def step(self, closure=None):
        if not self.training:
            raise RuntimeError("ScheduleFreeAdamW.step() after opt.eval(): the weights hold x, the "
                               "average; call opt.train() first")
        return super().step(closure)

    def _scalars(self, group, st):
        t = st["step"] = int(st.get("step", 0)) + 1
        lr_t = rules.warmup_lr(group["lr"], group["betas"][1], t, group["warmup_steps"])
        st["weight_sum"] = rules.weight_sum(st.get("weight_sum", 0.0), lr_t)
        return t, st["weight_sum"]

    def _math(self, group, y, g, st, scalars):
        t, wsum = scalars
        (b1, b2), eps, wd = group["betas"], group["eps"], group["weight_decay"]
        lr_t = rules.warmup_lr(group["lr"], b2, t, group["warmup_steps"])
        c = rules.avg_weight(lr_t, wsum)
        v = rules.ewma(st["exp_avg_sq"], square(g), b2)
        z = rules.sf_z(st["z"], g, v, lr_t, eps)
        if wd != 0:
            z = rules.sf_decay(z, y, lr_t, wd)
        x = rules.sf_x(st["x"], z, c)
        return rules.sf_y(z, x, b1), {"z": z, "x": x, "exp_avg_sq": v}

    @torch.no_grad()
    def eval(self):
        """Put x (the average) into the weights, to evaluate or save the model."""
        if self.training:
            for st, p in self._with_state():
                p.copy_(st["x"])
        self.training = False

    @torch.no_grad()
    def train(self):
        """Put y = (1−β1)·z + β1·x back into the weights, to train on."""
        if not self.training:
            for st, p, b1 in self._with_state(beta=True):
                p.copy_(rules.sf_y(st["z"], st["x"], b1))
        self.training = True

    def _with_state(self, beta=False):
        for group in self.param_groups:
            b1 = _value("betas[0]", group["betas"][0])
            for p in group["params"]:
                st = self.state.get(p)
                if st and "x" in st:
                    yield (st, p, b1) if beta else (st, p)

    def state_dict(self):
        sd = super().state_dict()
        sd["training"] = self.training
        return sd

    def load_state_dict(self, state_dict):
        training = state_dict.get("training", True)
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "training"})
        self.training = training


class Muon(RuleOptimizer):
    """torch.optim.Muon (torch 2.13) for 2-D weights: momentum m ← μ·m + (1−μ)·g (`rules.ewma`,
    torch's lerp), the Nesterov look-ahead `rules.ewma(m, g, μ)` (torch's g.lerp(m, μ)),
    orthogonalised by `rules.newton_schulz` in bfloat16 as torch does (``ns_dtype``), then
    p·(1 − lr·wd) − lr'·O with lr' = `rules.muon_lr` (adjust_lr_fn None/'original'; or
    'match_rms_adamw': 0.2·lr·√max(rows, cols)). Not element-wise, so one path: the per-tensor one.

    ``reshape=True`` (our keyword) also takes ≥ 3-D weights, as 2-D matrices rows × the rest (a conv
    weight out × in·kh·kw), which torch refuses."""
    state_keys = ("momentum_buffer",)
    lesson_names = {"grad_avg": "momentum_buffer"}
    elementwise = False

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=rules.NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None, *,
                 maximize=False, reshape=False, ns_dtype=torch.bfloat16):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=tuple(ns_coefficients), eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn, maximize=maximize, reshape=reshape,
                                      ns_dtype=ns_dtype))

    def _check_group(self, group):
        super()._check_group(group)
        _check_beta("momentum", group["momentum"])
        _check_flag("nesterov", group["nesterov"])
        _check_flag("reshape", group["reshape"])
        if group["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"adjust_lr_fn must be None, 'original' or 'match_rms_adamw', "
                             f"got {group['adjust_lr_fn']!r}")
        if not isinstance(group["ns_steps"], int) or not 0 <= group["ns_steps"] < 100:
            raise ValueError(f"ns_steps must be an int in [0, 100), got {group['ns_steps']!r}")
        if len(group["ns_coefficients"]) != 3:
            raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {group['ns_coefficients']!r}")
        for p in group.get("params", ()):
            if not isinstance(p, torch.Tensor):  # a saved group's parameter ids
                continue
            if p.is_complex():
                raise ValueError("Muon does not support complex parameters")
            if p.ndim != 2 and not (group["reshape"] and p.ndim > 2):
                raise ValueError(f"Muon takes 2-D parameters, got one of shape {tuple(p.shape)} (pass "
                                 "reshape=True for conv weights, or use MuonAdamW, which gives the "
                                 "rest to AdamW)")

    def _math(self, group, p, g, st, step):
        lr, mom = group["lr"], group["momentum"]
        m = rules.ewma(st["momentum_buffer"], g, mom)
        d = rules.ewma(m, g, mom) if group["nesterov"] else m
        rows, cols = p.shape[0], p[0].numel()
        o = rules.newton_schulz(d.reshape(rows, cols).to(group["ns_dtype"]), group["ns_coefficients"],
                                group["ns_steps"], group["eps"])
        if group["adjust_lr_fn"] == "match_rms_adamw":
            lr_adj = 0.2 * lr * math.sqrt(max(rows, cols))
        else:
            lr_adj = rules.muon_lr(lr, rows, cols)
        p, _ = weight_decay(p, g, lr, group["weight_decay"], decoupled=True)
        return rules.sgd_step(p, o.reshape(p.shape).to(p.dtype), lr_adj), {"momentum_buffer": m}


class MuonAdamW(torch.optim.Optimizer):
    """The usual Muon recipe as one optimizer (``train --opt muon``): every weight of 3 or more
    dimensions (the ResNets' conv weights, as out × in·kh·kw matrices) steps with `Muon`; biases,
    norms and the 2-D head with `AdamW`. Muon's lr is matched to AdamW's RMS (adjust_lr_fn
    'match_rms_adamw', Moonshot's: 0.2·lr·√max(rows, cols)), so one ``lr`` and one schedule serve
    both groups, and ``weight_decay`` is both's decoupled decay.

    ``param_groups`` are the two optimizers' own group dicts (AdamW's, then Muon's; each tagged
    ``kind``), so a scheduler's writes reach them; state_dict holds both."""

    def __init__(self, params, lr=1e-2, momentum=0.95, weight_decay=0., nesterov=True, *, betas=(0.9, 0.99),
                 eps=1e-8, ns_steps=5, foreach=None):
        _check_lr(lr)
        _check_beta("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        _check_betas(betas)
        params = list(params)
        if any(isinstance(p, dict) for p in params):
            raise ValueError("MuonAdamW splits the parameters itself: pass model.parameters(), "
                             "not param groups")
        mats = [p for p in params if p.ndim >= 3]
        rest = [p for p in params if p.ndim < 3]
        self._parts = []  # AdamW's group first, so param_groups[0] always has betas (a recorder reads it)
        if rest:
            self._parts.append(AdamW([{"params": rest, "kind": "adamw"}], lr=lr, betas=betas, eps=eps,
                                     weight_decay=weight_decay, foreach=foreach))
        if mats:
            self._parts.append(Muon([{"params": mats, "kind": "muon"}], lr=lr, momentum=momentum,
                                    weight_decay=weight_decay, nesterov=nesterov, ns_steps=ns_steps,
                                    adjust_lr_fn="match_rms_adamw", reshape=True))
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))
        self.param_groups = [g for o in self._parts for g in o.param_groups]
        self.state = collections.ChainMap(*(o.state for o in self._parts))

    def add_param_group(self, param_group):
        if hasattr(self, "_parts") and self.param_groups:
            raise ValueError("MuonAdamW cannot take more param groups: build a new one over all the "
                             "parameters")
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for o in self._parts:
            o.step()
        return loss

    def state_dict(self):
        return {"parts": [o.state_dict() for o in self._parts]}

    def load_state_dict(self, state_dict):
        parts = state_dict.get("parts") if isinstance(state_dict, dict) else None
        if not isinstance(parts, list) or len(parts) != len(self._parts):
            raise ValueError("this state_dict is not a MuonAdamW's over the same kinds of parameters")
        for o, sd in zip(self._parts, parts):
            o.load_state_dict(sd)
        self.param_groups = [g for o in self._parts for g in o.param_groups]
        self.state = collections.ChainMap(*(o.state for o in self._parts))
