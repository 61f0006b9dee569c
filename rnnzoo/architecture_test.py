"""The layering of docs/architecture.md, enforced: what each part of rnnzoo may import.

Data flows one way (data -> layers -> models -> training / decoding -> tasks
-> cli -> recipes); nothing lower imports anything higher, and no module
imports a private name (`_x`) of another module. Imports inside functions
count too. Test files are exempt (they may reach anything they test).
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(ROOT)

# part -> the rnnzoo parts it may import (itself always allowed).
ALLOWED = {
    "io": set(),
    "validation": set(),
    "data_checks": set(),
    "metrics": {"validation"},
    "conformal": set(),
    "losses": {"layers", "validation"},
    "plots": {"io", "validation"},
    "data": {"io", "validation"},
    "layers": {"validation"},
    "image_encoders": {"validation", "io"},
    "models": {"layers", "image_encoders", "validation"},
    "decoding": {"models", "layers", "image_encoders", "io", "validation", "data_checks"},
    "training": {"models", "layers", "image_encoders", "metrics", "losses", "io", "validation",
                 "data", "data_checks"},
    "tasks": {"data", "layers", "models", "image_encoders", "decoding", "training", "metrics",
              "losses", "conformal", "plots", "io", "validation", "data_checks"},
    "cli": {"training", "tasks", "data", "io", "validation"},
}


def _part(path):
    rel = os.path.relpath(path, ROOT)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".py") else head


def _modules():
    for folder, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".py") and not name.endswith("_test.py") \
                    and name not in ("conftest.py",) and "testing" not in name \
                    and "test_case" not in name:
                path = os.path.join(folder, name)
                if os.path.relpath(path, ROOT) != "__init__.py":
                    yield path


def _imports(path):
    """`(module, names)` for every `rnnzoo...` import in the file, nested ones too."""
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("rnnzoo."):
                    yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "rnnzoo" or node.module.startswith("rnnzoo."):
                yield node.module, tuple(a.name for a in node.names)


def _target_parts(module, names):
    parts = module.split(".")
    if len(parts) >= 2:
        return {parts[1]}
    return set(names)  # `from rnnzoo import models, plots`


MODULES = sorted(_modules())


@pytest.mark.parametrize("path", MODULES, ids=[os.path.relpath(p, ROOT) for p in MODULES])
def test_imports_follow_the_layering(path):
    part = _part(path)
    assert part in ALLOWED, f"{part!r} (from {path}) is not in docs/architecture.md's map"
    for module, names in _imports(path):
        for target in _target_parts(module, names):
            assert target == part or target in ALLOWED[part], (
                f"{os.path.relpath(path, REPO)} ({part}) imports {module} ({target}); "
                f"{part} may import only {sorted(ALLOWED[part])}"
            )


@pytest.mark.parametrize("path", MODULES, ids=[os.path.relpath(p, ROOT) for p in MODULES])
def test_no_private_name_crosses_modules(path):
    for module, names in _imports(path):
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{os.path.relpath(path, REPO)} imports private {private} from {module}"
    # `from rnnzoo.x import y` then `y._private`.
    tree = ast.parse(open(path).read(), path)
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "rnnzoo":
            bound.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            bound.update(a.asname or a.name.split(".")[0] for a in node.names
                         if a.name.startswith("rnnzoo"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in bound and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            raise AssertionError(
                f"{os.path.relpath(path, REPO)}:{node.lineno} uses private "
                f"{node.value.id}.{node.attr}")


def test_recipes_hold_no_logic():
    folder = os.path.join(REPO, "recipes")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(folder, name)).read())
        defs = [n.name for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defs, f"recipes/{name} defines {defs}: logic belongs in rnnzoo/tasks"
        assert "sys.path" not in open(os.path.join(folder, name)).read(), name
