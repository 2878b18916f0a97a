"""torch_side keeps PyTorch's contract: torch.optim's signatures, defaults, keywords, param groups,
closures, hooks, state_dict interchange, complex and sparse handling, and lr_scheduler composition.

Tolerances: float64 runs agree with torch.optim to 1e-12 relative (the rules and torch order a few
operations differently, e.g. lerp vs a·β + (1−β)·g, so only the last bits move); the multi-tensor
path equals the per-tensor path bit for bit; schedules agree to 1e-12 relative.
"""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import copy
import inspect
import math
import random
import warnings

import torch
from torch.optim import lr_scheduler as L

from torch_side import optim
from torch_side.optim.sched import AutoAnneal, CosineAnnealing, OneCycle

F64 = torch.float64
RTOL = 1e-12

PAIRS = [(optim.SGD, torch.optim.SGD), (optim.Adam, torch.optim.Adam), (optim.AdamW, torch.optim.AdamW),
         (optim.RMSprop, torch.optim.RMSprop)]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "lr_scheduler.step() before optimizer.step()"
        yield


def params(dtype=F64, complex_=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    ps = [torch.randn(4, 3, generator=g, dtype=dtype), torch.randn(5, generator=g, dtype=dtype),
          torch.randn(2, 3, 2, generator=g, dtype=dtype)]
    if complex_:
        ps[0] = torch.randn(4, 3, generator=g, dtype=torch.complex128 if dtype == F64 else torch.complex64)
    return [p.requires_grad_() for p in ps]


def loss_of(ps, i):
    out = 0
    for k, p in enumerate(ps):
        x = torch.view_as_real(p) if p.is_complex() else p
        out = out + ((x - 0.1 * (i % 5) - k) ** 4).sum() + (x ** 2).sum()
    return out


def train(make, steps=25, dtype=F64, complex_=False, first=0, ps=None, state=None):
    ps = params(dtype, complex_) if ps is None else ps
    opt = make(ps)
    if state is not None:
        opt.load_state_dict(copy.deepcopy(state))  # loaded tensors may alias the dict's: keep it intact
    sign = -1 if opt.defaults.get("maximize") else 1  # ascend a bounded-above objective
    for i in range(first, first + steps):
        opt.zero_grad()
        (sign * loss_of(ps, i)).backward()
        opt.step()
    return [p.detach().clone() for p in ps], opt


def max_rel(a, b):
    return max(((x - y).abs() / y.abs().clamp_min(1e-300)).max().item() for x, y in zip(a, b))


# --- signatures and defaults ------------------------------------------------------------------------
@pytest.mark.parametrize("ours, theirs", PAIRS, ids=lambda c: c.__name__)
def test_signature_and_defaults_are_pytorchs(ours, theirs):
    """Every torch.optim keyword exists with the same default; the defaults dicts agree."""
    sig_o, sig_t = inspect.signature(ours.__init__).parameters, inspect.signature(theirs.__init__).parameters
    for name, par in sig_t.items():
        assert name in sig_o, name
        assert sig_o[name].default == par.default, name
        assert sig_o[name].kind == par.kind, name
    p = [torch.zeros(2, requires_grad=True)]
    o, t = ours(p), theirs(p)  # the default lr: no TypeError
    for k, v in t.defaults.items():
        assert o.defaults[k] == v, k
    assert set(o.defaults) - set(t.defaults) <= {"sheet", "bias_correction", "fused"}  # RMSprop: ours fuses too


def test_lesson_defaults_differ_from_the_sheets_only_by_keywords():
    p = [torch.zeros(2, requires_grad=True)]
    assert optim.Adam(p).defaults["betas"] == (0.9, 0.999)
    assert optim.RMSprop(p).defaults["alpha"] == 0.99 and optim.RMSprop(p).defaults["lr"] == 1e-2
    assert optim.Momentum(p).defaults["momentum"] == 0.9
    assert optim.RMSProp is optim.RMSprop


# --- every keyword, against torch.optim -------------------------------------------------------------
CONFIGS = [
    ("SGD", dict(lr=1e-3)),
    ("SGD", dict(lr=1e-3, momentum=0.9)),
    ("SGD", dict(lr=1e-3, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    ("SGD", dict(lr=1e-3, momentum=0.8, nesterov=True, maximize=True)),
    ("SGD", dict(lr=1e-3, weight_decay=0.1, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1)),  # L2, as torch.optim.Adam
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=1e-2, maximize=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, betas=(0.5, 0.9), maximize=True)),
    ("RMSprop", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, eps=1e-6, weight_decay=0.01)),
    ("RMSprop", dict(lr=1e-3, centered=True)),
    ("RMSprop", dict(lr=1e-3, momentum=0.7)),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.5, maximize=True)),
]


