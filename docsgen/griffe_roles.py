"""A griffe extension (mkdocs.yml, mkdocstrings' ``extensions``) for xbar's docstring conventions.

Docstrings' reST roles become Markdown code, and a ``#:`` comment documents the
attribute it stands above (or ends the line of), as Sphinx reads it, so module
constants and dataclass fields show their units and sources in the API reference
(a field's plain trailing comment counts too).
"""

from __future__ import annotations

import sys
from pathlib import Path

import griffe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from docsgen.rst import to_markdown  # noqa: E402


def comment_doc(lines: list[str], lineno: int, trailing: str = "#:") -> str:
    """The ``#:`` comment block above 1-based line ``lineno`` of ``lines``, else its trailing comment.

    ``trailing`` is the mark a trailing comment must start with (``#`` also takes
    plain comments, as dataclass fields carry their unit and source).
    """
    above, i = [], lineno - 2
    while i >= 0 and lines[i].lstrip().startswith("#:"):
        above.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    if above:
        return " ".join(above)
    code, sep, tail = lines[lineno - 1].partition(" " + trailing)
    tail = tail.lstrip(":").strip()
    return tail if sep and code.strip() and not tail.startswith(("noqa", "type:", "pragma")) else ""


class RstRoles(griffe.Extension):
    """Rewrites docstrings with :func:`docsgen.rst.to_markdown`; gives ``#:``-commented attributes their docstring."""

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs) -> None:
        if attr.docstring is None and attr.lineno and attr.filepath:
            lines = attr.lines_collection[attr.filepath]
            text = comment_doc(lines, attr.lineno, "#" if attr.parent and attr.parent.is_class else "#:")
            if text:
                attr.docstring = griffe.Docstring(text, lineno=attr.lineno, parent=attr)

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
