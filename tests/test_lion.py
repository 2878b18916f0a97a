"""The lion sheet and torch_side's Lion: the sign of an interpolated momentum, rendered as SIGN()."""
import pytest

torch = pytest.importorskip("torch")

from torch_side import optim  # noqa: E402
from xlopt.core import sheets, state  # noqa: E402
from xlopt.writers.excel_formula import sheet_cells  # noqa: E402


def reference_lion(p, grads, lr, b1, b2, wd):
    """Lion as the paper's pseudo-code writes it, in plain torch (lerp form for the averages)."""
    p, m = p.clone(), torch.zeros_like(p)
    for g in grads:
        c = m.lerp(g, 1 - b1)
        p = p * (1 - lr * wd) - lr * torch.sign(c)
        m = m.lerp(g, 1 - b2)
    return p, m


@pytest.mark.parametrize("wd", [0.0, 0.1])
@pytest.mark.parametrize("foreach", [False, True])
def test_lion_is_the_papers_lion(wd, foreach):
    gen = torch.Generator().manual_seed(0)
    p0 = torch.randn(1000, dtype=torch.float64, generator=gen)
    grads = [torch.randn(1000, dtype=torch.float64, generator=gen) for _ in range(20)]
    p = p0.clone().requires_grad_(True)
    opt = optim.Lion([p], lr=1e-3, betas=(0.9, 0.99), weight_decay=wd, foreach=foreach)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    want, m = reference_lion(p0, grads, 1e-3, 0.9, 0.99, wd)
    # lerp and the sheet's m·β + (1−β)·g round differently; a sign flips only at c = 0
    assert torch.allclose(p.detach(), want, rtol=1e-12, atol=1e-15)
    assert torch.allclose(opt.state[p]["exp_avg"], m, rtol=1e-12, atol=1e-15)


def test_the_sign_is_a_cell_formula():
    cells = {c.address: c.formula for c in sheet_cells(sheets.get("lion"), 29)}
    assert cells["H4"] == "=C4*(1-lr*wd)-lr*SIGN(L4)"   # new b: decay, then lr·sign(c)
    assert cells["L4"] == "=J3*mom+(1-mom)*F4"           # c from the previous row's m
    assert cells["J4"] == "=J3*beta2+(1-beta2)*F4"         # m updated after the step


def test_every_step_is_lr():
    book = state.fresh("lion")
    p, lr = book.pass_, book.get("lr")
    steps = [abs(n - o) for n, o in zip(p.cols["new_b"], p.cols["b"])]
    assert all(s == pytest.approx(lr, rel=1e-12) for s in steps)  # wd = 0: b moves by exactly lr