def _ids(c):
    return c[0] + "(" + ",".join(f"{k}={v}" for k, v in c[1].items()) + ")"


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("name, kw", CONFIGS, ids=[_ids(c) for c in CONFIGS])
def test_every_keyword_equals_torch_optim(name, kw, complex_, foreach):
    ours, _ = train(lambda p: getattr(optim, name)(p, foreach=foreach, **kw), complex_=complex_)
    theirs, _ = train(lambda p: getattr(torch.optim, name)(p, foreach=foreach, **kw), complex_=complex_)
    assert max_rel(ours, theirs) <= RTOL


@pytest.mark.slow
@pytest.mark.parametrize("name, kw", CONFIGS + [
    ("Momentum", dict(lr=1e-3)), ("Momentum", dict(lr=1e-3, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, eps=0., sheet=True)),
    ("Adam", dict(lr=1e-2, eps=0., bias_correction=False)),
    ("Adam", dict(lr=1e-2, eps=1e-3, bias_correction=False, weight_decay=0.1)),
], ids=lambda c: c if isinstance(c, str) else None)
def test_foreach_runs_the_same_rules(name, kw, monkeypatch):
    """Both paths evaluate one graph of the same rule functions with the same operations: bit for
    bit equal in float64 and float32, with FMA on (float32 fuses a ± s·b, float64 never does, so
    it keeps the sheet's bits) and off; FMA on and off agree within float32's last bits."""
    def make(foreach, fma):
        def f(p):
            opt = getattr(optim, name)(p, foreach=foreach, **kw)
            opt.FMA = fma
            if kw.get("sheet"):
                for q in p:
                    opt.init_state(q, sqr_avg=1.0)
            return opt
        return f
    for dtype, tol in ((F64, 0.0), (torch.float32, 1e-5)):
        for fma in (True, False):
            loop, _ = train(make(False, fma), dtype=dtype)
            multi, _ = train(make(True, fma), dtype=dtype)
            assert all(torch.equal(a, b) for a, b in zip(multi, loop)), (dtype, fma)
        exact, _ = train(make(True, False), dtype=dtype)
        fused, _ = train(make(True, True), dtype=dtype)
        assert max_rel(fused, exact) <= tol, dtype


def test_foreach_with_params_at_different_steps():
    """Parameters whose step counts differ (one had no gradient once) are bucketed apart."""
    def run(foreach):
        ps = params()
        opt = optim.Adam(ps, lr=1e-2, foreach=foreach)
        for i in range(6):
            opt.zero_grad()
            loss_of(ps, i).backward()
            if i == 2:
                ps[1].grad = None
            opt.step()
        return ps, opt
    a, oa = run(False)
    b, ob = run(True)
    assert [ob.state[p]["step"] for p in b] == [6, 5, 6]
    assert max_rel(b, a) <= RTOL


# --- refused, with a message -------------------------------------------------------------------------
P = [torch.zeros(2, requires_grad=True)]


