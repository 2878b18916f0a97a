"""The packages show the layers and import one way: core → writers → live → cli for xlopt;
errors → optim → fashion → learn → dist → experiments → cli for torch_side, whose library layers read
xlopt's core only (its cli may also use xlopt's writers and cli, e.g. a command's twin).

Read from the source with ast (nothing is imported), so a new import that turns back is caught
even when it sits inside a function."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ["xlopt.core", "xlopt.writers", "xlopt.live", "xlopt.cli"]  # each may import those before it
ENTRY = {"xlopt.macros": 2}  # Excel's RunPython entry point: a peer of the live back ends
# torch_side's layers, bottom first: each may import those before it, and xlopt's core; only the last
# (the commands) may import xlopt's writers and cli (torch-side sweep reuses `xlopt sweep`'s front end,
# so both write identical files)
TORCH_LAYERS = ["torch_side.errors", "torch_side.optim", "torch_side.fashion", "torch_side.learn",
                "torch_side.dist", "torch_side.experiments", "torch_side.cli"]
TORCH_ENTRY = {"torch_side.__main__": len(TORCH_LAYERS) - 1, "torch_side": 0}  # `python -m torch_side`: the cli
XLOPT_FOR_CLI = ("xlopt.core", "xlopt.writers", "xlopt.cli")
MAX_LINES = 350  # a torch_side module over this is split by job


def modules(package):
    for folder, _, files in os.walk(os.path.join(ROOT, *package.split("."))):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, f), ROOT)[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__"), os.path.join(folder, f)


def imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def layer(name, layers=LAYERS, entry=ENTRY):
    if name in entry:
        return entry[name]
    for i, prefix in enumerate(layers):
        if name == prefix or name.startswith(prefix + "."):
            return i
    return None


def torch_layer(name):
    return layer(name, TORCH_LAYERS, TORCH_ENTRY)


def _inside(target, prefixes):
    return any(target == p or target.startswith(p + ".") for p in prefixes)


XLOPT = dict(modules("xlopt"))


@pytest.mark.parametrize("name", sorted(XLOPT))
def test_xlopt_imports_only_its_own_layer_and_those_below(name):
    mine = layer(name)
    if mine is None:
        assert name == "xlopt", f"{name} sits in no layer: put it in one of {', '.join(LAYERS)}"
        return
    for target in imports(XLOPT[name]):
        theirs = layer(target)
        assert theirs is None or theirs <= mine, f"{name} (layer {LAYERS[mine]}) imports {target}"
        assert not target.startswith(("torch", "torch_side")), f"{name} imports {target}: xlopt runs without torch"


TORCH = dict(modules("torch_side"))


@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_side_imports_only_its_own_layer_and_those_below(name):
    mine = torch_layer(name)
    assert mine is not None, f"{name} sits in no layer: put it in one of {', '.join(TORCH_LAYERS)}"
    for target in imports(TORCH[name]):
        if target.startswith("torch_side"):
            theirs = torch_layer(target)
            assert theirs is None or theirs <= mine, \
                f"{name} (layer {TORCH_LAYERS[mine]}) imports {target} (layer {TORCH_LAYERS[theirs]})"


@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_side_library_reads_the_xlopt_core_only(name):
    allowed = XLOPT_FOR_CLI if torch_layer(name) == len(TORCH_LAYERS) - 1 else ("xlopt.core",)
    for target in imports(TORCH[name]):
        if _inside(target, ("xlopt",)):
            assert _inside(target, allowed), f"{name} imports {target}: only {', '.join(allowed)} here"


@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_side_modules_stay_small(name):
    n = sum(1 for _ in open(TORCH[name], encoding="utf-8"))
    assert n <= MAX_LINES, f"{name} has {n} lines: split it by job (at most {MAX_LINES})"


def _no_cycles(graph):
    seen, stack = set(), []

    def visit(n):
        if n in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        if n in seen:
            return
        stack.append(n)
        for m in sorted(graph[n]):
            visit(m)
        stack.pop()
        seen.add(n)

    for n in sorted(graph):
        visit(n)


def _graph(mods):
    """Each module's imports of the others; ``from package import module`` counts as the module."""
    return {n: {t for t in imports(p) if t in mods and t != n} for n, p in mods.items()}


def test_no_import_cycles_inside_a_layer():
    _no_cycles(_graph(XLOPT))


def test_no_import_cycles_in_torch_side():
    _no_cycles(_graph(TORCH))
