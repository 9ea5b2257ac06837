"""Benchmark: the paper's Fig. 5 on MNIST and Fashion-MNIST (3 seeds), printed as Markdown.

Reads the IDX files from ``$XBAR_DATA_DIR``, else ``../shared/data`` beside the
repository. Writes each dataset's report and figures to ``out/bench-paper/<dataset>``
and trains into a cache of its own there, so the first run's times include
training; a rerun resumes from the cache and the stored points.

    nice -n 10 python benchmarks/bench_paper.py [--seeds 3] [--figures benchmarks/figures]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from xbar.experiments.paper_report import reproduce

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="mnist,fashion")
    parser.add_argument("--out", default=str(REPO / "out" / "bench-paper"))
    parser.add_argument("--figures", help="also copy each PNG figure here as paper-<dataset>-<name>.png")
    args = parser.parse_args()
    data_dir = os.environ.get("XBAR_DATA_DIR") or REPO.parent / "shared" / "data"
    out = Path(args.out)
    for name in args.datasets.split(","):
        start = time.perf_counter()
        reproduce(name, out / name, range(args.seeds), data_dir=data_dir, cache_dir=out / "cache",
                  progress=True)
        print(f"\n<!-- {name}: {time.perf_counter() - start:.0f} s wall, report {out / name / 'report.md'} -->\n")
        print((out / name / "report.md").read_text())
        if args.figures:
            Path(args.figures).mkdir(parents=True, exist_ok=True)
            for png in (out / name).glob("*.png"):
                shutil.copyfile(png, Path(args.figures) / f"paper-{name}-{png.name}")


if __name__ == "__main__":
    main()
