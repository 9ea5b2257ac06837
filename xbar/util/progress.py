"""Progress for long steps that report none of their own (an external program running): a tqdm bar on
stderr that advances with wall-clock time toward an estimate, so a long wait is never silent."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from tqdm.auto import tqdm


@contextmanager
def ticking(desc: str, estimate_s: float, disable: bool = False, interval_s: float = 0.5, delay_s: float = 2.0):
    """While the body runs, show ``desc`` with elapsed seconds against ``estimate_s`` (seconds, > 0).

    The bar appears once the step has run ``delay_s`` (a quick step, or one that
    fails at once, prints nothing); its total grows past the estimate when the step
    runs longer (the estimate is a model, not a promise); it closes when the body
    returns or raises.
    """
    estimate = max(float(estimate_s), 1.0)
    bar = tqdm(total=round(estimate, 1), desc=desc, unit="s", disable=disable, leave=False, delay=delay_s,
               mininterval=0, bar_format="{desc}: {n:.0f}/{total:.0f} s estimated [{elapsed}]")
    done = threading.Event()
    start = time.perf_counter()

    def tick():
        while not done.wait(interval_s):
            elapsed = time.perf_counter() - start
            if elapsed > bar.total:
                bar.total = round(elapsed * 1.2, 1)
            bar.update(round(elapsed - bar.n, 1))  # update, not refresh: it keeps the delay

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield bar
    finally:
        done.set()
        thread.join()
        bar.close()
