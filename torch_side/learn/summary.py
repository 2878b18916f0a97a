"""Per-layer summary table (shapes, parameters, MFLOPs) counted the way the lesson counts.

course22p2 ``nbs/14_augment.ipynb`` ``_flops``: for each top-level module, a parameter tensor
of dimension < 3 counts its ``numel()``; a 4-D one (a conv kernel) counts ``numel() * h * w``
of the module's output. That is a rough multiply count, not an exact FLOP count, and it is
kept as is so the table can be compared with the lesson's.
"""
import torch

from torch_side.learn.learner import Learner

__all__ = ["summary", "param_count"]


def param_count(model):
    """Total number of parameters (what the lesson calls "Tot params")."""
    return sum(p.numel() for p in model.parameters())


def _flops(p, h, w):
    if p.dim() < 3:
        return p.numel()
    if p.dim() == 4:
        return p.numel() * h * w
    return 0


def summary(obj, xb=None, print_table=True):
    """Return a DataFrame (Module, Input, Output, Params, MFLOPs) with totals in ``.attrs``.

    ``obj`` is a model or a Learner; for a Learner with no ``xb``, the first validation
    batch is used. Only direct children are listed, as in the lesson.
    """
    import pandas as pd
    model = getattr(obj, "model", obj)
    if xb is None:
        xb = next(iter(obj.dls.valid))[0]
    dev = next(model.parameters()).device
    xb = xb.to(dev)
    rows = []

    def hook(mod, inp, outp):
        nparms = sum(p.numel() for p in mod.parameters())
        h, w = outp.shape[-2:] if outp.dim() == 4 else (1, 1)
        flops = sum(_flops(p, h, w) for p in mod.parameters()) / 1e6
        rows.append({"Module": type(mod).__name__, "Input": tuple(inp[0].shape),
                     "Output": tuple(outp.shape), "Params": nparms, "MFLOPs": flops})

    handles = [m.register_forward_hook(hook) for m in model.children()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(xb)
    finally:
        for hd in handles:
            hd.remove()
        model.train(was_training)
    df = pd.DataFrame(rows, columns=["Module", "Input", "Output", "Params", "MFLOPs"])
    df.attrs["total_params"] = int(df["Params"].sum()) if len(df) else param_count(model)
    df.attrs["total_mflops"] = float(df["MFLOPs"].sum()) if len(df) else 0.0
    if print_table:
        print(format_summary(df))
    return df


def format_summary(df):
    """The table as text, with the lesson's totals line at the end."""
    lines = [f"{'Module':<14}{'Input':<22}{'Output':<22}{'Params':>10}{'MFLOPs':>9}"]
    for r in df.itertuples(index=False):
        lines.append(f"{r.Module:<14}{str(r.Input):<22}{str(r.Output):<22}"
                     f"{r.Params:>10,}{r.MFLOPs:>9.1f}")
    lines.append(f"Tot params: {df.attrs['total_params']:,}; "
                 f"MFLOPS: {df.attrs['total_mflops']:.1f}")
    return "\n".join(lines)


def _summary_method(self, xb=None, print_table=True):
    """The lesson's per-layer table (:func:`torch_side.learn.summary.summary`) as a DataFrame."""
    return summary(self, xb=xb, print_table=print_table)


Learner.summary = _summary_method
