"""A griffe extension (mkdocs.yml, mkdocstrings' ``extensions``): docstrings' reST roles as Markdown code."""

from __future__ import annotations

import sys
from pathlib import Path

import griffe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from docsgen.rst import to_markdown  # noqa: E402


class RstRoles(griffe.Extension):
    """Rewrites every docstring with :func:`docsgen.rst.to_markdown` as griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
