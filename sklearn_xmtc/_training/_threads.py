"""How many threads torch trains with: ``n_threads`` and the cores actually free.

Two cores are easy to oversubscribe. torch's OpenMP threads spin-wait for each other
at the end of every parallel region; when another process holds one of the cores, the
thread on that core is descheduled and the others spin until it runs again, which
made an XML-CNN epoch on cooking 6-12 times slower (52-96 s instead of 8 s) on the
2-core CI machine. The wait policy (``OMP_WAIT_POLICY``) is read once, when the
OpenMP runtime starts, so a library imported after torch cannot change it; what it
can change is the number of threads. ``n_threads="auto"`` counts the cores that are
idle when ``fit`` starts (from ``/proc/stat`` over :data:`PROBE_SECONDS`) and trains
with that many (at least one); an int is used as given; None leaves torch's own
setting. The command line also sets ``OMP_WAIT_POLICY=PASSIVE`` before torch is
imported (``sklearn_xmtc._cli.passive_openmp``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

__all__ = ["free_cores", "resolve_n_threads", "torch_threads"]

logger = logging.getLogger("sklearn_xmtc")

#: how long ``free_cores`` watches the CPU counters
PROBE_SECONDS = 0.25


def _cpu_times():
    """(idle, total) jiffies of all CPUs from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return idle, sum(values[:8])  # guest time is already counted in user


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_cores(seconds=PROBE_SECONDS):
    """The number of usable cores that were idle over the next ``seconds`` (a float;
    the usable core count when the counters cannot be read)."""
    cores = _usable_cores()
    before = _cpu_times()
    if before is None:
        return float(cores)
    time.sleep(seconds)
    after = _cpu_times()
    total = after[1] - before[1]
    if total <= 0:
        return float(cores)
    n_cpus = os.cpu_count() or cores
    idle_cpus = n_cpus * (after[0] - before[0]) / total
    return float(min(cores, max(idle_cpus, 0.0)))


def resolve_n_threads(n_threads):
    """The thread count a fit uses: None (torch's setting), an int >= 1, or "auto"
    (the free cores, rounded, at least 1)."""
    if n_threads is None:
        return None
    if n_threads == "auto":
        free = free_cores()
        n = max(1, int(free + 0.5))
        logger.info("n_threads='auto': %.1f of %d usable cores free, training with %d "
                    "thread(s)", free, _usable_cores(), n)
        return n
    return int(n_threads)


@contextlib.contextmanager
def torch_threads(n):
    """Run the block with ``torch.set_num_threads(n)`` (nothing when ``n`` is None),
    then restore the previous count."""
    if n is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)

