"""The suite's two tiers: `pytest -m "not slow"` (the fast tier) still runs every test file, and the
opt-in full-data training stays out of both tiers unless XLOPT_SLOW=1 (docs/contributing.md)."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _marks(decorators):
    """The names of the pytest marks among a list of decorator nodes (pytest.mark.NAME or NAME(...))."""
    names = set()
    for d in decorators:
        for node in ast.walk(d):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
                names.add(node.attr)
    return names


def _tests(tree):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            yield node, node.decorator_list
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for f in node.body:
                if isinstance(f, ast.FunctionDef) and f.name.startswith("test"):
                    yield f, node.decorator_list + f.decorator_list


def test_every_test_file_has_a_test_in_the_fast_tier():
    lacking = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        module = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
                module |= _marks([node.value])
        fast = [f.name for f, decorators in _tests(tree) if not ({"slow"} & (module | _marks(decorators)))]
        if not fast:
            lacking.append(path.name)
    assert lacking == [], f"every test of these files is marked slow: {lacking}"


def test_the_opt_in_training_is_slow_too_and_gated():
    tree = ast.parse((TESTS / "test_fashion_train.py").read_text())
    gated = [(f.name, _marks(d)) for f, d in _tests(tree) if "full_training" in _marks(d)]
    assert gated and all("slow" in marks for _, marks in gated), gated
    src = (TESTS / "test_fashion_train.py").read_text()
    assert 'os.environ.get("XLOPT_SLOW") != "1"' in src
