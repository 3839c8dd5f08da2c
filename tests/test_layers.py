"""The house in layers: imports point down only, no cycles, lab/ never imports the app, and no module of
lab/ is there for the app alone. Read from the source with ast, so a new module is checked the day it lands."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"
# Bottom to top; a module may import its own layer and the layers below (lab/__init__, __main__ and cli sit on top).
LAYERS = ["science", "text", "contract", "training", "runs", "readings", "charts", "sweeps", "exports", "keras"]
TOP = {"lab", "lab.__main__", "lab.cli"}


def module_name(path: Path) -> str:
    """lab/science/data.py -> lab.science.data; lab/runs/__init__.py -> lab.runs."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lab_modules() -> dict[str, Path]:
    """Every module of the lab package by dotted name."""
    return {module_name(path): path for path in sorted(LAB.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """The absolute modules a file imports, at module level or inside functions (from X import y gives X and X.y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def lab_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The lab modules a file imports (names that are modules of lab, not attributes)."""
    return {name for name in imports_of(path) if name in modules}


def layer_of(module: str) -> int:
    """The index of a module's layer; len(LAYERS) for the top (lab, lab.cli, lab.__main__)."""
    if module in TOP:
        return len(LAYERS)
    return LAYERS.index(module.split(".")[1])


def test_every_module_sits_in_a_layer():
    for module in lab_modules():
        assert module in TOP or module.split(".")[1] in LAYERS, f"{module} is in no layer of lab/__init__'s list"


def test_imports_point_down_only():
    modules = lab_modules()
    upward = []
    for module, path in modules.items():
        for imported in lab_imports(path, modules) - {"lab"}:
            if layer_of(imported) > layer_of(module):
                upward.append(f"{module} -> {imported}")
    assert not upward, "imports that point up a layer: " + ", ".join(upward)


def test_no_import_cycles():
    modules = lab_modules()
    graph = {module: lab_imports(path, modules) - {"lab", module} for module, path in modules.items()}
    # A package imports its own modules only by name in its docstring, so edges are module to module.
    state, cycles = {}, []

    def visit(module, trail):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(" -> ".join(trail[trail.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported, trail + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_lab_never_imports_streamlit_or_the_app():
    for module, path in lab_modules().items():
        bad = {name for name in imports_of(path) if name.split(".")[0] in ("streamlit", "app")}
        assert not bad, f"{module} imports {bad}"


def test_no_lab_module_is_there_for_the_app_alone():
    modules = lab_modules()
    imported_by_lab = set()
    for module, path in modules.items():
        imported_by_lab |= lab_imports(path, modules) - {module}
    packages = {module for module, path in modules.items() if path.name == "__init__.py"}
    unused = sorted(set(modules) - imported_by_lab - packages - TOP)
    assert not unused, f"modules of lab/ that no headless code (lab/, the CLI) imports: {unused}"


def test_importing_lab_loads_neither_tensorflow_nor_streamlit():
    code = "import sys, lab, lab.cli; print(sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert completed.stdout.strip() == "[]"
