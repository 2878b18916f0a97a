"""Issue 23: PyTorch's whole optimizer contract, the three paths, and Adagrad, Schedule-Free AdamW and Muon.

Our own tests of each point (no PyTorch test file is copied). Tolerances, stated where used:
float64 against torch.optim 1e-12 relative (the rules and torch order a few operations
differently); our per-tensor and multi-tensor paths bit for bit (one graph, the same operations);
the fused (compiled) path 1e-5 relative in float32 and 1e-12 in float64 after a few steps (the
compiler may reassociate and contract into FMAs); Muon 1e-4 of one step's size with Newton–Schulz in
float32, 0.1 in bfloat16 (torch and we both by default
orthogonalise in bfloat16, whose rounding differs with the order of the matrix products).
"""
import copy
import inspect
import math

import pytest

torch = pytest.importorskip("torch")

from torch_side import optim  # noqa: E402
from torch_side.optim import fused  # noqa: E402

F64 = torch.float64
RTOL = 1e-12


def params(dtype=F64, seed=0, shapes=((4, 3), (5,), (2, 3, 2))):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=dtype).requires_grad_() for s in shapes]


def loss_of(ps, i):
    out = 0
    for k, p in enumerate(ps):
        out = out + ((p - 0.1 * (i % 5) - k) ** 4).sum() + (p ** 2).sum()
    return out


def train(make, steps=20, dtype=F64, ps=None, sign=1):
    ps = params(dtype) if ps is None else ps
    opt = make(ps)
    for i in range(steps):
        opt.zero_grad()
        (sign * loss_of(ps, i)).backward()
        opt.step()
    return [p.detach().clone() for p in ps], opt


def max_rel(a, b):
    return max(((x - y).abs() / y.abs().clamp_min(1e-300)).max().item() for x, y in zip(a, b))


TWINS = [("SGD", dict(momentum=0.9)), ("Adam", {}), ("AdamW", {}), ("RMSprop", {}), ("Adagrad", {})]


# --- 2. the contract ----------------------------------------------------------------------------------------
def test_every_class_is_exported():
    for name in ("SGD", "Momentum", "RMSprop", "Adam", "AdamW", "Lion", "Adagrad", "ScheduleFreeAdamW", "Muon",
                 "MuonAdamW"):
        assert name in optim.__all__ and issubclass(getattr(optim, name), torch.optim.Optimizer)


@pytest.mark.parametrize("name, kw", TWINS, ids=[t[0] for t in TWINS])
def test_unknown_group_keys_are_kept(name, kw):
    """Construction, add_param_group and load_state_dict keep keys the class does not know
    (a named group, timm's lr_scale, SWALR's swa_lr), as torch.optim does."""
    ps = params()
    opt = getattr(optim, name)([{"params": ps[:1], "name": "head", "lr_scale": 0.5}], lr=1e-2, **kw)
    opt.add_param_group({"params": ps[1:], "name": "body"})
    assert [g["name"] for g in opt.param_groups] == ["head", "body"] and opt.param_groups[0]["lr_scale"] == 0.5
    torch.optim.swa_utils.SWALR(opt, swa_lr=0.05)
    assert all(g["swa_lr"] == 0.05 for g in opt.param_groups)
    loss_of(ps, 0).backward()
    opt.step()
    again = getattr(optim, name)([{"params": ps[:1]}, {"params": ps[1:]}], lr=1e-2, **kw)
    again.load_state_dict(opt.state_dict())  # after SWALR, as a checkpoint is reloaded
    assert [g.get("swa_lr") for g in again.param_groups] == [0.05, 0.05]
    assert again.param_groups[0]["name"] == "head"


