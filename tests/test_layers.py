"""The packages show the layers and import one way: core → writers → live → cli, torch_side on the core.

Read from the source with ast (nothing is imported), so a new import that turns back is caught
even when it sits inside a function."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ["xlopt.core", "xlopt.writers", "xlopt.live", "xlopt.cli"]  # each may import those before it
ENTRY = {"xlopt.macros": 2}  # Excel's RunPython entry point: a peer of the live back ends
# torch-side's twin of an xlopt command reuses that command's front end (arguments, outputs, --plot,
# --workbook), so both write identical files; the torch_side library itself reads the core only
TWINS = {"torch_side.cmd_sweep": "xlopt.cli.sweep"}


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


def layer(name):
    if name in ENTRY:
        return ENTRY[name]
    for i, prefix in enumerate(LAYERS):
        if name == prefix or name.startswith(prefix + "."):
            return i
    return None


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


@pytest.mark.parametrize("name", sorted(dict(modules("torch_side"))))
def test_torch_side_depends_on_the_core_only(name):
    path = dict(modules("torch_side"))[name]
    for target in imports(path):
        twin = TWINS.get(name, "-")
        if target.startswith("xlopt") and target not in (twin, twin.rsplit(".", 1)[0]):
            assert target == "xlopt.core" or target.startswith("xlopt.core."), f"{name} imports {target}"


def test_no_import_cycles_inside_a_layer():
    graph = {n: {t for t in imports(p) if t in XLOPT and t != n} for n, p in XLOPT.items()}
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
