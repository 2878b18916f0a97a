"""What the optimizer classes compose, written once: weight decay and maximize (torch_side.optim.compose),
and the squared-gradient average annealing reads (each class's sqr_avg_key), which both the choices
(ANNEAL_NEEDS) and the annealer (sched.sqr_avgs) take from the class."""
import inspect

import pytest

torch = pytest.importorskip("torch")

from torch_side import optim  # noqa: E402
from torch_side.experiments import choices  # noqa: E402
from torch_side.optim import compose, sched  # noqa: E402

CLASSES = [c for c in optim.RULE_CLASSES.values() if c.__module__.startswith("torch_side.optim")]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_class_names_its_decay_and_leaves_decay_and_maximize_to_the_base(cls):
    assert cls.decay in (compose.L2, compose.DECOUPLED, None)
    src = inspect.getsource(cls)
    assert "weight_decay(" not in src and "rules.l2(" not in src and "rules.decay(" not in src
    if "def _math" in src:  # the rule itself: no sign flip of its own
        assert "maximize" not in src.split("def _math", 1)[1].split("\n    def ", 1)[0]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_the_sqr_avg_key_is_a_state_key(cls):
    assert cls.sqr_avg_key is None or cls.sqr_avg_key in cls.state_keys


def test_anneal_needs_is_read_from_the_classes():
    have = {n for n in choices.OPTIMIZERS if optim.sqr_avg_key_of(choices.opt_class(n)) is not None}
    assert set(choices.ANNEAL_NEEDS) == have
    assert {"adam", "adam-anneal", "rmsprop", "adamw"} <= have and "adagrad" not in have  # a sum, not an average
    with pytest.raises(ValueError, match="does not keep"):
        choices.sched_cbs("anneal", 100, 1e-2, opt_name="adagrad")  # refused before any training


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=0.1), lambda ps: torch.optim.AdamW(ps, lr=0.1),
                                  lambda ps: optim.RMSprop(ps, lr=0.1), lambda ps: torch.optim.RMSprop(ps, lr=0.1)],
                         ids=["Adam", "torch.AdamW", "RMSprop", "torch.RMSprop"])
def test_the_annealer_reads_the_key_the_class_names(make):
    p = torch.nn.Parameter(torch.tensor([1., -2.], dtype=torch.float64))
    opt = make([p])
    p.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
    opt.step()
    (avg,) = sched.sqr_avgs(opt)
    assert avg is opt.state[p][optim.sqr_avg_key_of(opt)]


def test_maximize_and_decay_compose_in_every_path():
    """maximize ascends: the same step as descending the negated gradient, on every path."""
    for kw in ({}, {"foreach": False}):
        for cls, extra in ((optim.Adam, {"weight_decay": 0.1}), (optim.AdamW, {}), (optim.Lion, {"weight_decay": 0.1}),
                           (optim.SGD, {"momentum": 0.9, "weight_decay": 0.1})):
            a = torch.nn.Parameter(torch.tensor([1., -2.], dtype=torch.float64))
            b = torch.nn.Parameter(a.detach().clone())
            oa, ob = cls([a], lr=0.1, maximize=True, **extra, **kw), cls([b], lr=0.1, **extra, **kw)
            for _ in range(3):
                a.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
                b.grad = -a.grad
                oa.step()
                ob.step()
            assert torch.equal(a, b), (cls.__name__, kw)