@pytest.mark.parametrize("name", ["SGD", "Momentum", "Adam", "AdamW", "RMSprop", "Adagrad"])
@pytest.mark.parametrize("foreach", [False, True])
def test_tensor_lr_equals_float_lr(name, foreach):
    """A 1-element Tensor lr steps as its value; against torch.optim's own Tensor lr where it takes one."""
    kw = {"SGD": dict(momentum=0.9)}.get(name, {})
    a, _ = train(lambda p: getattr(optim, name)(p, lr=torch.tensor(1e-2, dtype=F64), foreach=foreach, **kw))
    b, _ = train(lambda p: getattr(optim, name)(p, lr=1e-2, foreach=foreach, **kw))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    if name != "Momentum":
        c, _ = train(lambda p: getattr(torch.optim, name)(p, lr=torch.tensor(1e-2, dtype=F64), foreach=False, **kw))
        assert max_rel(a, c) <= RTOL


def test_tensor_betas_as_torch_takes_them():
    betas = (torch.tensor(0.8, dtype=F64), torch.tensor(0.99, dtype=F64))
    a, _ = train(lambda p: optim.Adam(p, lr=1e-2, betas=betas))
    b, _ = train(lambda p: torch.optim.Adam(p, lr=1e-2, betas=betas, foreach=False))
    assert max_rel(a, b) <= RTOL


BAD = [  # (keywords, what torch.optim raises for them)
    (dict(lr=-1.0), ValueError), (dict(lr=torch.tensor([1e-3, 1e-3])), ValueError),
    (dict(betas=(1.0, 0.9)), ValueError), (dict(betas=(0.9, -0.1)), ValueError), (dict(eps=-1e-8), ValueError),
    (dict(weight_decay=-1.0), ValueError), (dict(fused=True, foreach=True), RuntimeError),
]


@pytest.mark.parametrize("kw, exc", BAD, ids=[str(sorted(b[0])) for b in BAD])
def test_arguments_are_checked_before_params_is_read(kw, exc):
    """The exception type torch.optim.Adam raises, and the params generator left unread."""
    with pytest.raises(exc):
        torch.optim.Adam([torch.zeros(2, requires_grad=True)], **kw)
    read = []

    def gen():
        read.append(1)
        yield torch.zeros(2, requires_grad=True)
    with pytest.raises(exc):
        optim.Adam(gen(), **kw)
    assert not read


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, foreach=True),
                                  lambda p: optim.SGD(p, lr=0.1, weight_decay=0.1, maximize=True)])
def test_no_empty_state_entries(make):
    _, opt = train(make, steps=3)
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}


def test_momentum_sgd_interchange_needs_no_hand_edits():
    """SGD(momentum=β, dampening=β) ↔ Momentum: each state_dict loads into the other as it is, and the
    continued run equals the uninterrupted one (after the first step, where torch's buffer starts at g)."""
    w, t = train(lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8, dampening=0.8), steps=5)
    ours = optim.Momentum([x.clone().requires_grad_() for x in w], lr=1.0)
    ours.load_state_dict(t.state_dict())
    assert ours.param_groups[0]["momentum"] == 0.8 and "dampening" not in ours.param_groups[0]
    back = torch.optim.SGD([x.clone().requires_grad_() for x in w], lr=1.0)
    back.load_state_dict(ours.state_dict())
    assert back.param_groups[0]["dampening"] == 0.8
    ps = [x.clone().requires_grad_() for x in w]
    back2 = torch.optim.SGD(ps, lr=1.0)
    back2.load_state_dict(ours.state_dict())
    loss_of(ps, 5).backward()
    back2.step()  # no KeyError: 'dampening'
    other = copy.deepcopy(t.state_dict())
    other["param_groups"][0]["dampening"] = 0.1
    with pytest.raises(ValueError, match=r"Momentum is SGD\(momentum=β, dampening=β\) without nesterov"):
        ours.load_state_dict(other)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
@pytest.mark.parametrize("kw", [dict(lr=-1.0), dict(weight_decay=-1.0), dict(lr=torch.tensor([1.0, 2.0]))],
                         ids=["lr", "weight_decay", "tensor-lr-2"])
def test_every_twin_checks_before_reading_params(name, kw):
    """Each class with a torch twin raises what its twin raises (ValueError), params unread."""
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    read = []

    def gen():
        read.append(1)
        yield torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="lr|weight_decay"):
        getattr(optim, name)(gen(), **kw)
    assert not read


