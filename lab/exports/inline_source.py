"""The source text of some of the lab's functions and of everything they need, for a file that must not import lab.

An exported script inlines the lab's own data, initial-weight and loss code rather than a copy of it, so there
is one home for that code. Starting from root functions, every module-level name a definition reads (a
function, a class, a constant, or a name imported from another lab module) is followed to its definition,
recursively; the names imported from outside the lab (numpy, math, ...) become import lines. Definitions come
out dependencies first, so a constant built from another follows it.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass, field


@dataclass
class _Module:
    """One lab module, parsed once: its top-level definitions and imports by the name they bind."""

    name: str
    source: str
    definitions: dict = field(default_factory=dict)  # name -> ast node (FunctionDef, ClassDef, Assign, AnnAssign)
    imports: dict = field(default_factory=dict)  # name -> (module name, name there or None for a module, alias)


def _parse(module_name: str) -> _Module:
    """The module's top-level definitions and imports."""
    source = inspect.getsource(importlib.import_module(module_name))
    parsed = _Module(module_name, source)
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            parsed.definitions[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        parsed.definitions[name.id] = node
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                parsed.imports[alias.asname or alias.name] = (node.module, alias.name, alias.asname)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parsed.imports[alias.asname or alias.name.split(".")[0]] = (alias.name, None, alias.asname)
    return parsed


def _names_read(node: ast.AST) -> set[str]:
    """Every name a definition reads, its annotations left out (the inlined file does not evaluate them)."""
    skipped = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.arg) and inner.annotation is not None:
            skipped.update(id(part) for part in ast.walk(inner.annotation))
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and inner.returns is not None:
            skipped.update(id(part) for part in ast.walk(inner.returns))
        if isinstance(inner, ast.AnnAssign):
            skipped.update(id(part) for part in ast.walk(inner.annotation))
    return {inner.id for inner in ast.walk(node)
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and id(inner) not in skipped}


def _import_line(module: str, name: str | None, alias: str | None) -> str:
    """An import statement binding one name."""
    if name is None:
        return f"import {module}" + (f" as {alias}" if alias else "")
    return f"from {module} import {name}" + (f" as {alias}" if alias else "")


class _Collector:
    """Walks from the roots to every definition they need, in dependency order."""

    def __init__(self):
        self.modules: dict[str, _Module] = {}
        self.emitted: dict[str, tuple] = {}  # bound name -> (module, node): one definition per name in the file
        self.order: list[tuple[_Module, ast.AST]] = []
        self.imports: list[str] = []

    def module(self, name: str) -> _Module:
        if name not in self.modules:
            self.modules[name] = _parse(name)
        return self.modules[name]

    def add(self, module: _Module, name: str) -> None:
        """Add the definition of name as module sees it (and, first, what it reads)."""
        if name in module.definitions:
            node = module.definitions[name]
            if name in self.emitted:
                if self.emitted[name] != (module.name, id(node)):
                    raise ValueError(f"two definitions named {name!r} ({self.emitted[name][0]} and {module.name}): "
                                     "cannot inline both into one file")
                return
            bound = _bound_names(node)
            for other in bound:
                self.emitted[other] = (module.name, id(node))
            for read in sorted(_names_read(node) - set(bound)):
                self.add(module, read)
            self.order.append((module, node))
        elif name in module.imports:
            source_module, imported, alias = module.imports[name]
            if source_module.split(".")[0] == "lab":
                if imported is None:
                    raise ValueError(f"{module.name} reads the module {source_module} as a whole: cannot inline it")
                self.add(self.module(source_module), imported)
            else:
                line = _import_line(source_module, imported, alias)
                if line not in self.imports:
                    self.imports.append(line)
        # Anything else is a builtin or a local name: nothing to inline.

    def text(self) -> str:
        """The definitions' source, each module's stretch headed by its name."""
        parts, previous = [], None
        for module, node in self.order:
            if module.name != previous:
                parts.append(f"# --- from {module.name} ---")
                previous = module.name
            parts.append(_source_of(module, node))
        return "\n\n".join(parts)


def _bound_names(node: ast.AST) -> list[str]:
    """The top-level names a definition binds."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)]


def _source_of(module: _Module, node: ast.AST) -> str:
    """A definition's text as written (decorators included), with the comment lines right above it."""
    lines = module.source.splitlines()
    first = min([node.lineno, *(decorator.lineno for decorator in getattr(node, "decorator_list", []))]) - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    return "\n".join(lines[first:node.end_lineno])


@dataclass(frozen=True)
class Inlined:
    """The import lines and the definitions' source of an inlining."""

    imports: tuple[str, ...]
    definitions: str


def inline(roots: list) -> Inlined:
    """The source of the root functions (lab functions) and of everything they read, dependencies first."""
    collector = _Collector()
    for root in roots:
        collector.add(collector.module(root.__module__), root.__name__)
    return Inlined(tuple(sorted(collector.imports)), collector.text())
