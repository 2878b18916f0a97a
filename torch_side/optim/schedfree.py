"""Schedule-Free AdamW (Defazio et al. 2024): three sequences per parameter and no schedule."""
import torch

from xlopt.core import rules
from xlopt.core.expr import square

from torch_side.optim.base import RuleOptimizer
from torch_side.optim.numerics import check_betas, check_nonneg, value_of

__all__ = ["ScheduleFreeAdamW"]


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
    sqr_avg_key = "exp_avg_sq"
    decay = None  # its own: on z, scaled by the warm-up lr (rules.sf_decay)
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
        check_betas(group["betas"])
        check_nonneg("eps", group["eps"])
        check_nonneg("warmup_steps", group["warmup_steps"])

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
            b1 = value_of("betas[0]", group["betas"][0])
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
