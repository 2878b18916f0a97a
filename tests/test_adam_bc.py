"""adam_bc is torch.optim.Adam: the sheet, stepped row by row, equals PyTorch's own Adam in float64.

PyTorch's Adam updates the first moment with lerp (m + (1−β1)·(g − m)) where the sheet writes
m·β1 + (1−β1)·g, and divides in another order, so the two agree to rounding, not to the bit:
rtol 1e-12 over 50 epochs (measured ≈ 1e-15)."""
import pytest

torch = pytest.importorskip("torch")

from xlopt.core import buttons, sheets, state  # noqa: E402

RTOL = 1e-12


def _torch_adam_epochs(book0, epochs, carry):
    """The sheet's Reset state, then `epochs` passes of torch.optim.Adam, one step per data row."""
    inputs, data = book0.inputs, book0.data
    p = torch.tensor([inputs["const"], inputs["slope"]], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=inputs["lr"], betas=(inputs["mom"], inputs["sqr_mom"]), eps=inputs["eps"])
    assert inputs["momtarget"] == inputs["gradtarget"] == [0.0, 0.0] and inputs["steptarget"] == [0.0]
    tops = []
    for _ in range(epochs):
        for x, y in zip(data.x, data.y):
            last_inputs = p.detach().clone()
            opt.zero_grad()
            ((y - (p[0] + p[1] * x)) ** 2).backward()
            opt.step()
        if carry == "lesson":  # the lesson's carry drops the last row's update, keeps its averages
            with torch.no_grad():
                p.copy_(last_inputs)
        tops.append(p.detach().tolist())
    return tops, opt.state[p]


@pytest.mark.parametrize("carry", buttons.CARRIES)
def test_adam_bc_is_torch_optim_adam(carry):
    book = state.fresh("adam_bc")
    tops, st = _torch_adam_epochs(book, 50, carry)
    log = buttons.run(book, 50, carry)
    for e, (b, a) in zip(log[1:], tops):
        assert e["const"] == pytest.approx(b, rel=RTOL) and e["slope"] == pytest.approx(a, rel=RTOL), e["epoch"]
    assert book.get("momtarget") == pytest.approx(st["exp_avg"].tolist(), rel=RTOL)
    assert book.get("gradtarget") == pytest.approx(st["exp_avg_sq"].tolist(), rel=RTOL)
    assert book.get("steptarget") == [float(st["step"].item())] == [50.0 * 29]


def test_why_the_lesson_needed_warm_up_passes():
    """Without the bias correction, averages started at 0 make the first step m/√s = (1−β1)/√(1−β2)
    ≈ 3.16 times the bias-corrected one: that is what the lesson's 10000 start and warm-up avoid."""
    book = state.fresh("adam_bc")
    p = book.pass_
    lr, b1, b2 = book.get("lr"), book.get("mom"), book.get("sqr_mom")
    corrected = abs(p.cols["new_b"][0] - p.cols["b"][0])  # the first step of b
    uncorrected = abs(lr * p.cols["m_b"][0] / p.cols["s_b"][0] ** 0.5)
    assert corrected == pytest.approx(lr, rel=1e-6)  # |m̂/√ŝ| = 1 on the first step (ε aside)
    assert uncorrected / corrected == pytest.approx((1 - b1) / (1 - b2) ** 0.5, rel=1e-6)
    assert sheets.get("adam_bc").reset.warmup == ()
