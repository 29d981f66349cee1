"""The layout of bin/magelib: imports go one way (CLIs -> stage packages -> io and kernels -> cli), without cycles."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import BIN

PACKAGE = BIN / "magelib"
STAGES = {"reads", "identity", "genotypes", "phenotypes", "covariates", "qtl", "finemap", "report", "testworld"}
KERNELS = {"magelib.qtl.kernels", "magelib.qtl.beta"}


def module_name(path: Path) -> str:
    parts = path.relative_to(BIN).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """magelib modules imported by a file (relative imports resolved), at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "magelib":
                continue
            for alias in node.names:  # `from package import module` imports the module, not the package
                folder = PACKAGE.joinpath(*module.split(".")[1:])
                is_module = (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir()
                found.add(f"{module}.{alias.name}" if is_module else module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imported_modules(p) for p in PACKAGE.rglob("*.py")}


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in edges.get(node, ()):
            assert state.get(dep) != 1, "import cycle: " + " -> ".join(path + [dep])
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node, [node])


def test_io_and_kernels_import_no_stage_package():
    for module, deps in graph().items():
        if module.startswith("magelib.io") or module in KERNELS or module == "magelib.cli":
            stage_deps = {d for d in deps - KERNELS if d.split(".")[1:2] and d.split(".")[1] in STAGES}
            assert not stage_deps, f"{module} imports stage packages {sorted(stage_deps)}"
    for module in KERNELS:
        assert not {d for d in graph()[module] if d.startswith("magelib.io")}, f"{module} must do no I/O"


def test_package_never_imports_a_cli():
    clis = {p.stem for p in BIN.glob("*.py")}
    for module, deps in graph().items():
        assert not {d for d in deps if d.split(".")[-1] in clis and not d.startswith("magelib.")}, module


def test_every_cli_is_thin():
    """A CLI parses arguments and calls the package: no class definitions and at most a few helpers."""
    for cli in BIN.glob("*.py"):
        tree = ast.parse(cli.read_text())
        assert not [n for n in tree.body if isinstance(n, ast.ClassDef)], f"{cli.name} defines a class (put it in magelib)"
        assert any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("magelib") for n in ast.walk(tree)), cli.name
