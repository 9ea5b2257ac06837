"""``xbar reproduce``: the paper's Fig. 5 accuracy grid."""

from __future__ import annotations

from xbar.cli.argtypes import count
from xbar.cli.common import folder_to_write


def add_reproduce(sub) -> None:
    """Register ``xbar reproduce``."""
    from xbar.network.datasets import NAMES
    from xbar.network.quantize import BIAS_MODES, SCALE_RULES
    p = sub.add_parser("reproduce", help="reproduce the paper's Fig. 5: accuracy against TMR and states",
                       description="Train the paper's network (inputs -> 128 sigmoid -> 10, Adam, 40 epochs), "
                                   "quantize it to compound-MTJ states, and write a Markdown report beside the "
                                   "paper's numbers with PNG/SVG figures. Trained networks and finished points "
                                   "are cached, so an interrupted run resumes where it stopped.")
    p.add_argument("--dataset", choices=NAMES, default="digits", help="dataset (default digits, bundled)")
    p.add_argument("--quick", action="store_true", help="reduced grid and 2 seeds (seconds on digits)")
    p.add_argument("--seeds", type=count, help="number of training seeds, 0..N-1 (default 3; quick 2)")
    p.add_argument("--rule", choices=SCALE_RULES, default="mse", help="per-layer scale rule (default mse)")
    p.add_argument("--bias", choices=BIAS_MODES, default="row",
                   help="bias as a quantized input row, or kept at full precision (default row)")
    p.add_argument("--data-dir", help="folder holding mnist/ and fashion-mnist/ IDX files "
                                      "(default $XBAR_DATA_DIR or ~/.cache/xbar/data)")
    p.add_argument("--cache-dir", help="cache of trained networks (default $XBAR_CACHE_DIR or ~/.cache/xbar)")
    p.add_argument("--out", help="output folder (default ./xbar-reproduce-<dataset>, -quick in quick mode; every command writes to ./xbar-<command> by default)")
    p.add_argument("--device", metavar="FILE", help="also quantize to this device's states (TOML device file or "
                   "shipped name) and report it beside the library devices")
    p.add_argument("--quiet", action="store_true", help="no progress bars and no summary, only the report path")
    p.set_defaults(func=run_reproduce)


def run_reproduce(args) -> int:
    """Run ``xbar reproduce``; returns the exit status."""
    from xbar.experiments.paper import DEFAULT_SEEDS, QUICK_SEEDS
    from xbar.experiments.paper_report import reproduce
    seeds = range(args.seeds) if args.seeds else (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    out = folder_to_write(args.out or f"xbar-reproduce-{args.dataset}{'-quick' if args.quick else ''}", "--out")
    s = reproduce(args.dataset, out, seeds, quick=args.quick, rule=args.rule, bias=args.bias,
                  data_dir=args.data_dir, cache_dir=args.cache_dir, progress=not args.quiet, device_file=args.device)
    if not args.quiet:
        print(f"{s['dataset']}: full precision {s['full'][0]:.1f} %, best library device {s['best']['accuracy']:.1f} % "
              f"({s['best']['n_cells']} cells, {s['best']['thickness_nm']:.1f} nm), seeds {len(s['seeds'])}, "
              f"{s['info']['seconds']:.0f} s")
    print(f"wrote {s['report']} and figures in {out}")
    return 0
