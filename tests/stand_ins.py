"""Stand-ins shared by the process tests and benchmarks/bench_limits.py: a hanging ngspice, a writer to kill."""

#: A shell script put in $XBAR_NGSPICE that hangs (and starts a background child), writing both pids to
#: $FAKE_PIDS; with FAKE_MODE=hang-run it answers the ``-v`` probe as ngspice with KLU and hangs on the run.
FAKE_NGSPICE = """#!/bin/sh
if [ "$1" = "-v" ] && [ "$FAKE_MODE" = "hang-run" ]; then echo '** ngspice-99 : Compiled with KLU'; exit 0; fi
echo $$ >> "$FAKE_PIDS"
sleep 600 &
echo $! >> "$FAKE_PIDS"
sleep 600
"""

#: ``python -c KILLED_WRITER TARGET STARTED``: writes TARGET through xbar's atomic writer, touches STARTED
#: mid-write and sleeps there, to be killed.
KILLED_WRITER = """
import sys, time
from xbar.util.atomic import atomic_open
with atomic_open(sys.argv[1], "wb") as f:
    f.write(b"new" * 100000)
    f.flush()
    open(sys.argv[2], "w").close()
    time.sleep(60)
"""
