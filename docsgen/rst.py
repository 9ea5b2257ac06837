"""The reStructuredText bits of xbar's docstrings, as Markdown (roles and ``::`` literal blocks)."""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|obj|exc|const):`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"(\S)::\n", re.M)
_BARE_LITERAL = re.compile(r"^\s*::\n", re.M)


def to_markdown(text: str) -> str:
    """``:class:`~a.b.C``` -> ```C``` (code), ``x::`` ending a paragraph -> ``x:``."""
    text = _ROLE.sub(lambda m: f"``{m.group(1).rsplit('.', 1)[-1].lstrip('.')}``"
                     if m.group(0).split("`")[1].startswith("~") else f"``{m.group(1).lstrip('.')}``", text)
    text = _BARE_LITERAL.sub("\n", text)
    return _LITERAL.sub(r"\1:\n", text)