@pytest.mark.parametrize("make, words", [
    (lambda: optim.Adam(P, capturable=True), "capturable=True .* is not supported"),
    (lambda: optim.RMSprop(P, capturable=True), "capturable=True .* is not supported"),
    (lambda: optim.Adam(P, differentiable=True), "differentiable=True is not supported"),
    (lambda: optim.Momentum(P, differentiable=True), "differentiable=True is not supported"),
    (lambda: optim.Adam(P, amsgrad=True), "amsgrad=True is not supported"),
    (lambda: optim.AdamW(P, amsgrad=True), "amsgrad=True is not supported"),
    (lambda: optim.SGD(P, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda: optim.SGD(P, nesterov=True), "Nesterov momentum requires"),
    (lambda: optim.SGD(P, maximize=1), "maximize must be True or False"),
    (lambda: optim.SGD(P, foreach="yes"), "foreach must be None, True or False"),
    (lambda: optim.RMSprop(P, sheet=True), "pass eps=0."),
    (lambda: optim.RMSprop(P, eps=0., sheet=True, centered=True), "neither centered nor momentum"),
    (lambda: optim.Adam([torch.zeros(3).to_sparse().requires_grad_()]), "does not support sparse parameters"),
])
def test_unsupported_is_refused_at_construction(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_maximize_in_a_param_group_is_honoured():
    def run(mod):
        ps = params()
        return train(lambda p: mod.Adam([{"params": p[:1], "maximize": True}, {"params": p[1:]}], lr=1e-2),
                     ps=ps)[0]
    assert max_rel(run(optim), run(torch.optim)) <= RTOL


def test_sparse_gradient_refused_before_anything_moves():
    a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = torch.ones(3)
    b.grad = torch.ones(3).to_sparse()
    with pytest.raises(RuntimeError, match=r"does not support sparse gradients \(param group 0, parameter 1\); "
                                           "no parameter was updated"):
        opt.step()
    assert a.tolist() == [1.0] * 3 and not opt.state


def test_complex_params_are_their_real_view():
    z = torch.tensor([1 + 2j, -0.5 + 0.1j], dtype=torch.complex128, requires_grad=True)
    r = torch.view_as_real(z.detach()).clone().requires_grad_()
    for o1, o2 in ((optim.Adam([z], lr=0.1), optim.Adam([r], lr=0.1)),):
        for k in range(5):
            z.grad = (z.detach() * (1 + 0.5j) - k).clone()
            r.grad = torch.view_as_real(z.grad).clone()
            o1.step()
            o2.step()
        assert torch.equal(torch.view_as_real(z.detach()), r.detach())
        assert o1.state[z]["exp_avg_sq"].is_complex()


# --- param groups, closures, hooks -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_param_groups_equal_torch(name):
    kw = {"SGD": dict(momentum=0.9), "RMSprop": dict(centered=True)}.get(name, {})

    def make(mod):
        def f(p):
            extra = {"betas": (0.5, 0.9)} if "Adam" in name else {"momentum": 0.3}
            opt = getattr(mod, name)([{"params": p[:1]}, {"params": p[1:2], "lr": 0.05, **extra}], lr=1e-2, **kw)
            opt.add_param_group({"params": p[2:], "lr": 3e-3, "weight_decay": 0.1})
            return opt
        return f
    a, oa = train(make(optim))
    b, ob = train(make(torch.optim))
    assert max_rel(a, b) <= RTOL
    assert [g["lr"] for g in oa.param_groups] == [g["lr"] for g in ob.param_groups]


def test_closure_is_called_with_grad_and_its_loss_returned():
    def run(mod):
        ps = params()
        opt = mod.Adam(ps, lr=1e-2)
        losses = []
        for i in range(10):
            def closure(i=i):
                opt.zero_grad()
                loss = loss_of(ps, i)
                loss.backward()
                return loss
            losses.append(opt.step(closure).item())
        return losses, ps
    (la, pa), (lb, pb) = run(optim), run(torch.optim)
    assert la == pytest.approx(lb, rel=RTOL) and max_rel(pa, pb) <= RTOL


def test_hooks_run():
    ps = params()
    opt = optim.SGD(ps, lr=1e-3, momentum=0.9)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    opt.register_state_dict_pre_hook(lambda o: seen.append("sd-pre"))
    opt.register_state_dict_post_hook(lambda o, sd: seen.append("sd-post"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: seen.append("load-pre"))
    opt.register_load_state_dict_post_hook(lambda o: seen.append("load-post"))
    loss_of(ps, 0).backward()
    opt.step()
    opt.load_state_dict(opt.state_dict())
    assert seen == ["pre", "post", "sd-pre", "sd-post", "load-pre", "load-post"]
    h1.remove()
    opt.step()
    assert seen[-1] == "post" and seen.count("pre") == 1


def test_named_parameters_and_zero_grad():
    model = torch.nn.Linear(3, 2)
    opt = optim.Adam(model.named_parameters(), lr=1e-2)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    opt.zero_grad()
    assert model.weight.grad is None


# --- state_dict interchange with torch.optim -----------------------------------------------------------
INTERCHANGE = [
    (lambda p: optim.Adam(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    (lambda p: optim.Adam(p, lr=1e-2, weight_decay=0.1), lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1)),
    (lambda p: optim.AdamW(p, lr=1e-2), lambda p: torch.optim.AdamW(p, lr=1e-2)),
    (lambda p: optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True)),
    (lambda p: optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5),
     lambda p: torch.optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5)),
    (lambda p: optim.Momentum(p, lr=1e-3, momentum=0.8),
     lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8, dampening=0.8)),
]


@pytest.mark.parametrize("ours, theirs", INTERCHANGE,
                         ids=["adam", "adam-l2", "adamw", "sgd-nesterov", "rmsprop", "momentum=sgd-dampened"])
