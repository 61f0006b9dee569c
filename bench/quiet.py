"""The quiet-machine rule of every benchmark here: load average below 1 before and after.

Load from other processes stalls PyTorch's lock-step threads far more than
TensorFlow's and once inverted this project's ratios, so a benchmark
records the 1-minute load average before it starts and after it ends, and
its figures count only when both are below 1. The "after" reading comes
after `settle` seconds of idling: the benchmark's own threads keep the
1-minute average near the number of busy cores while it runs, and an idle
minute lets that part decay (to about 37 %), so what remains above 1 is
other processes' load.
"""

import os
import time

QUIET = 1.0


def load_average():
    """The 1-minute load average."""
    return os.getloadavg()[0]


def wait_until_quiet(timeout=300, poll=10, threshold=QUIET):
    """Waits (up to `timeout` seconds) for the load average to drop below `threshold`.

    Returns:
        The load average when it returned.
    """
    deadline = time.monotonic() + timeout
    load = load_average()
    while load >= threshold and time.monotonic() < deadline:
        time.sleep(poll)
        load = load_average()
    return load


def settled_load(settle=60):
    """The load average after `settle` idle seconds (see the module docstring)."""
    time.sleep(settle)
    return load_average()


def verdict(before, after, threshold=QUIET):
    """`"quiet"` when both readings are below `threshold`, else a warning to print beside the figures."""
    if before < threshold and after < threshold:
        return "quiet"
    return (f"NOT QUIET (1-minute load average {before:.2f} before, {after:.2f} after; "
            f"the rule is below {threshold:g} for both): figures unreliable")
