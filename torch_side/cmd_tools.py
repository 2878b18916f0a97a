"""Placeholder: the teaching tools' commands (filled in below)."""
from types import SimpleNamespace


def _stub(args):
    raise SystemExit(2)


show_batch = lr_find = sched_plot = activations = SimpleNamespace(
    add_arguments=lambda p: None, main=_stub, __doc__="")