@pytest.mark.parametrize("make, words", [
    (lambda p: optim.Adam(p, amsgrad=True), r"amsgrad=True is not supported: .*torch.optim.Adam\(amsgrad=True\)"),
    (lambda p: optim.AdamW(p, capturable=True), r"capturable=True \(CUDA-graph capture\) is not supported"),
    (lambda p: optim.SGD(p, differentiable=True), r"differentiable=True is not supported: step\(\) runs under"),
])
def test_refusals_are_one_message(make, words):
    with pytest.raises(ValueError, match=words):
        make([torch.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_float32_adam_foreach_is_bit_identical_to_per_tensor(cls):
    """Our two paths run one graph with the same operations (torch's two paths are bit-identical too)."""
    shapes = ((16, 8, 3, 3), (16,), (10, 16), (10,))
    a, _ = train(lambda p: cls(p, lr=1e-2, weight_decay=0.1, foreach=True), dtype=torch.float32,
                 ps=params(torch.float32, shapes=shapes))
    b, _ = train(lambda p: cls(p, lr=1e-2, weight_decay=0.1, foreach=False), dtype=torch.float32,
                 ps=params(torch.float32, shapes=shapes))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


# --- 3. Adagrad -----------------------------------------------------------------------------------------------
ADAGRAD = [dict(), dict(lr=0.1), dict(lr_decay=0.05), dict(weight_decay=0.1), dict(initial_accumulator_value=0.3),
           dict(eps=1e-3), dict(maximize=True), dict(lr=0.05, lr_decay=0.01, weight_decay=0.01,
                                                     initial_accumulator_value=0.1, eps=1e-6)]


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("kw", ADAGRAD, ids=lambda k: ",".join(k) or "defaults")
def test_adagrad_equals_torch_on_every_keyword(kw, foreach):
    sign = -1 if kw.get("maximize") else 1
    a, _ = train(lambda p: optim.Adagrad(p, foreach=foreach, **kw), sign=sign)
    b, _ = train(lambda p: torch.optim.Adagrad(p, foreach=foreach, **kw), sign=sign)
    assert max_rel(a, b) <= RTOL


def test_adagrad_signature_and_state_dict_are_torchs():
    sig_o, sig_t = (inspect.signature(c.__init__).parameters for c in (optim.Adagrad, torch.optim.Adagrad))
    for name, par in sig_t.items():
        assert name in sig_o and sig_o[name].default == par.default and sig_o[name].kind == par.kind, name
    w, t = train(lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01), steps=5)
    ours = optim.Adagrad([x.clone().requires_grad_() for x in w])
    ours.load_state_dict(t.state_dict())
    assert ours.state[ours.param_groups[0]["params"][0]]["step"] == 5


# --- 3. Schedule-Free AdamW against the paper's equations ---------------------------------------------------
def paper_schedule_free(p0, grads_at, steps, lr, b1, b2, eps, wd, warmup):
    """Defazio et al. 2024, Algorithm 1 (AdamW), stepped by hand on Python floats, one coordinate
    at a time: y, z, x, v and Σγ² written out as the paper's lines."""
    z, x, v = list(p0), list(p0), [0.0] * len(p0)
    wsum = 0.0
    for t in range(1, steps + 1):
        y = [(1 - b1) * zi + b1 * xi for zi, xi in zip(z, x)]
        g = grads_at(y, t - 1)
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        gamma = lr * math.sqrt(1 - b2 ** t) * min(1.0, t / warmup if warmup else 1.0)
        z = [zi - gamma * gi / (math.sqrt(vi) + eps) - gamma * wd * yi for zi, gi, vi, yi in zip(z, g, v, y)]
        wsum += gamma ** 2
        c = gamma ** 2 / wsum
        x = [(1 - c) * xi + c * zi for xi, zi in zip(x, z)]
    return [(1 - b1) * zi + b1 * xi for zi, xi in zip(z, x)], x


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("kw", [dict(), dict(weight_decay=0.1), dict(warmup_steps=5), dict(betas=(0.5, 0.9))],
                         ids=lambda k: ",".join(k) or "defaults")
def test_schedule_free_is_the_papers_algorithm(kw, foreach):
    hyper = dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0)
    hyper.update(kw)
    p0 = [1.5, -0.7, 0.2]

    def grads_at(y, i):  # f(y) = Σ (y_k − k·0.3 − 0.1·(i mod 3))⁴/4 + y_k²/2
        return [(yk - k * 0.3 - 0.1 * (i % 3)) ** 3 + yk for k, yk in enumerate(y)]
    want_y, want_x = paper_schedule_free(p0, grads_at, 12, hyper["lr"], *hyper["betas"], hyper["eps"],
                                         hyper["weight_decay"], hyper["warmup_steps"])
    p = torch.tensor(p0, dtype=F64, requires_grad=True)
    opt = optim.ScheduleFreeAdamW([p], foreach=foreach, **hyper)
    for i in range(12):
        p.grad = torch.tensor(grads_at(p.tolist(), i), dtype=F64)
        opt.step()
    assert p.tolist() == pytest.approx(want_y, rel=1e-12, abs=1e-15)
    opt.eval()  # the weights become x, the point to evaluate ...
    assert p.tolist() == pytest.approx(want_x, rel=1e-12, abs=1e-15)
    with pytest.raises(RuntimeError, match="call opt.train"):
        opt.step()
    opt.train()  # ... and y again
    assert p.tolist() == pytest.approx(want_y, rel=1e-12, abs=1e-15)


