"""torch_side.optim: real Optimizers, equal to PyTorch's where the definitions coincide, resumable."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import io
import math

import numpy as np
import torch

from torch_side.optim import SGD, Adam, AdamW, Momentum, RMSprop, exact_sqrt
from xlopt.core import rules

F64 = torch.float64


def problem(seed=0):
    """A small non-convex float64 problem: one weight matrix, one bias, a fixed stream of batches."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(4, 3, generator=g, dtype=F64)
    b = torch.randn(4, generator=g, dtype=F64)
    xs = torch.randn(60, 8, 3, generator=g, dtype=F64)
    ys = torch.randn(60, 8, 4, generator=g, dtype=F64)
    return w, b, xs, ys


def train(make_opt, steps=60, start=None, opt_state=None, first=0, seed=0):
    """Train `steps` batches from batch `first`; returns (params, optimizer)."""
    w, b, xs, ys = problem(seed)
    if start is not None:
        w, b = start
    w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
    opt = make_opt([w, b])
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    for i in range(first, first + steps):
        opt.zero_grad()
        loss = (torch.tanh(xs[i] @ w.T + b) - ys[i]).pow(2).mean() + 0.01 * w.pow(4).sum()
        loss.backward()
        opt.step()
    return (w.detach(), b.detach()), opt


def max_rel(a, b):
    return max(((x - y).abs() / y.abs().clamp_min(1e-300)).max().item() for x, y in zip(a, b))


# --- same as PyTorch where the definitions coincide ------------------------------------------------
@pytest.mark.parametrize("ours, theirs", [
    (lambda p: Adam(p, lr=1e-2, betas=(0.9, 0.999), eps=1e-8), lambda p: torch.optim.Adam(p, lr=1e-2)),
    (lambda p: Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6),
     lambda p: torch.optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6)),
    (lambda p: AdamW(p, lr=1e-2, weight_decay=0.1),
     lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1)),
    (lambda p: Adam(p, lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=1e-2, decoupled_weight_decay=True),
     lambda p: torch.optim.AdamW(p, lr=1e-2, betas=(0.9, 0.99), eps=1e-8)),
    (lambda p: RMSprop(p, lr=1e-3), lambda p: torch.optim.RMSprop(p, lr=1e-3)),
    (lambda p: SGD(p, lr=1e-2), lambda p: torch.optim.SGD(p, lr=1e-2)),
], ids=["adam", "adam-betas-eps", "adamw", "adamw-default-wd", "rmsprop", "sgd"])
def test_usual_variants_equal_pytorch(ours, theirs):
    a, _ = train(ours)
    b, _ = train(theirs)
    assert max_rel(a, b) <= 1e-12  # the order of operations differs (lerp, addcdiv): last bits only


def test_momentum_is_the_lerp_form():
    """m ← m·β + (1−β)·g then p − m·lr: PyTorch's SGD(momentum=β, dampening=β) scaled by 1−β,
    except that PyTorch's first buffer is g itself; seeding m = 0 and comparing a hand loop."""
    w = torch.tensor([1.0, -2.0], dtype=F64, requires_grad=True)
    opt = Momentum([w], lr=0.1, momentum=0.9)
    m, p = torch.zeros(2, dtype=F64), w.detach().clone()
    for _ in range(5):
        opt.zero_grad()
        (w ** 2).sum().backward()
        g = 2 * p
        m = m * 0.9 + (1 - 0.9) * g
        p = p - m * 0.1
        opt.step()
        assert torch.equal(w.detach(), p) and torch.equal(opt.state[w]["momentum_buffer"], m)


# --- the sheets' variants are the sheets' formulas -------------------------------------------------
def _one_step(opt_cls, seeds, **kw):
    p = torch.tensor([1.0, 1.0], dtype=F64, requires_grad=True)
    opt = opt_cls([p], **kw)
    opt.init_state(p, **seeds)
    p.grad = torch.tensor([-86.0, -1204.0], dtype=F64)  # the lesson's first row at a = b = 1
    opt.step()
    return p.detach().tolist(), opt.state[p]


def test_rmsprop_sheet_divides_by_the_previous_average():
    new, st = _one_step(RMSprop, {"sqr_avg": [10000.0, 20000.0]}, lr=0.02, alpha=0.9, eps=0., sheet=True)
    assert new == [rules.scaled_step(1.0, -86.0, 0.02, 10000.0), rules.scaled_step(1.0, -1204.0, 0.02, 20000.0)]
    assert st["square_avg"].tolist() == [rules.ewma(10000.0, 86.0 ** 2, 0.9), rules.ewma(20000.0, 1204.0 ** 2, 0.9)]


