"""linreg: the lesson's problem — fit y = a·x + b to data rows by their squared errors, one row a step."""
from xlopt.core import rules
from xlopt.core.expr import colsum, colsumsq, sqrt  # noqa: F401  (colsumsq: basic's gradient norms read it)
from xlopt.core.problem import Problem
from xlopt.core.sheet import Column, Summary

PRED = Column("pred", "", "pred", lambda e: rules.predict(e["a"], e["b"], e["x"]))
ERR2 = Column("err2", "", "err^2", lambda e: rules.sq_err(e["y"], e["pred"]))


def columns(estimate):
    """The lesson's two layouts: basic shows the finite-difference estimates before the analytic
    gradient (from y_pred); the other sheets write the gradient out and the error last."""
    if estimate:
        return (
            Column("pred", "", "y_pred", PRED.fn), ERR2,
            Column("errb1", "", "errb1", lambda e: rules.err_b_shifted(e["a"], e["b"], e["x"], e["y"])),
            Column("est_db", "", "est de/db", lambda e: rules.finite_diff(e["errb1"], e["err2"])),
            Column("erra1", "", "erra1", lambda e: rules.err_a_shifted(e["a"], e["b"], e["x"], e["y"])),
            Column("est_da", "", "est de/da", lambda e: rules.finite_diff(e["erra1"], e["err2"])),
            Column("g_b", "", "de/db", lambda e: rules.grad_b_of_pred(e["pred"], e["y"])),
            Column("g_a", "", "de/da", lambda e: rules.grad_a(e["g_b"], e["x"])),
        ), ()
    return (
        PRED,
        Column("g_b", "", "de/db", lambda e: rules.grad_b(e["a"], e["b"], e["x"], e["y"])),
        Column("g_a", "", "de/da", lambda e: rules.grad_a(e["g_b"], e["x"])),
    ), (ERR2,)


def summaries(letter):
    """The lesson's rmse: √ of the summed squared errors (not divided by n)."""
    return (Summary("rmse", letter("err2"), lambda e: sqrt(colsum(e["err2"]))),)


PROBLEM = Problem(
    "linreg", 0, ("const", "slope"), ("b", "a"), (1.0, 1.0), ((30.0, 2.0),), columns, summaries, "rmse",
    lambda b, a, x, y: rules.sq_err(y, rules.predict(a, b, x)), data="rows",
    instructions="",  # the optimizers' own paragraphs are written for the lesson's problem
    formula="rmse of y = a*x + b over the data", window=(-10.0, 70.0, -2.0, 6.0), lesson=True,
)
