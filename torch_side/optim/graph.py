"""The multi-tensor path: one rule, evaluated over lists of tensors with ``torch._foreach_*``.

An optimizer's math (the `xlopt.rules` functions it calls) is run once per step on `xlopt.expr`
symbols instead of tensors: the same operators then build a small expression graph instead of
numbers (hyper-parameters stay Python floats and fold as they do on tensors). `evaluate` runs that
graph on lists of tensors, one ``torch._foreach_*`` call per operation for all the parameters of a
bucket at once, so the rules stay written once and the per-tensor Python loop disappears.

Three things make it as fast as ``torch.optim``'s own foreach code:

* **Temporaries are overwritten in place.** A node used by exactly one other node (and not an
  output) is a temporary, so its consumer may write into it (``_foreach_mul_`` instead of
  ``_foreach_mul``). An input that an output replaces (``m`` → new ``m``) counts as a temporary
  when its only reader leads, node by node, to that output alone.
* **The new value lands in its own buffer.** When the output's value ends up in the buffer it
  replaces (the usual case), nothing is copied; otherwise one ``_foreach_copy_`` writes it.
* **Fusion.** ``a − (s·b)/d`` is ``_foreach_addcdiv(a, b, d, value=−s)``, which rounds exactly as
  the two steps do (the CPU kernel computes (s·b)/d then the sum), so it is always used. With
  ``fma=True`` also ``a ± s·b`` → ``_foreach_add(a, b, alpha=±s)`` and ``a + s·(b·c)`` →
  ``_foreach_addcmul`` (also ``a ± x²``, which saves allocating x² for every tensor): the CPU
  kernels evaluate these with a fused multiply-add, one rounding instead of two, so results may
  differ from the rules' own rounding in the last bit of an element. An EWMA ``a·β + (1−β)·b``
  becomes one ``_foreach_lerp`` under ``fma=True`` too (as torch.optim's own ``lerp_``). The
  per-tensor path runs the same graph, so both paths round alike. ``fma=False`` evaluates every
  operation as written: the rules' own rounding, which float64 always gets (the sheet's bits).

Supported operations are those the rules use: ``+ − · /``, ``** number``, ``sqrt`` and ``sign``; with any mix
of lists and numbers. Anything else raises TypeError with the node it met.
"""
import torch

from xlopt.core.expr import E, sym

__all__ = ["sym", "evaluate", "plan"]  # the fused path: torch_side.optim.fused


def plan(outputs):
    """The graph of ``outputs`` analysed once, to `run` over several environments."""
    return _Graph(outputs)


def _is_list(x):
    return isinstance(x, (list, tuple))  # torch._foreach_* return tuples


