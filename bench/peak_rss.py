"""Peak resident memory of the calling process, for the benches that print one per child process.

Not ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: on Linux a process started by fork + exec (every
``subprocess.run``) reports there the larger of its own peak and its parent's resident set at the fork, which
the kernel carries across the exec. A child started by a bench parent holding 10M bars in memory "peaked" at the
parent's ~1.5-2.5 GB while its own peak was ~1 GB (``bench/caches.py`` printed 2.2-2.6 GB at 10M rows). The
kernel's ``VmHWM`` (``/proc/self/status``) is the peak of this process's own address space, so it is read
instead; ``ru_maxrss`` only where there is no ``/proc`` (its unit is then platform-specific: KiB on Linux and
the BSDs, bytes on macOS).
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_rss_kib() -> int:
    """This process's own peak resident set, in KiB."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])  # "VmHWM:   123456 kB"
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def peak_rss_mib() -> float:
    return peak_rss_kib() / 1024
