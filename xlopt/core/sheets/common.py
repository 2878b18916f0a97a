"""Columns and summaries several sheet definitions share: the model, its gradients, the error."""
from xlopt.core import rules
from xlopt.core.expr import colsum, sqrt
from xlopt.core.sheet import Column, Summary


def grads():
    """E pred, F de/db, G de/da: the columns every optimizer sheet but basic starts with."""
    return (
        Column("pred", "E", "pred", lambda e: rules.predict(e["a"], e["b"], e["x"])),
        Column("g_b", "F", "de/db", lambda e: rules.grad_b(e["a"], e["b"], e["x"], e["y"])),
        Column("g_a", "G", "de/da", lambda e: rules.grad_a(e["g_b"], e["x"])),
    )


def err(letter):
    return Column("err2", letter, "err^2", lambda e: rules.sq_err(e["y"], e["pred"]))


def rmse(letter):
    """The lesson's rmse: √ of the summed squared errors (not divided by n)."""
    return Summary("rmse", letter, lambda e: sqrt(colsum(e["err2"])))