@pytest.mark.parametrize("direction", ["torch->ours", "ours->torch"])
def test_state_dict_interchange(ours, theirs, direction):
    """10 steps with one, its state_dict loaded into the other, 15 more: as 25 steps of the first
    (Momentum's buffer starts at 0 and torch's at g, so that pair is compared after the hand-over)."""
    first, then = (theirs, ours) if direction == "torch->ours" else (ours, theirs)
    (w, opt) = train(first, steps=10)
    sd = moved = copy.deepcopy(opt.state_dict())  # as it is: no hand edits, also Momentum <-> SGD
    ps = [x.clone().requires_grad_() for x in w]
    continued, opt2 = train(then, steps=15, first=10, ps=ps, state=moved)
    ps = [x.clone().requires_grad_() for x in w]
    reference, _ = train(first, steps=15, first=10, ps=ps, state=sd)
    assert max_rel(continued, reference) <= RTOL
    assert type(opt2.state[opt2.param_groups[0]["params"][0]].get("step", 0)) in (int, torch.Tensor)


def test_torch_adam_state_dict_loads_and_keys_map():
    _, topt = train(lambda p: torch.optim.Adam(p, lr=1e-2), steps=3)
    sd = topt.state_dict()
    ps = params()
    opt = optim.Adam(ps, lr=1.0)
    opt.load_state_dict(sd)
    st = opt.state[ps[0]]
    assert set(st) == {"step", "exp_avg", "exp_avg_sq"} and st["step"] == 3
    assert opt.param_groups[0]["lr"] == 1e-2 and opt.param_groups[0]["bias_correction"] is True
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["amsgrad"] = True
    with pytest.raises(ValueError, match="amsgrad=True is not supported"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["amsgrad"] is False  # nothing changed


# --- schedulers compose ----------------------------------------------------------------------------------
def sgd(lr=0.1, groups=2):
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr * (i + 1)}
                            for i in range(groups)], momentum=0.9)


OTHERS = {
    "StepLR": lambda o: L.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda o: L.MultiStepLR(o, milestones=[5, 11, 30], gamma=0.3),
    "ExponentialLR": lambda o: L.ExponentialLR(o, gamma=0.97),
    "LinearLR": lambda o: L.LinearLR(o, start_factor=0.1, total_iters=8),
}


def _lrs(opt, steps, scheds, step_all):
    out = []
    for _ in range(steps):
        opt.step()
        step_all()
        out.append([g["lr"] for g in opt.param_groups])
    return out