def test_schedule_free_state_dict_round_trip():
    w, opt = train(lambda p: optim.ScheduleFreeAdamW(p, lr=1e-2, warmup_steps=3), steps=6)
    sd = copy.deepcopy(opt.state_dict())
    ps = [x.clone().requires_grad_() for x in w]
    again = optim.ScheduleFreeAdamW(ps, lr=1e-2, warmup_steps=3)
    again.load_state_dict(sd)
    assert again.state[ps[0]]["weight_sum"] == opt.state[opt.param_groups[0]["params"][0]]["weight_sum"]


# --- 3. Muon ----------------------------------------------------------------------------------------------------
def _ns_float32(grad, ns_coefficients, ns_steps, eps):
    """torch 2.13's _zeropower_via_newtonschulz line for line, in float32 instead of bfloat16."""
    a, b, c = ns_coefficients
    o = grad.float()
    if grad.size(0) > grad.size(1):
        o = o.T
    o = o / o.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram = o @ o.T
        o = torch.addmm(o, torch.addmm(gram, gram, gram, beta=b, alpha=c), o, beta=a)
    return o.T if grad.size(0) > grad.size(1) else o


@pytest.mark.parametrize("precise", [True, False], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("kw", [dict(), dict(nesterov=False), dict(adjust_lr_fn="match_rms_adamw"),
                                dict(weight_decay=0.0, momentum=0.9)], ids=lambda k: ",".join(k) or "defaults")
def test_muon_equals_torch_muon(kw, precise, monkeypatch):
    """Step by step against torch.optim.Muon. With the Newton–Schulz iteration in float32 on both
    sides (torch's patched to float32) each step agrees within 1e-4 of its size: the same algorithm.
    In bfloat16, as both run by default, within 0.1 of its size (measured: up to 0.065): five iterations of bfloat16
    rounding (8 bits) in two different operation orders (torch's addmm against our products)."""
    if precise:
        monkeypatch.setattr(torch.optim._muon, "_zeropower_via_newtonschulz", _ns_float32)
        kw = dict(kw, ns_dtype=torch.float32)
    tol = 1e-4 if precise else 0.1
    shapes = ((8, 5), (6, 12))
    a = params(torch.float32, shapes=shapes)
    b = [x.detach().clone().requires_grad_() for x in a]
    ours = optim.Muon(a, lr=0.02, **kw)
    theirs = torch.optim.Muon(b, lr=0.02, **{k: v for k, v in kw.items() if k != "ns_dtype"})
    for i in range(6):
        for opt, ps in ((ours, a), (theirs, b)):
            opt.zero_grad()
            loss_of(ps, i).backward()
        before = [x.detach().clone() for x in b]
        ours.step()
        theirs.step()
        for x, y, y0 in zip(a, b, before):
            size = (y - y0).abs().max().item()
            assert (x - y).abs().max().item() <= tol * size
        with torch.no_grad():  # go on from torch's point, so each step is compared alone
            for x, y in zip(a, b):
                x.copy_(y)
                ours.state[x]["momentum_buffer"].copy_(theirs.state[y]["momentum_buffer"])


def test_muon_refuses_what_torch_refuses():
    with pytest.raises(ValueError, match="Muon takes 2-D parameters, got one of shape \\(3,\\)"):
        optim.Muon([torch.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="adjust_lr_fn must be"):
        optim.Muon([torch.zeros(3, 3, requires_grad=True)], adjust_lr_fn="other")


def test_muon_adamw_splits_a_resnet():
    from torch_side.fashion.models import resnet
    model = resnet()
    opt = optim.MuonAdamW(model.parameters(), lr=1e-2)
    kinds = [(g["kind"], len(g["params"])) for g in opt.param_groups]
    convs = sum(p.ndim == 4 for p in model.parameters())
    assert kinds == [("adamw", sum(1 for _ in model.parameters()) - convs), ("muon", convs)]
    x = torch.randn(4, 1, 28, 28)
    before = [p.detach().clone() for p in model.parameters()]
    model(x).logsumexp(1).sum().backward()
    opt.step()
    moved = [not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()) if b.grad.abs().max() > 0]
    assert moved and all(moved)  # (a zero-initialised BatchNorm leaves its block without gradient)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=10)
    sched.step()
    assert len({g["lr"] for g in opt.param_groups}) == 1
    again = optim.MuonAdamW(model.parameters(), lr=1e-2)
    again.load_state_dict(opt.state_dict())


# --- 1. the fused path (torch.compile) ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name, kw", [("Adam", dict(weight_decay=0.1)), ("SGD", dict(momentum=0.9)),
                                      ("Lion", dict(lr=1e-3)), ("ScheduleFreeAdamW", dict(lr=1e-2)),
                                      ("Adagrad", dict(weight_decay=0.1)),
                                      ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.5))])
