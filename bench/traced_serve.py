"""`python -m handler serve` with tracemalloc on; SIGUSR1 dumps a snapshot.

Usage: python bench/traced_serve.py DIR (the environment configures the service,
as for `python -m handler serve`). Each SIGUSR1 writes DIR/warm.snapshot, then
DIR/end.snapshot (bench/soak.py --tracemalloc reads them).
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path

FRAMES = 5  # enough to see who called the allocating line
NAMES = iter(("warm", "end"))


def dump(directory: Path) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    name = next(NAMES)
    partial = directory / f"{name}.partial"
    snapshot.dump(str(partial))
    os.replace(partial, directory / f"{name}.snapshot")  # whole, or not there


if __name__ == "__main__":
    directory = Path(sys.argv[1])
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, lambda *_: dump(directory))
    sys.argv = ["handler", "serve"]
    runpy.run_module("handler", run_name="__main__", alter_sys=True)