def _close(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == pytest.approx(y, rel=RTOL, abs=1e-300), i


@pytest.mark.parametrize("cos_first", [True, False])
@pytest.mark.parametrize("other", list(OTHERS))
def test_cosine_chains_with_pytorch_schedulers(other, cos_first):
    def run(cos_cls):
        opt = sgd()
        make = [lambda: cos_cls(opt, T_max=20, eta_min=1e-3), lambda: OTHERS[other](opt)]
        scheds = [m() for m in (make if cos_first else make[::-1])]
        return _lrs(opt, 60, scheds, lambda: [s.step() for s in scheds])
    _close(run(CosineAnnealing), run(L.CosineAnnealingLR))


def test_cosine_chain_keeps_the_other_factor():
    """The issue's example: cosine with StepLR(gamma=0.1) must keep StepLR's factor."""
    opt = sgd(groups=1)
    c, s = CosineAnnealing(opt, T_max=100), L.StepLR(opt, step_size=30, gamma=0.1)
    for _ in range(40):
        opt.step()
        c.step()
        s.step()
    want = 0.1 * 0.1 * (1 + math.cos(math.pi * 40 / 100)) / 2
    assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kind", ["chained", "sequential"])
def test_cosine_in_chained_and_sequential(kind):
    def run(cos_cls):
        opt = sgd()
        if kind == "chained":
            s = L.ChainedScheduler([L.LinearLR(opt, 0.2, total_iters=5), cos_cls(opt, T_max=30)])
        else:
            s = L.SequentialLR(opt, [L.LinearLR(opt, 0.2, total_iters=5), cos_cls(opt, T_max=30)], milestones=[5])
        return _lrs(opt, 50, [s], s.step)
    _close(run(CosineAnnealing), run(L.CosineAnnealingLR))


def test_cosine_alone_is_the_closed_form():
    opt = sgd(groups=1)
    c = CosineAnnealing(opt, T_max=1000)
    for t in range(1, 1001):
        opt.step()
        c.step()
        assert opt.param_groups[0]["lr"] == 0.1 * (1 + math.cos(math.pi * t / 1000)) / 2
    assert c.alone


def _random_onecycle(rng):
    kw = dict(pct_start=rng.choice([0.1, 0.25, 0.3, 0.45, 0.5, 0.73]), anneal_strategy=rng.choice(["cos", "linear"]),
              three_phase=rng.random() < 0.4, div_factor=rng.choice([5., 25., 100.]),
              final_div_factor=rng.choice([10., 1e4, 1e5]))
    if rng.random() < 0.5:
        kw["total_steps"] = rng.randrange(20, 400)
    else:
        kw.update(epochs=rng.randrange(2, 9), steps_per_epoch=rng.randrange(5, 40))
    r = rng.random()
    if r < 0.3:
        kw.update(base_momentum=[0.8, 0.5], max_momentum=[0.95, 0.99])
    elif r < 0.5:
        kw.update(base_momentum=0.9, max_momentum=1.05)  # PyTorch takes any bounds
    elif r < 0.6:
        kw["cycle_momentum"] = False
    return kw


@pytest.mark.parametrize("kind", ["torch-sgd", "torch-adam", "ours-adam", "ours-momentum", "ours-rmsprop"])
@pytest.mark.parametrize("seed", range(8))
def test_onecycle_equals_onecyclelr_over_many_configurations(kind, seed):
    kw = _random_onecycle(random.Random(seed * 31 + len(kind)))
    if kind == "ours-rmsprop" and kw.get("cycle_momentum", True):
        kw["base_momentum"], kw["max_momentum"] = 0.0, 0.5  # cycles RMSprop's momentum, as torch's would
    total = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]

    def run(cls):
        ps = [torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)]
        groups = [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}]
        opt = {"torch-sgd": lambda: torch.optim.SGD(groups, lr=0.1, momentum=0.9),
               "torch-adam": lambda: torch.optim.Adam(groups, lr=0.1),
               "ours-adam": lambda: optim.Adam(groups, lr=0.1),
               "ours-momentum": lambda: optim.Momentum(groups, lr=0.1),
               "ours-rmsprop": lambda: optim.RMSprop(groups, lr=0.1)}[kind]()
        s = cls(opt, [0.4, 0.02], **kw)
        seen = []
        for _ in range(total):
            seen.append([(g["lr"], g.get("betas", (g.get("momentum"),))[0]) for g in opt.param_groups])
            opt.step()
            s.step()
        keys = [{k: g[k] for k in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum") if k in g}
                for g in opt.param_groups]
        return seen, keys
    (a, ka), (b, kb) = run(OneCycle), run(L.OneCycleLR)
    assert ka == kb
    for x, y in zip(a, b):
        for (lr1, m1), (lr2, m2) in zip(x, y):
            assert lr1 == pytest.approx(lr2, rel=RTOL) and m1 == pytest.approx(m2, rel=RTOL)


def test_onecycle_defaults_are_onecyclelrs():
    def run(cls):
        opt = sgd(groups=1)
        s = cls(opt, max_lr=1.0, total_steps=100)
        return _lrs(opt, 99, [s], s.step)
    a, b = run(OneCycle), run(L.OneCycleLR)
    _close(a, b)
    assert max(range(99), key=lambda i: a[i][0]) == 28  # the peak at 30 % (PyTorch's pct_start=0.3)
    params_o = inspect.signature(OneCycle.__init__).parameters
    for name, par in inspect.signature(L.OneCycleLR.__init__).parameters.items():
        assert params_o[name].default == par.default, name


def test_onecycle_copies_tensor_arguments():
    opt = sgd(groups=1)
    hi = torch.tensor(0.95)
    OneCycle(opt, max_lr=0.5, total_steps=10, max_momentum=hi)
    hi.fill_(0.1)
    assert float(opt.param_groups[0]["max_momentum"]) == pytest.approx(0.95)
    assert float(opt.param_groups[0]["momentum"]) == pytest.approx(0.95)


def test_autoanneal_composes_and_resumes():
    """AutoAnneal divides the current lr, so chained with ExponentialLR both factors apply; its
    state (best, annealed) survives a state_dict round trip inside a ChainedScheduler."""
    def build():
        p = torch.ones(3, dtype=F64, requires_grad=True)
        opt = optim.Adam([p], lr=1.0)
        p.grad = torch.ones(3, dtype=F64)
        opt.step()
        s = L.ChainedScheduler([L.ExponentialLR(opt, gamma=0.5), AutoAnneal(opt, factor=4.)])
        return p, opt, s
    p, opt, s = build()
    opt.state[p]["exp_avg_sq"] *= 9  # √ triples: anneal at the next check
    s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 / 4, rel=1e-15)
    sd, osd = s.state_dict(), opt.state_dict()
    p2, opt2, s2 = build()
    opt2.load_state_dict(osd)
    s2.load_state_dict(sd)
    assert s2._schedulers[1].annealed == [1] and s2._schedulers[1].best == s._schedulers[1].best
    for sc in (s, s2):
        sc.step()
    # still 3x the best (best only ever falls): annealed again, and ExponentialLR's factor applied
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"] == pytest.approx(0.5 / 4 * 0.5 / 4)
    assert s2._schedulers[1].annealed == [1, 2]


