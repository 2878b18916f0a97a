"""PyTorch's classic optimizers and the lesson's variants, each its state, its checks and its rule
(the module docstring of `torch_side.optim` lists their signatures and state); weight decay and
maximize are composed by `RuleOptimizer` (`torch_side.optim.compose`)."""
import math

import torch

from xlopt.core import rules
from xlopt.core.expr import square

from torch_side.optim.base import RuleOptimizer
from torch_side.optim.compose import DECOUPLED, L2
from torch_side.optim.numerics import check_beta, check_betas, check_flag, check_nonneg, is_number, value_of

__all__ = ["SGD", "Momentum", "RMSprop", "RMSProp", "Adam", "AdamW", "Lion", "Adagrad"]


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
        check_nonneg("momentum", group["momentum"])
        if not is_number(group["dampening"]) or not math.isfinite(group["dampening"]):
            raise ValueError(f"dampening must be a finite number, got {group['dampening']!r}")
        check_flag("nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

    def _keys(self, group):
        return self.state_keys if group["momentum"] != 0 else ()

    def _math(self, group, p, g, st, step):
        lr, mom = group["lr"], group["momentum"]
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
        check_beta("momentum", group["momentum"])
        check_flag("nesterov", group["nesterov"])
        if "dampening" in group and (group["nesterov"] or value_of("dampening", group["dampening"])
                                     != value_of("momentum", group["momentum"])):
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
        m = rules.ewma(st["momentum_buffer"], g, group["momentum"])
        d = rules.ewma(m, g, group["momentum"]) if group["nesterov"] else m
        return rules.sgd_step(p, d, group["lr"]), {"momentum_buffer": m}


class RMSprop(RuleOptimizer):
    """torch.optim.RMSprop (centered, momentum), and the rmsprop sheet's variant with sheet=True."""
    state_keys = ("square_avg", "momentum_buffer", "grad_avg")
    lesson_names = {"sqr_avg": "square_avg"}
    sqr_avg_key = "square_avg"
    counts_steps = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False, *, sheet=False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, sheet=sheet,
                                      fused=fused))

    def _check_group(self, group):
        super()._check_group(group)
        if not is_number(group["alpha"]) or not 0 <= group["alpha"] <= 1:
            raise ValueError(f"alpha must be a number in [0, 1], got {group['alpha']!r}")
        check_nonneg("eps", group["eps"])
        check_nonneg("momentum", group["momentum"])
        check_flag("centered", group["centered"])
        check_flag("sheet", group["sheet"])
        if group["sheet"] and (group["eps"] != 0 or group["centered"] or group["momentum"] != 0):
            raise ValueError("RMSprop(sheet=True) is the workbook's step p − g·lr/√s with the previous "
                             "average and no ε: pass eps=0., and neither centered nor momentum")

    def _keys(self, group):
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + \
            (("grad_avg",) if group["centered"] else ())

    def _math(self, group, p, g, st, step):
        lr, alpha, eps, mom = group["lr"], group["alpha"], group["eps"], group["momentum"]
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
    sqr_avg_key = "exp_avg_sq"
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
        check_betas(group["betas"])
        check_nonneg("eps", group["eps"])
        check_flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        check_flag("bias_correction", group["bias_correction"])

    def decay_kind(self, group):
        return DECOUPLED if group["decoupled_weight_decay"] else L2

    def _math(self, group, p, g, st, t):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
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
    decay = DECOUPLED

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0, *, maximize=False, foreach=None,
                 differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, differentiable=differentiable, fused=fused))

    def _check_group(self, group):
        super()._check_group(group)
        check_betas(group["betas"])

    def _math(self, group, p, g, st, step):
        lr, (b1, b2) = group["lr"], group["betas"]
        c = rules.ewma(st["exp_avg"], g, b1)
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
    lesson_names = {"sqr_avg": "sum"}  # a seed only: a sum, not an average, so annealing reads none
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
        check_nonneg("lr_decay", group["lr_decay"])
        check_nonneg("initial_accumulator_value", group["initial_accumulator_value"])
        check_nonneg("eps", group["eps"])

    def _math(self, group, p, g, st, t):
        s = rules.accumulate(st["sum"], g)
        lr_t = rules.decayed_lr(group["lr"], t, group["lr_decay"])
        return rules.scaled_step_eps(p, g, lr_t, s, group["eps"]), {"sum": s}
