"""The package as its folders show it: layers, subpackages, modules and their one-line summaries.

Read statically (``ast``), so nothing is imported. The architecture page's
picture names the layers in :data:`LAYERS`; ``tests/test_docs.py`` checks that
they are exactly the subpackages on disk.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .rst import to_markdown

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "xbar"

#: The layers, bottom to top: a subpackage imports only from its own or lower layers.
LAYERS = ("util", "device", "array", "solvers", "analysis", "network", "programming", "sweeps", "experiments",
          "cli")


def summary(path: Path) -> str:
    """The first paragraph of a module's docstring, on one line ('' when it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    return to_markdown(" ".join(doc.strip().split("\n\n")[0].split())).replace("|", "\\|") if doc else ""


def subpackages() -> list[str]:
    """The folders of ``xbar/`` that are packages, in layer order (unknown ones last, by name)."""
    names = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    order = {name: i for i, name in enumerate(LAYERS)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def modules(package: str | None = None) -> list[str]:
    """Dotted names of the modules in ``xbar.<package>`` (recursive), or of ``xbar``'s own files when None."""
    if package is None:
        return [f"xbar.{p.stem}" for p in sorted(PACKAGE.glob("*.py")) if p.stem not in ("__init__", "__main__")]
    root = PACKAGE / package
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__main__" or any(part.startswith("_") and part != "__init__" for part in parts):
            continue
        out.append("xbar." + ".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def module_path(name: str) -> Path:
    """The file of dotted module ``name``."""
    path = ROOT.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def markdown() -> str:
    """A table per subpackage, bottom layer first: module and its one-line summary."""
    out = []
    loose = modules(None)
    if loose:
        out += ["### `xbar/` (top level)", "", "| module | one idea |", "|---|---|"]
        out += [f"| `{m}` | {summary(module_path(m))} |" for m in loose] + [""]
    for sub in subpackages():
        out += [f"### `xbar/{sub}/`", "", summary(module_path(f"xbar.{sub}")), "", "| module | one idea |", "|---|---|"]
        out += [f"| `{m}` | {summary(module_path(m))} |" for m in modules(sub) if m != f"xbar.{sub}"] + [""]
    return "\n".join(out)


def top_level_api() -> dict[str, str]:
    """``import xbar``'s public names -> the dotted path of what each one is (from ``xbar._API``)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0] if isinstance(node, ast.Assign) \
            else None
        if isinstance(target, ast.Name) and target.id == "_API":
            api = ast.literal_eval(node.value)
            return {name: f"xbar.{module}.{attr}" for name, (module, attr) in api.items()}
    raise ValueError("xbar/__init__.py has no _API table")