# --- the foreach evaluator itself -------------------------------------------------------------------------
def test_foreach_evaluate_matches_tensor_arithmetic_for_every_form():
    """Each operand mix the evaluator knows, against the same expression on each tensor (fma off:
    bit for bit), including in-place reuse of an input its output replaces."""
    from torch_side.optim.graph import evaluate, sym
    g = torch.Generator().manual_seed(3)
    xs = [torch.rand(5, generator=g, dtype=F64) + 0.5 for _ in range(3)]
    ys = [torch.rand(5, generator=g, dtype=F64) + 0.5 for _ in range(3)]

    def exprs(x, y):
        return [2.0 - x, 3.0 / y, x / y * 0.5 + y ** 2, (x - y) ** 3, y - 0.25 * x / (x + 1.0),
                1.5 * x + y * 0.5, x * x]
    want = [exprs(x, y) for x, y in zip(xs, ys)]
    got = evaluate([(e, None) for e in exprs(sym("x"), sym("y"))], {"x": xs, "y": ys}, fma=False)
    for k in range(len(got)):
        assert all(torch.equal(got[k][i], want[i][k]) for i in range(3)), k
    x0 = [x.clone() for x in xs]
    evaluate([(sym("x") * 0.5 + 0.25 * sym("y"), "x")], {"x": xs, "y": ys}, fma=False)  # in place
    assert all(torch.equal(x, a * 0.5 + 0.25 * b) for x, a, b in zip(xs, x0, ys))


def test_foreach_evaluate_refuses_what_it_cannot_do():
    from torch_side.optim.graph import evaluate, sym
    from xlopt.core.expr import E
    with pytest.raises(TypeError, match="no operation 'sum'"):
        evaluate([(E("sum", sym("x")), None)], {"x": [torch.ones(2)]})
    with pytest.raises(TypeError, match="no list exponent"):
        evaluate([(2.0 ** sym("x") * sym("x") ** sym("x"), None)], {"x": [torch.ones(2)]})


# --- the named choices of train/compare keep their tuned settings ---------------------------------------
def test_opt_choices_spell_out_the_lesson_settings():
    from torch_side.experiments.choices import opt_func, sched_cbs
    p = [torch.zeros(2, requires_grad=True)]
    adam = opt_func("adam", wd=0.1)(p, lr=1e-2)
    assert isinstance(adam, optim.Adam) and adam.defaults["betas"] == (0.9, 0.99)
    assert adam.defaults["decoupled_weight_decay"] and adam.defaults["weight_decay"] == 0.1
    assert opt_func("rmsprop")(p, lr=1e-3).defaults["alpha"] == 0.9
    opt = opt_func("sgd")(p, lr=0.1)
    cb = sched_cbs("onecycle", 100, 0.5)[0]
    s = cb.sched_factory(opt)
    assert not s.cycle_momentum and opt.param_groups[0]["momentum"] == 0
    peak = max(range(100), key=lambda i: s.values_at(i)[0][0])
    assert peak == 24  # 25 % warm-up, as these choices were tuned


def test_each_sheets_optimizer_is_a_class_name_and_plain_keywords():
    from torch_side.experiments.linreg import optimizer_kwargs
    from xlopt.core import sheets, state
    for name in sheets.SHEETS:
        spec = sheets.get(name).torch
        kw = optimizer_kwargs(sheets.get(name), state.fresh(name).inputs)
        assert all(isinstance(v, (int, float, bool, tuple)) for v in kw.values()), name
        opt = getattr(optim, spec.cls)([torch.zeros(2, dtype=F64, requires_grad=True)], **kw)
        assert opt.defaults["lr"] == kw["lr"]
