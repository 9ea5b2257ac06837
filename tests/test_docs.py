"""The documentation: the site builds with warnings as errors, the newcomer's path runs command by
command, the README's set-up block is what CI runs, the architecture picture is the folders, and
nothing public goes undocumented (CLI options, functions, classes, physical parameters)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import pkgutil
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import xbar
from xbar.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from docsgen import cli_reference, layout, parameters  # noqa: E402

DOCS = ROOT / "docs"


def blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of ``lang`` in Markdown ``text``."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def env_with_shims(tmp_path: Path) -> dict:
    """An environment whose ``xbar`` and ``python`` run this checkout's code with this interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in (("xbar", f'"{sys.executable}" -m xbar.cli'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
            "MPLBACKEND": "Agg"}


def build_site(config: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` (never with -q: quiet mode drops the warnings that strict counts)."""
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_broken_link_or_marker_fails_the_build(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n[gone](nowhere.md)\n\n<!-- xbar:paramters -->\n")
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\nnav:\n  - Home: index.md\nhooks:\n"
                                         f"  - {ROOT / 'docsgen' / 'hooks.py'}\n")
    proc = build_site(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode != 0
    assert "nowhere.md" in proc.stderr and "unknown generated-content marker" in proc.stderr


def test_site_builds_with_warnings_as_errors(tmp_path):
    site = tmp_path / "site"
    proc = build_site(ROOT / "mkdocs.yml", site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cli_page = (site / "cli" / "index.html").read_text()
    for name in cli_reference.commands(build_parser()):
        assert f"xbar {name}" in cli_page
    physics = (site / "physics" / "index.html").read_text()
    assert "SwitchingParams.vc_thin_v" in physics and "<!-- xbar:" not in physics
    assert "34.6" in physics  # the library's R_P at 1.9 nm, kohm, as the code computes it
    for sub in layout.subpackages():
        assert (site / "reference" / f"xbar.{sub}" / "index.html").is_file(), sub


def _is_setup(command: str) -> bool:
    return command.startswith(("bash scripts/", "pip install"))


def test_readme_set_up_is_the_newcomer_path_and_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    start = (DOCS / "getting-started.md").read_text()
    setup = next(b for b in blocks(readme, "sh") if "scripts/install-ngspice" in b)
    assert setup in blocks(start, "sh"), "getting-started.md must show the README's set-up block"
    assert blocks(readme, "python")[0] in blocks(start, "python"), "and the README's quick start"
    steps = [part.split("#")[0].strip() for line in setup.splitlines() for part in line.split("&&")]
    ci, test = (ROOT / ".ci" / "run").read_text(), (ROOT / "scripts" / "test").read_text()
    assert "bash scripts/test" in ci
    for step in filter(_is_setup, steps):
        if step.startswith("pip install"):
            assert re.search(r"pip install -q -e '\.\[test,docs\]'", test), "scripts/test installs the package"
        else:
            assert step in ("bash scripts/test", "bash scripts/install-ngspice") and \
                (step == "bash scripts/test" or step in test), step


def _commands(text: str) -> list[str]:
    """Each command of the ``sh`` blocks of a page (``&&`` parts apart, comments dropped)."""
    return [command for block in blocks(text, "sh") for line in block.splitlines() for part in line.split("&&")
            if (command := part.split("  #")[0].strip())]


def test_readme_next_commands_are_on_the_newcomer_path():
    readme = (ROOT / "README.md").read_text()
    path = _commands((DOCS / "getting-started.md").read_text())
    missing = [c for c in _commands(readme) if not _is_setup(c) and c not in path]
    assert not missing, f"README commands that getting-started.md (which the suite runs) does not run: {missing}"
    assert len(readme.splitlines()) <= 120, "the README stays one page"


def test_every_command_of_the_newcomer_path_runs(tmp_path):
    """getting-started.md, top to bottom: each shell command (set-up steps excepted: CI runs them)
    and each Python block, in one empty folder that has the checkout's examples/."""
    page = (DOCS / "getting-started.md").read_text()
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    env = env_with_shims(tmp_path)
    ran = []
    for kind, block in re.findall(r"^```(sh|python)\n(.*?)^```", page, re.S | re.M):
        if kind == "python":
            if block.startswith("--8<--"):
                continue  # an included example: tests/test_examples.py runs it
            proc = subprocess.run([sys.executable, "-c", block], cwd=work, env=env, capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, proc.stderr
            ran.append("python block")
            continue
        for command in _commands(f"```sh\n{block}```\n"):
            if not _is_setup(command):
                proc = subprocess.run(shlex.split(command), cwd=work, env=env, capture_output=True, text=True,
                                      timeout=300)
                assert proc.returncode == 0, f"{command}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
                ran.append(command)
    assert ran[0] == "xbar infer" and any(c.startswith("xbar infer --model my_digits.onnx") for c in ran), ran
    assert (work / "xbar-infer" / "report.md").is_file() and (work / "wire-study" / "accuracy_vs_wire.png").is_file()
    for run in ("first-infer", "my-infer"):  # the circuits cost a few points at 1 ohm wires, not the network
        base = json.loads((work / run / "results.json").read_text())["base"]
        assert 0.75 < base["accuracy_analog"] <= 1 and base["top1_agreement"] > 0.8, (run, base["accuracy_analog"])
    assert "i(vs0)" in [k for plot in xbar.read_raw(work / "x.raw") for k in plot]


def test_architecture_picture_names_the_folders():
    page = (DOCS / "architecture.md").read_text()
    picture = blocks(page[page.index("## Layers"):], "text")[0]
    drawn = [line.split()[0] for line in picture.splitlines() if line.strip()]
    assert drawn == list(reversed(layout.LAYERS)), "the picture draws the layers top to bottom, as LAYERS"
    assert set(drawn) == set(layout.subpackages()), "every subpackage of xbar/ is a layer of the picture"
    assert layout.modules(None) == [], "modules live in their layer's folder, not loose in xbar/"


def test_every_cli_option_has_help():
    parser = build_parser()
    assert all(cli_reference.command_help(parser).values())
    for name, sub in cli_reference.commands(parser).items():
        assert sub.description or cli_reference.command_help(parser)[name], name
        for action in cli_reference.options(sub):
            assert action.help and action.help != argparse.SUPPRESS, f"xbar {name} {action.option_strings}: no help"


def _public_objects():
    for info in pkgutil.walk_packages(xbar.__path__, "xbar."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        yield info.name, module
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj) and "<locals>" not in obj.__qualname__:
                yield f"{info.name}.{name}", obj  # (made converters are data: a #: comment documents them)
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    target = value.fget if isinstance(value, property) else \
                        value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                    if not attr.startswith("_") and inspect.isfunction(target):
                        yield f"{info.name}.{name}.{attr}", target


def test_every_public_module_function_and_class_has_a_docstring():
    missing = [name for name, obj in _public_objects() if not (obj.__doc__ or "").strip()]
    assert not missing, "no docstring: " + ", ".join(missing)
    for name in xbar.__all__[1:]:
        assert (getattr(xbar, name).__doc__ or "").strip(), name


def test_every_physical_parameter_has_a_unit_a_kind_and_a_source():
    rows = parameters.parameters()
    assert {"SwitchingParams.vc_thin_v", "Periphery.adc_fom_j", "CHANNEL_BASE_OHM", "SHORT_OHM",
            "WIRE_FARAD_PER_M"} <= {r.name for r in rows}
    bad = [f"{r.module}.{r.name}" for r in rows if not (r.unit and r.kind and r.source)]
    assert not bad, "say the unit (in the name) and where the value comes from (paper, fitted, assumed, a " \
                    "citation): " + ", ".join(bad)


def test_every_xbar_command_in_the_docs_parses():
    """Commands on pages the suite does not run still name only options that exist, with valid values."""
    parser = build_parser()
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    seen = 0
    for page in pages:
        for command in _commands(page.read_text()):
            if command.startswith("xbar "):
                try:
                    parser.parse_args(shlex.split(command)[1:])
                except SystemExit:
                    pytest.fail(f"{page.name}: {command}")
                seen += 1
    assert seen >= 20
