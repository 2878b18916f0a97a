"""The pieces every optimizer composes, written once (optax's ``add_decayed_weights`` and the sign
flip of ``maximize``): a class names its kind of weight decay, and `RuleOptimizer` applies it and
``maximize`` around the class's own update, on every path (multi-tensor, per-tensor, fused).

  decay kind   what weight_decay (wd) does                                       classes
  L2           g + wd·p (`rules.l2`), torch.optim's ``weight_decay``              SGD, Momentum, RMSprop, Adam, Adagrad
  DECOUPLED    p·(1 − lr·wd) before the step (`rules.decay`, Loshchilov-Hutter)   AdamW, Adam(decoupled_weight_decay=True),
                                                                                  Lion, Muon
  None         the class applies it itself                                        ScheduleFreeAdamW (on z, `rules.sf_decay`)
"""
import torch

from xlopt.core import rules

__all__ = ["L2", "DECOUPLED", "weight_decay", "decayed", "ascend"]

L2, DECOUPLED = "l2", "decoupled"


def weight_decay(p, g, lr, wd, decoupled):
    """The one place weight decay happens: decoupled (`rules.decay`, AdamW's, Lion's: the weights
    shrink before the step) or L2 (`rules.l2`, torch.optim's ``weight_decay``: wd·p added to g).
    Returns (p, g); nothing changes when wd is 0. p and g are tensors or `xlopt.core.expr` symbols."""
    if wd == 0:
        return p, g
    return (rules.decay(p, lr, wd), g) if decoupled else (p, rules.l2(g, p, wd))


def decayed(kind, p, g, lr, wd):
    """(p, g) after the weight decay of ``kind`` (L2, DECOUPLED or None: untouched)."""
    if kind is None:
        return p, g
    return weight_decay(p, g, lr, wd, decoupled=kind == DECOUPLED)


def ascend(grads, maximize):
    """The gradients the rule descends: negated when ``maximize`` (exact, so the bits do not change).
    ``grads`` is a list of tensors."""
    return list(torch._foreach_neg(grads)) if maximize else grads