def test_rmsprop_usual_updates_first_and_adds_eps():
    new, _ = _one_step(RMSprop, {"sqr_avg": [4.0, 9.0]}, lr=0.02, alpha=0.9, eps=1e-3)
    s = [rules.ewma(4.0, 86.0 ** 2, 0.9), rules.ewma(9.0, 1204.0 ** 2, 0.9)]
    assert new == pytest.approx([rules.scaled_step_eps(1.0, g, 0.02, v, 1e-3) for g, v in zip((-86.0, -1204.0), s)],
                                rel=1e-15)


def test_adam_sheet_variant_no_bias_correction_no_eps():
    seeds = {"grad_avg": [0.5, -3.0], "sqr_avg": [10000.0, 10000.0]}
    new, st = _one_step(Adam, seeds, lr=1.0, betas=(0.9, 0.95), eps=0., bias_correction=False)
    m = [rules.ewma(0.5, -86.0, 0.9), rules.ewma(-3.0, -1204.0, 0.9)]
    v = [rules.ewma(10000.0, 86.0 ** 2, 0.95), rules.ewma(10000.0, 1204.0 ** 2, 0.95)]
    assert new == [rules.scaled_step(1.0, m[0], 1.0, v[0]), rules.scaled_step(1.0, m[1], 1.0, v[1])]
    assert st["exp_avg"].tolist() == m and st["step"] == 1


def test_init_state_rejects_unknown_keys_and_broadcasts():
    p = torch.zeros(3, dtype=F64, requires_grad=True)
    opt = Adam([p], lr=1.0)
    opt.init_state(p, sqr_avg=10000.0)
    assert opt.state[p]["exp_avg_sq"].tolist() == [10000.0] * 3
    opt.init_state(p, exp_avg=1.0)  # PyTorch's name or the lesson's
    assert opt.state[p]["exp_avg"].tolist() == [1.0] * 3
    with pytest.raises(ValueError, match="keeps no state 'momentum'; its state is exp_avg, exp_avg_sq, "
                                         r"grad_avg \(= exp_avg\), sqr_avg \(= exp_avg_sq\)"):
        opt.init_state(p, momentum=[0.0] * 3)
    with pytest.raises(ValueError, match="its state is momentum_buffer$"):
        SGD([p], lr=1.0).init_state(p, grad_avg=0.0)


# --- resuming from a state_dict is bit-exact ---------------------------------------------------------
@pytest.mark.parametrize("make_opt", [
    lambda p: SGD(p, lr=1e-2),
    lambda p: Momentum(p, lr=1e-2, momentum=0.85),
    lambda p: RMSprop(p, lr=1e-3, alpha=0.9),
    lambda p: RMSprop(p, lr=1e-3, alpha=0.9, eps=0., sheet=True),
    lambda p: Adam(p, lr=1e-2),
    lambda p: Adam(p, lr=1e-2, betas=(0.9, 0.9), eps=0., bias_correction=False),
    lambda p: AdamW(p, lr=1e-2, weight_decay=0.05),
    lambda p: SGD(p, lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: RMSprop(p, lr=1e-3, centered=True, momentum=0.5),
    lambda p: Adam(p, lr=1e-2, foreach=True),
], ids=["sgd", "momentum", "rmsprop", "rmsprop-sheet", "adam", "adam-sheet", "adamw", "sgd-nesterov",
        "rmsprop-centered-momentum", "adam-foreach"])
def test_state_dict_round_trip_resumes_bit_exactly(make_opt):
    def seeded(params):
        opt = make_opt(params)
        if isinstance(opt, RMSprop) and opt.defaults["sheet"]:
            for p in params:
                opt.init_state(p, sqr_avg=1.0)
        return opt
    whole, _ = train(seeded, steps=40)
    (w, b), opt = train(seeded, steps=15)
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "params": (w, b)}, buf)
    buf.seek(0)
    saved = torch.load(buf)
    resumed, opt2 = train(make_opt, steps=25, start=saved["params"], opt_state=saved["opt"], first=15)
    assert all(torch.equal(x, y) for x, y in zip(resumed, whole))
    assert type(opt2) is type(opt) and opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


# --- PyTorch's schedulers drive these optimizers ----------------------------------------------------
def test_pytorch_onecycle_cycles_adam_beta1():
    def run(cls, **kw):
        p = torch.zeros(2, dtype=F64, requires_grad=True)
        opt = cls([p], lr=1e-3, betas=(0.9, 0.99), **kw)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=40, pct_start=0.25)
        seen = []
        for _ in range(40):
            opt.zero_grad()
            ((p - torch.tensor([3.0, -1.0], dtype=F64)) ** 2).sum().backward()
            opt.step()
            seen.append((opt.param_groups[0]["lr"], *opt.param_groups[0]["betas"]))
            sched.step()
        return seen, p.detach()
    ours, p1 = run(Adam, eps=1e-8)
    ref, p2 = run(torch.optim.Adam, eps=1e-8)
    assert ours == ref
    beta1 = [b1 for _, b1, _ in ours]
    assert beta1[0] == 0.95 and min(beta1) == pytest.approx(0.85, abs=1e-3) and beta1[-1] > 0.94
    assert {b2 for *_, b2 in ours} == {0.99}
    assert max_rel([p1], [p2]) <= 1e-12


