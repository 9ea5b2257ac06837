"""mkdocs hooks (mkdocs.yml ``hooks:``): the pages that are generated from the code.

* ``<!-- xbar:parameters -->``, ``<!-- xbar:library -->``, ``<!-- xbar:cli -->``,
  ``<!-- xbar:layout -->`` and ``<!-- xbar:ranges -->`` in a page are replaced by
  the parameter tables, the device library, the CLI reference, the package
  layout and the range table (``xbar.util.ranges.markdown_table``, where it
  exists), computed from the code of this checkout at build time; markers stand alone
  on their line, and an unknown one fails the strict build.
* ``reference/`` pages, one per subpackage, are generated (mkdocstrings
  ``:::`` directives) and listed under the nav's "API reference".
* Any ``docs/*.md`` page the nav does not list is added under "More topics",
  so a new page shows up without editing mkdocs.yml.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's xbar and docsgen, whatever is installed

from mkdocs.structure.files import File  # noqa: E402

from docsgen import cli_reference, layout, parameters  # noqa: E402

LOG = logging.getLogger("mkdocs.plugins.xbar")  # a warning here fails the strict build
#: A generated-content marker: alone on its line (in a sentence or a code span it is just text).
MARKER = re.compile(r"^<!-- xbar:[\w-]+ -->$", re.M)
REFERENCE = "API reference"
MORE = "More topics"

#: Generated reference pages of the current build (on_config -> on_files).
_pages: dict[str, str] = {}


def _reference_pages() -> dict[str, str]:
    """Generated page path -> Markdown: the top-level API and one page per subpackage."""
    api = layout.top_level_api()
    pages = {"reference/index.md": "\n".join([
        "# API reference", "",
        "`import xbar` gives these names (each loads its module on first use). Every subpackage has a page "
        "below, generated from the docstrings.", "",
        "| name | what it is |", "|---|---|",
        *(f"| `xbar.{name}` | [`{path}`][{path}] |" for name, path in api.items()), "",
        "## Subpackages", "", "Bottom layer first ([architecture](../architecture.md)).", "",
        "| subpackage | what it holds |", "|---|---|",
        *(f"| [`xbar.{sub}`](xbar.{sub}.md) | {layout.summary(layout.module_path(f'xbar.{sub}'))} |"
          for sub in layout.subpackages()), ""])}
    loose = layout.modules(None)
    if loose:
        pages["reference/xbar.md"] = "\n".join(["# xbar (top-level modules)", ""] + [
            f"::: {m}" for m in loose]) + "\n"
    for sub in layout.subpackages():
        names = layout.modules(sub)
        body = [f"# xbar.{sub}", "", f"::: xbar.{sub}", "    options:", "      show_root_heading: false", ""]
        body += [f"::: {m}\n" for m in names if m != f"xbar.{sub}"]
        pages[f"reference/xbar.{sub}.md"] = "\n".join(body)
    return pages


def _title(path: Path) -> str:
    """A page's nav title: its "# Title" line up to any colon, else its file name."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].split(":")[0].strip()
    return path.stem.replace("-", " ").capitalize()


def _listed(nav) -> set[str]:
    out = set()
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        out |= _listed(value) if isinstance(value, list) else {value}
    return out


def on_config(config, **kwargs):
    nav = config["nav"]
    pages = _reference_pages()
    _pages.clear()
    _pages.update(pages)
    if nav is None:  # no nav: mkdocs lists every page, the generated ones included
        return config
    for item in nav:
        if isinstance(item, dict) and REFERENCE in item:
            item[REFERENCE] = [{"Overview": "reference/index.md"}] + [
                {path[len("reference/"):-3]: path} for path in pages if path != "reference/index.md"]
    listed = _listed(nav)
    docs = Path(config["docs_dir"])
    extra = [p for p in sorted(docs.glob("*.md")) if p.name not in listed and p.name != "README.md"]
    if extra:
        nav.append({MORE: [{_title(p): p.name} for p in extra]})
    return config


def on_files(files, config, **kwargs):
    for path, content in _pages.items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    from xbar.cli import build_parser
    generated = {
        "<!-- xbar:parameters -->": parameters.markdown,
        "<!-- xbar:library -->": parameters.library_markdown,
        "<!-- xbar:cli -->": lambda: cli_reference.markdown(build_parser()),
        "<!-- xbar:layout -->": layout.markdown,
    }
    try:  # the one range table (issue 17), where this version has it
        from xbar.util.ranges import markdown_table
        generated["<!-- xbar:ranges -->"] = markdown_table
    except ImportError:
        pass

    def fill(match: re.Match) -> str:
        if match.group(0) in generated:
            return generated[match.group(0)]()
        LOG.warning("%s: unknown generated-content marker %s (known: %s)", page.file.src_uri, match.group(0),
                    ", ".join(generated))
        return match.group(0)

    return MARKER.sub(fill, markdown)