def test_fused_path_is_the_same_rule_compiled(name, kw):
    """fused=True compiles the same rule: within 1e-5 relative of the per-tensor path in float32,
    and a changing lr (a schedule) reaches it."""
    kw = dict(kw)
    kw.setdefault("lr", 1e-2)

    def run(fused):
        ps = params(torch.float32)
        opt = getattr(optim, name)(ps, fused=fused, **kw)
        for i in range(8):
            opt.param_groups[0]["lr"] = kw["lr"] * (1 - i / 10)
            opt.zero_grad()
            loss_of(ps, i).backward()
            opt.step()
        return [p.detach() for p in ps]
    assert max_rel(run(True), run(None)) <= 1e-5


def test_fused_first_buffer_is_a_copy_of_the_gradient():
    """SGD's first momentum buffer is g itself in the rule: the fused step must not keep p.grad."""
    p = torch.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, fused=True)
    p.grad = torch.full((3,), 2.0)
    opt.step()
    p.grad.zero_()
    assert opt.state[p]["momentum_buffer"].tolist() == [2.0, 2.0, 2.0]


def test_fused_without_a_compiler_is_one_message(monkeypatch):
    monkeypatch.setattr(fused.shutil, "which", lambda name: None)
    p = torch.ones(3, requires_grad=True)
    opt = optim.Adam([p], fused=True)
    p.grad = torch.ones(3)
    with pytest.raises(RuntimeError, match="needs a C.. compiler on CPU .* or use foreach=True"):
        opt.step()
    assert p.tolist() == [1.0, 1.0, 1.0] and not opt.state  # refused before anything moved
