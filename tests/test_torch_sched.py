"""torch_side.optim.sched: our schedulers equal PyTorch's; AutoAnneal is the adam_ann sheet's annealer."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import io
import math
import warnings

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR

from torch_side.optim import SGD, Adam, Momentum
from torch_side.optim.sched import AutoAnneal, CosineAnnealing, OneCycle, grad2_size
from xlopt.core import buttons, rules, state

F64 = torch.float64
RTOL = 1e-12


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "lr_scheduler.step() before optimizer.step()"
        yield


def make_opt(kind, groups=1):
    ps = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    params = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(ps)]
    return {"torch-sgd": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
            "torch-adam": lambda: torch.optim.Adam(params, lr=0.1),
            "momentum": lambda: Momentum(params, lr=0.1),
            "adam": lambda: Adam(params, lr=0.1),
            "sgd": lambda: SGD(params, lr=0.1)}[kind]()


def trace(kind, make_sched, values, groups=1):
    """lr and momentum/β1 of every group at steps 0 … values−1."""
    opt = make_opt(kind, groups)
    sched = make_sched(opt)
    out = []
    for i in range(values):
        out.append([(g["lr"], g.get("momentum", g.get("betas", (None,))[0])) for g in opt.param_groups])
        if i < values - 1:
            opt.step()
            sched.step()
    return out


def assert_same(a, b):
    assert len(a) == len(b)
    for step, (ga, gb) in enumerate(zip(a, b)):
        for (lr1, m1), (lr2, m2) in zip(ga, gb):
            assert abs(lr1 - lr2) <= RTOL * abs(lr2) or lr1 == lr2, (step, lr1, lr2)
            assert m1 == m2 or abs(m1 - m2) <= RTOL * abs(m2), (step, m1, m2)


# --- cosine ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("T_max, eta_min, values", [(10, 0., 11), (100, 0., 301), (37, 1e-4, 200),
                                                    (1000, 0., 1001), (250, 0.05, 251)])
def test_cosine_equals_pytorch(T_max, eta_min, values):
    ours = trace("torch-sgd", lambda o: CosineAnnealing(o, T_max, eta_min), values, groups=2)
    ref = trace("torch-sgd", lambda o: CosineAnnealingLR(o, T_max, eta_min), values, groups=2)
    assert_same(ours, ref)
    assert ours[0][0][0] == 0.1 and ours[T_max][0][0] == pytest.approx(eta_min, abs=1e-15)


def test_cosine_closed_form_step_with_epoch():
    opt = make_opt("adam")
    s = CosineAnnealing(opt, 10)
    s.step(5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05, rel=1e-15)


# --- 1cycle ------------------------------------------------------------------------------------------
ONECYCLE_SETTINGS = [
    dict(),
    dict(three_phase=True),
    dict(anneal_strategy="linear"),
    dict(three_phase=True, anneal_strategy="linear"),
    dict(pct_start=0.3, div_factor=10., final_div_factor=100., base_momentum=0.8, max_momentum=0.9),
    dict(cycle_momentum=False),
]


@pytest.mark.parametrize("kind", ["torch-sgd", "torch-adam", "momentum", "adam"])
@pytest.mark.parametrize("kw", ONECYCLE_SETTINGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_onecycle_equals_pytorch(kind, kw):
    n = 500
    kw = {"pct_start": 0.25, **kw}
    ours = trace(kind, lambda o: OneCycle(o, [0.5, 0.2], n, **kw), n + 1, groups=2)
    ref = trace(kind, lambda o: OneCycleLR(o, [0.5, 0.2], n, **kw), n + 1, groups=2)
    assert_same(ours, ref)
    peak = max(range(n), key=lambda i: ours[i][0][0])
    assert ours[peak][0][0] == pytest.approx(0.5) and ours[0][0][0] == pytest.approx(0.5 / kw.get("div_factor", 25.))
    if kw.get("cycle_momentum", True):
        assert ours[peak][0][1] == pytest.approx(kw.get("base_momentum", 0.85))


def test_onecycle_cycles_our_adams_beta1_and_keeps_beta2():
    seen = trace("adam", lambda o: OneCycle(o, 0.5, 100), 100)
    assert seen[0][0][1] == 0.95 and min(m for [(_, m)] in seen) == pytest.approx(0.85, abs=1e-3)


def test_onecycle_state_dict_round_trip():
    def fresh():
        opt = make_opt("adam")
        return opt, OneCycle(opt, 0.5, 60, three_phase=True)
    opt, s = fresh()
    for _ in range(25):
        opt.step()
        s.step()
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": s.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    opt2, s2 = fresh()
    opt2.load_state_dict(saved["opt"])
    s2.load_state_dict(saved["sched"])
    for _ in range(30):
        for o, sc in ((opt, s), (opt2, s2)):
            o.step()
            sc.step()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]
        assert opt.param_groups[0]["betas"] == opt2.param_groups[0]["betas"]


@pytest.mark.parametrize("make, words", [
    (lambda: OneCycle(torch.optim.Adagrad([torch.zeros(1, requires_grad=True)]), 0.5, 100),
     "neither a 'momentum' nor a 'betas'"),
    (lambda: OneCycle(torch.optim.Adagrad([torch.zeros(1, requires_grad=True)]), 0.5, 100), "cycle_momentum=False"),
    (lambda: OneCycle(make_opt("adam"), 0.5), "give total_steps, or epochs and steps_per_epoch"),
    (lambda: OneCycle(make_opt("adam"), 0.5, epochs=2, steps_per_epoch=0), "steps_per_epoch must be a positive"),
    (lambda: OneCycle(make_opt("adam"), 0.5, 10, pct_start=1.5), r"pct_start must be a number in \[0, 1\]"),
    (lambda: OneCycle(make_opt("adam"), 0.5, 0), "total_steps must be a positive integer"),
    (lambda: OneCycle(make_opt("adam"), -0.5, 10), "max_lr must be a finite number > 0"),
    (lambda: OneCycle(make_opt("adam"), 0.5, 10, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: OneCycle(make_opt("adam"), [0.5, 0.1], 10), "2 values, but the optimizer has 1"),
    (lambda: CosineAnnealing(make_opt("adam"), 0), "T_max must be a positive integer"),
    (lambda: AutoAnneal(make_opt("adam"), factor=0.), "factor must be"),
    (lambda: AutoAnneal(make_opt("adam"), every=0), "every must be None or a positive integer"),
])
def test_bad_scheduler_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_onecycle_past_total_steps():
    opt = make_opt("adam")
    s = OneCycle(opt, 0.5, 3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="past its total_steps=3"):
        s.step()


# --- the annealer ----------------------------------------------------------------------------------
def test_grad2_size_is_the_sheets_avg_grad2():
    s_b, s_a = 1234.5678, 98765.4321
    want = rules.avg_grad2(s_b, s_a)  # √s_b + √s_a on floats
    assert grad2_size([torch.tensor([s_b, s_a], dtype=F64)]) == want          # one param [b, a]
    assert grad2_size([torch.tensor(s_b, dtype=F64), torch.tensor(s_a, dtype=F64)]) == want  # b and a
    with pytest.raises(ValueError, match="no squared-gradient averages"):
        grad2_size([])


def test_autoanneal_reproduces_adam_ann_online():
    """With full carry an epoch of the sheet is 29 online steps continuing the optimizer state, so
    Adam (the sheet's variant) stepped online with AutoAnneal after each epoch IS the adam_ann sheet."""
    epochs = 50
    book = state.fresh("adam_ann")
    inputs = dict(book.inputs)
    buttons.run(book, epochs, "full")
    p = torch.tensor([inputs["const"], inputs["slope"]], dtype=F64, requires_grad=True)
    opt = Adam([p], lr=inputs["lr"], betas=(inputs["mom"], inputs["sqr_mom"]), eps=0., bias_correction=False)
    opt.init_state(p, grad_avg=inputs["momtarget"], sqr_avg=inputs["gradtarget"])
    sched = AutoAnneal(opt, best=inputs["prev_grad2"])  # threshold 2, factor 4: the sheet's
    for epoch in range(1, epochs + 1):
        for x, y in zip(book.data.x, book.data.y):
            opt.zero_grad()
            rules.sq_err(y, rules.predict(p[1], p[0], x)).backward()
            opt.step()
        sched.step()
        e = book.log[epoch]
        assert (p[0].item(), p[1].item(), opt.param_groups[0]["lr"]) == pytest.approx(
            (e["const"], e["slope"], e["lr"]), rel=RTOL), epoch
    assert sched.best == pytest.approx(book.get("prev_grad2"), rel=RTOL)
    assert len(sched.annealed) >= 2  # lr was divided, more than once


def _stepped(opt_cls, **kw):
    p = torch.zeros(3, dtype=F64, requires_grad=True)
    opt = opt_cls([p], lr=1.0, **kw)
    p.grad = torch.ones(3, dtype=F64)
    opt.step()
    return p, opt


def test_autoanneal_threshold_factor_and_best():
    p, opt = _stepped(Adam)
    key = "exp_avg_sq"
    sched = AutoAnneal(opt, threshold=2., factor=4.)
    first = sched.best
    assert first == pytest.approx(3 * math.sqrt(1 - 0.999)) and opt.param_groups[0]["lr"] == 1.0
    opt.state[p][key] = opt.state[p][key] * 4.4  # √ grows 2.098× > 2: anneal
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.25 and sched.ratio > 2 and sched.best == first
    opt.state[p][key] = opt.state[p][key] / 4.4 * 3.9  # 1.97×: no anneal
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.25 and sched.annealed == [1]
    opt.state[p][key] = opt.state[p][key] / 100  # lower: becomes the best
    sched.step()
    assert sched.best == pytest.approx(first * math.sqrt(3.9) / 10)


def test_autoanneal_every_k_steps_and_torch_adam_state():
    p, opt = _stepped(torch.optim.Adam)  # keeps 'exp_avg_sq'
    sched = AutoAnneal(opt, every=3, factor=2.)
    for _ in range(1, 7):
        opt.state[p]["exp_avg_sq"] = opt.state[p]["exp_avg_sq"] * 9  # √ triples each time
        sched.step()
    # checked at steps 3 and 6 only, each time the size had grown 27× over the best
    assert sched.annealed == [3, 6] and opt.param_groups[0]["lr"] == 0.25


def test_autoanneal_needs_squared_averages():
    p, opt = _stepped(Momentum)
    sched = AutoAnneal(opt)
    with pytest.raises(ValueError, match="no squared-gradient averages"):
        sched.step()
