"""The fused path (``fused=True``): a rule's graph (`torch_side.optim.graph`) printed once as Python
over one parameter at a time and compiled by torch.compile (Inductor) into fused kernels. Every
number of the graph is read from one tensor argument, so later steps and schedules reuse the code;
``maximize`` has negated the gradients before the kernel runs (`torch_side.optim.compose.ascend`)."""
import os
import shutil

import torch

__all__ = ["printed", "compiled", "check_compiler"]

_OPS = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
_KERNELS = {}  # source -> compiled function


def printed(outputs, inputs):
    """``outputs`` ([(node, target)]) as the body of ``step(ps, gs, states, c)``, over one parameter
    at a time, with every number of the graph read from ``c`` (so the next step, whose numbers
    differ, runs the same source). Returns (source, numbers). Every node that is not a number is
    tensor-valued (numbers fold before they meet a symbol), so the operations print as tensor ones."""
    consts, lines, names = [], [], {}

    def emit(n):
        if id(n) in names:
            return names[id(n)]
        if n.op == "num":
            consts.append(n.args[0])
            return f"c[{len(consts) - 1}]"
        if n.op == "sym":
            s = {"p": "p", "g": "g"}.get(n.args[0]) or f"st[{n.args[0]!r}][i]"
        elif n.op in ("sqrt", "sign"):
            s = f"{emit(n.args[0])}.{n.op}()"
        elif n.op == "sq":
            a = emit(n.args[0])
            s = f"{a} * {a}"
        elif n.op in _OPS:
            s = f"{emit(n.args[0])} {_OPS[n.op]} {emit(n.args[1])}"
        else:
            raise TypeError(f"the fused path has no operation {n.op!r} (in {n!r})")
        names[id(n)] = f"t{len(names)}"
        lines.append(f"        {names[id(n)]} = {s}")
        return names[id(n)]
    outs = [(emit(node) + (".clone()" if node.op == "sym" else ""), target) for node, target in outputs]
    emit = None  # noqa: F841  (breaks the closure's reference cycle: no garbage for the GC each step)
    body = ["def step(ps, gs, st, c):", "    made = []", "    for i in range(len(ps)):",
            "        p, g = ps[i], gs[i]", *lines, "        new = {}"]
    for name, target in outs:
        if target == "p":
            body.append(f"        p.copy_({name})")
        elif target in inputs:
            body.append(f"        st[{target!r}][i].copy_({name})")
        else:
            body.append(f"        new[{target!r}] = {name}")
    body += ["        made.append(new)", "    return made"]
    return "\n".join(body) + "\n", consts


def compiled(source):
    """The step function of ``source``, compiled once by torch.compile (Inductor): dynamic shapes, so
    one kernel serves tensors of every size (and is compiled by the C++ compiler once)."""
    fn = _KERNELS.get(source)
    if fn is None:
        scope = {}
        exec(compile(source, "<torch_side fused step>", "exec"), scope)  # noqa: S102  (our own printed graph)
        fn = _KERNELS[source] = torch.compile(scope["step"], dynamic=True)
    return fn


def check_compiler(device):
    """fused=True compiles C++ on CPU: without a compiler, one message instead of Inductor's."""
    if device.type == "cpu" and not any(shutil.which(c) for c in (os.environ.get("CXX") or "g++", "c++", "clang++")):
        raise RuntimeError("fused=True compiles the step with torch.compile, which needs a C++ compiler "
                           "on CPU (g++, c++ or clang++ on PATH, or CXX): install one (apt-get install "
                           "g++) or use foreach=True")
