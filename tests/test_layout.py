"""The package reads as the pipeline: stages in folders over a kernel, no import in a circle, none from a lower
stage up to a higher one, and files small enough to read."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "annotate"

# Lower stages first. A module may import from its own stage or a lower one.
RANKS = {"core": 0, "studio": 1, "predictions": 2, "score": 3, "formats": 3, "articles": 4, "gold": 4, "cli": 5}
TOP = 5  # annotate/*.py: the main job, the package's API and the baseline's documented name


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every annotate module `name` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("annotate"))
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("annotate"):
                continue
            for alias in node.names:  # `from . import x` imports the module x when there is one
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def rank(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1:
        return TOP  # the package itself
    if parts[1] in RANKS:
        return RANKS[parts[1]]
    return TOP


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if nxt.startswith(node + ".") or node == "annotate":
                continue  # a package importing its own submodules is assembly, not a circle
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_no_import_from_a_lower_stage_up():
    upward = sorted(f"{a} -> {b}" for a, targets in graph().items() for b in targets
                    if rank(a) < rank(b) and not b.startswith(a + "."))
    assert upward == []


def test_the_kernel_imports_only_itself():
    outside = sorted(f"{a} -> {b}" for a, targets in graph().items() if a.startswith("annotate.core")
                     for b in targets if not b.startswith("annotate.core"))
    assert outside == []


def test_files_stay_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > (400 if p.parent.name == "cli" else 600)}
    assert long == {}


def test_the_walker_sees_a_cycle(tmp_path, monkeypatch):
    """The checks above can fail: two modules that import each other are found."""
    pkg = tmp_path / "annotate"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("from .b import x\n")
    (pkg / "core" / "b.py").write_text("def f():\n    from annotate.core.a import y\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg, raising=False)
    globals()["PACKAGE"] = pkg
    try:
        edges = graph()
        assert edges["annotate.core.a"] == {"annotate.core.b"} and edges["annotate.core.b"] == {"annotate.core.a"}
        try:
            test_no_import_cycle()
        except AssertionError as exc:
            assert "annotate.core.a -> annotate.core.b -> annotate.core.a" in str(exc)
        else:
            raise AssertionError("the cycle was not found")
    finally:
        globals()["PACKAGE"] = Path(__file__).resolve().parent.parent / "annotate"