class _Graph:
    """The analysis of one step's expression graph (who reads what), reusable over many
    environments: the multi-tensor path runs it once over lists of all a bucket's tensors, the
    per-tensor path once per parameter over lists of one tensor, so both round identically."""

    def __init__(self, outputs):
        self.outputs = {}        # id(node) -> target name (or None)
        self.target_node = {}    # target name -> node
        self.nodes = outputs
        for node, target in outputs:
            if not isinstance(node, E):
                raise TypeError(f"a foreach output must be an expression of the inputs, got {node!r}")
            self.outputs[id(node)] = target
            if target is not None:
                self.target_node[target] = node
        self.parents = {}
        seen, todo = set(), [node for node, _ in outputs]
        while todo:  # iterative: a recursive closure would leave a reference cycle per step for the GC
            n = todo.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            for a in n.args:
                if isinstance(a, E):
                    self.parents.setdefault(id(a), []).append(n)
                    todo.append(a)
        self.memo = {}

    def run(self, env, fma=True, exact_sqrt=None):
        """The outputs' values over ``env`` (see `evaluate`)."""
        self.env, self.fma, self.exact_sqrt, self.memo = env, fma, exact_sqrt, {}
        values = [self.ev(node) for node, _ in self.nodes]
        inputs = {id(t) for lst in env.values() for t in lst} if None in self.outputs.values() else ()
        out = []
        for (node, target), v in zip(self.nodes, values):
            if not _is_list(v):
                raise TypeError(f"a foreach output must be a list of tensors, got {v!r} for {node!r}")
            if target is None:
                out.append([t.clone() for t in v] if any(id(t) in inputs for t in v) else v)
                continue
            dest = env[target]
            if v is not dest and not all(x is y for x, y in zip(v, dest)):
                torch._foreach_copy_(dest, v)
        self.env = self.memo = None
        return out

    # --- which values a consumer may overwrite -----------------------------------------------
    def fusable(self, n):
        """n is read once and is no output: its consumer may absorb or overwrite it."""
        return isinstance(n, E) and len(self.parents.get(id(n), ())) == 1 and id(n) not in self.outputs

    def mutable(self, n):
        if not self.fusable(n) or n.op == "num":
            return False
        if n.op != "sym":
            return True
        goal = self.target_node.get(n.args[0])
        if goal is None:
            return False
        c = self.parents[id(n)][0]
        while c is not goal:  # the one reader must lead to this input's own output only
            ps = self.parents.get(id(c), ())
            if id(c) in self.outputs or len(ps) != 1:
                return False
            c = ps[0]
        return True

    # --- evaluation -------------------------------------------------------------------------------
    def ev(self, n):
        if not isinstance(n, E):
            return n
        key = id(n)
        if key in self.memo:
            return self.memo[key]
        if n.op == "num":
            v = n.args[0]
        elif n.op == "sym":
            v = self.env[n.args[0]]
        elif n.op == "sqrt":
            v = self.sqrt(n.args[0])
        elif n.op == "sign":
            A = self.ev(n.args[0])
            if not _is_list(A):
                v = float((A > 0) - (A < 0))
            elif self.mutable(n.args[0]):
                torch._foreach_sign_(A)
                v = A
            else:
                v = torch._foreach_sign(A)
        elif n.op == "sq":
            v = self.square(n.args[0])
        elif n.op in ("+", "-", "*", "/", "^"):
            v = self.binary(n)
        else:
            raise TypeError(f"the foreach path has no operation {n.op!r} (in {n!r})")
        self.memo[key] = v
        return v

    def sqrt(self, a):
        A = self.ev(a)
        if not _is_list(A):
            return A ** 0.5
        if self.exact_sqrt is not None and A and A[0].dtype == torch.float64 and A[0].device.type == "cpu":
            return [self.exact_sqrt(t) for t in A]
        if self.mutable(a):
            torch._foreach_sqrt_(A)
            return A
        return torch._foreach_sqrt(A)

    def square(self, a):
        """x·x, the exact square (`expr.square`)."""
        A = self.ev(a)
        if not _is_list(A):
            return A * A
        if self.mutable(a):
            torch._foreach_mul_(A, A)
            return A
        return torch._foreach_mul(A, A)

    def _scaled(self, n):
        """(s, X) if n is a fusable s·X or X·s with s a number and X a list node, else None."""
        if not (self.fusable(n) and n.op == "*"):
            return None
        a, b = n.args
        if a.op == "num" and b.op != "num":
            return a.args[0], b
        if b.op == "num" and a.op != "num":
            return b.args[0], a
        return None

    def _fused(self, n):
        """The fused forms of a ± ... (see the module doc), or None."""
        op, (a, b) = n.op, n.args
        # a - (s*x)/d  or  a + (s*x)/d: exact
        if self.fusable(b) and b.op == "/" and b.args[1].op != "num":
            sx = self._scaled(b.args[0])
            if sx is None and b.args[0].op != "num":
                sx = (1, b.args[0])
            if sx is not None:
                s, x = sx
                A = self.ev(a)
                if _is_list(A):
                    X, D = self.ev(x), self.ev(b.args[1])
                    value = -s if op == "-" else s
                    if self.mutable(a):
                        torch._foreach_addcdiv_(A, X, D, value=value)
                        return A
                    return torch._foreach_addcdiv(A, X, D, value=value)
        if not self.fma:
            return None
        if op == "+":  # X·s + t·Y with t = 1 − s: an EWMA, one lerp (a + t·(b − a)) instead of two passes
            sa, sb = self._scaled(a), self._scaled(b)
            if sa is not None and sb is not None and sb[0] == 1 - sa[0] and sb[1].op not in ("sq", "*"):
                A, Y = self.ev(sa[1]), self.ev(sb[1])
                if _is_list(A) and _is_list(Y):
                    if self.mutable(sa[1]):
                        torch._foreach_lerp_(A, Y, sb[0])
                        return A
                    return torch._foreach_lerp(A, Y, sb[0])
        sx = self._scaled(b)
        if sx is None and op == "+":
            sx = self._scaled(a)
            if sx is not None:
                a, b = b, a
        if sx is None and self.fusable(b) and b.op == "sq":  # a ± x² (Adagrad's sum): an addcmul
            sx = (1, b)
        if sx is None:
            return None
        s, x = sx
        A = self.ev(a)
        if not _is_list(A):
            return None
        s = -s if op == "-" else s
        if x.op == "*" and self.fusable(x) and x.args[0].op != "num" and x.args[1].op != "num":
            X, Y = self.ev(x.args[0]), self.ev(x.args[1])
        elif x.op == "sq" and self.fusable(x):
            X = Y = self.ev(x.args[0])
        else:
            X = self.ev(x)
            if self.mutable(a):
                torch._foreach_add_(A, X, alpha=s)
                return A
            return torch._foreach_add(A, X, alpha=s)
        if self.mutable(a):
            torch._foreach_addcmul_(A, X, Y, value=s)
            return A
        return torch._foreach_addcmul(A, X, Y, value=s)

    def binary(self, n):
        op, (a, b) = n.op, n.args
        if op in "+-":
            v = self._fused(n)
            if v is not None:
                return v
        A, B = self.ev(a), self.ev(b)
        la, lb = _is_list(A), _is_list(B)
        if not (la or lb):
            return {"+": lambda: A + B, "-": lambda: A - B, "*": lambda: A * B, "/": lambda: A / B,
                    "^": lambda: A ** B}[op]()
        if op == "^":
            if lb:
                raise TypeError(f"the foreach path has no list exponent (in {n!r})")
            if B == 2:  # torch's pow(x, 2) is x·x exactly
                if self.mutable(a):
                    torch._foreach_mul_(A, A)
                    return A
                return torch._foreach_mul(A, A)
            return torch._foreach_pow(A, B)
        if op in "+*":
            f, f_ = (torch._foreach_add, torch._foreach_add_) if op == "+" else (torch._foreach_mul, torch._foreach_mul_)
            if la and self.mutable(a):
                f_(A, B)
                return A
            if lb and self.mutable(b):
                f_(B, A)
                return B
            return f(A, B) if la else f(B, A)
        if op == "-":
            if la:
                if self.mutable(a):
                    torch._foreach_sub_(A, B)
                    return A
                return torch._foreach_sub(A, B)
            # number - list = (-list) + number, exactly
            R = B if self.mutable(b) else None
            if R is None:
                R = torch._foreach_neg(B)
            else:
                torch._foreach_neg_(R)
            torch._foreach_add_(R, A)
            return R
        # "/"
        if la:
            if self.mutable(a):
                torch._foreach_div_(A, B)
                return A
            return torch._foreach_div(A, B)
        # number / tensor is reciprocal·number in torch (Tensor.__rtruediv__): the same here
        R = torch._foreach_reciprocal(B)
        torch._foreach_mul_(R, A)
        return R


def evaluate(outputs, env, fma=True, exact_sqrt=None):
    """Evaluate expression ``outputs`` over the lists in ``env`` (name -> list of tensors).

    ``outputs`` is a list of ``(node, target)``: with ``target`` a name of ``env``, that list's
    tensors are overwritten with the node's value (after every output has been computed); with
    ``target=None`` the value is returned (a fresh list, never an alias of an input). Returns the
    list of values of the ``target=None`` outputs, in order. ``exact_sqrt``: a function applied to
    each CPU float64 tensor instead of ``torch._foreach_sqrt`` (see `torch_side.optim.numerics.exact_sqrt`).
    """
    return _Graph(outputs).run(env, fma, exact_sqrt)
