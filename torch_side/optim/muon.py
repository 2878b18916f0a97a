"""Muon (torch.optim.Muon) for matrices, and MuonAdamW: Muon on the conv weights, AdamW on the rest."""
import collections
import math

import torch

from xlopt.core import rules

from torch_side.optim.base import RuleOptimizer
from torch_side.optim.classic import AdamW
from torch_side.optim.compose import DECOUPLED
from torch_side.optim.numerics import check_beta, check_betas, check_flag, check_lr, check_nonneg

__all__ = ["Muon", "MuonAdamW"]


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
    decay = DECOUPLED

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=rules.NS_COEFFICIENTS, eps=1e-7, ns_steps=5, adjust_lr_fn=None, *,
                 maximize=False, reshape=False, ns_dtype=torch.bfloat16):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=tuple(ns_coefficients), eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn, maximize=maximize, reshape=reshape,
                                      ns_dtype=ns_dtype))

    def _check_group(self, group):
        super()._check_group(group)
        check_beta("momentum", group["momentum"])
        check_flag("nesterov", group["nesterov"])
        check_flag("reshape", group["reshape"])
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
        check_lr(lr)
        check_beta("momentum", momentum)
        check_nonneg("weight_decay", weight_decay)
        check_betas(betas)
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