def test_pytorch_onecycle_cycles_momentum_key():
    p = torch.zeros(2, dtype=F64, requires_grad=True)
    opt = Momentum([p], lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    moms = []
    for _ in range(19):
        p.grad = torch.ones(2, dtype=F64)
        opt.step()
        sched.step()
        moms.append(opt.param_groups[0]["momentum"])
    assert min(moms) < 0.86 and moms[-1] > 0.94


def test_pytorch_lr_schedulers_and_param_groups():
    w = torch.zeros(2, dtype=F64, requires_grad=True)
    b = torch.zeros(1, dtype=F64, requires_grad=True)
    opt = Adam([{"params": [w]}, {"params": [b], "lr": 0.5, "betas": (0.5, 0.9)}], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(4):
        w.grad, b.grad = torch.ones(2, dtype=F64), torch.ones(1, dtype=F64)
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.025, 0.125]
    assert opt.param_groups[1]["betas"] == (0.5, 0.9) and opt.state[w]["step"] == 4


# --- bad input -------------------------------------------------------------------------------------------
P = [torch.zeros(2, requires_grad=True)]


@pytest.mark.parametrize("make, words", [
    (lambda: SGD(P, lr=-1e-3), "lr must be a finite number >= 0, got -0.001"),
    (lambda: Adam(P, lr=math.nan), "lr must be a finite number >= 0"),
    (lambda: Adam(P, lr=math.inf), "lr must be a finite number >= 0"),
    (lambda: Adam(P, lr=torch.tensor([0.1, 0.2])), "Tensor lr must be 1-element"),
    (lambda: Momentum(P, lr=0.1, momentum=1.0), r"momentum must be a number in \[0, 1\)"),
    (lambda: Momentum(P, lr=0.1, momentum=-0.1), r"momentum must be a number in \[0, 1\)"),
    (lambda: RMSprop(P, lr=0.1, alpha=1.5), r"alpha must be a number in \[0, 1\]"),
    (lambda: RMSprop(P, lr=0.1, eps=-1.0), "eps must be a finite number >= 0"),
    (lambda: Adam(P, lr=0.1, betas=(1.0, 0.9)), r"betas\[0\] must be a number in \[0, 1\)"),
    (lambda: Adam(P, lr=0.1, betas=(0.9, -0.01)), r"betas\[1\] must be a number in \[0, 1\)"),
    (lambda: Adam(P, lr=0.1, betas=(0.9, math.nan)), r"betas\[1\] must be a number in \[0, 1\)"),
    (lambda: Adam(P, lr=0.1, betas=(0.9,)), "betas must be a pair"),
    (lambda: Adam(P, lr=0.1, weight_decay=-0.1), "weight_decay must be a finite number >= 0"),
])
def test_bad_hyper_parameters(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_bad_param_group_is_not_added():
    opt = Adam(P, lr=0.1)
    with pytest.raises(ValueError, match="lr must be"):
        opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": -1.0})
    with pytest.raises(ValueError, match=r"betas\[0\] must be"):
        opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "betas": (1.5, 0.9)})
    assert len(opt.param_groups) == 1


def test_closure_and_missing_grads():
    w = torch.tensor([2.0], dtype=F64, requires_grad=True)
    unused = torch.tensor([5.0], dtype=F64, requires_grad=True)
    opt = SGD([w, unused], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss
    assert opt.step(closure).item() == 4.0
    assert w.item() == 1.0 and unused.item() == 5.0 and unused not in opt.state


# --- square roots ------------------------------------------------------------------------------------------
def test_exact_sqrt_is_correctly_rounded():
    """torch.sqrt on CPU float64 (MKL vdSqrt) can be one ulp off; exact_sqrt equals IEEE sqrt."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 1e4, 200_000), np.exp(rng.uniform(-744, 709, 200_000)),
                        [0.0, -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1.0, 2.0, 4.0,
                         6964.288556901134, math.inf]])
    got = exact_sqrt(torch.from_numpy(x)).numpy()
    assert np.array_equal(got, np.sqrt(x))  # numpy's sqrt is the hardware's, correctly rounded
    assert np.array_equal(np.signbit(got), np.signbit(np.sqrt(x)))
    assert math.isnan(exact_sqrt(torch.tensor([-1.0, math.nan], dtype=F64))[0].item())
    assert exact_sqrt(torch.tensor(6964.288556901134, dtype=F64)).item() == math.sqrt(6964.288556901134)
    assert exact_sqrt(torch.tensor([2.0])).dtype == torch.float32  # other dtypes: torch.sqrt
