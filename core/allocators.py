"""Make large freed blocks go back to the OS promptly in a process that ingests (peak RSS, ``bench/ingest.py``).

An ingest process holds two batches at a time (one writing, the next parsing and judging), so its live data
stays flat whatever the input size; part of what grew with the input was memory the allocators had been handed
back and kept. Measured on a 10M-row ingest (``/proc/self/status`` and each allocator's statistics per batch
step), glibc ``malloc`` kept 100-200 MB of freed heap: Python's large objects (every file's raw bytes,
clickhouse-connect's copy of each insert's Arrow payload, ~30 MB a slice) come from it, and after a large block
is freed glibc raises its mmap threshold (up to 32 MiB), so later blocks of that size come from the heap, where a
free leaves holes instead of unmapping. A fixed threshold (``mallopt(M_MMAP_THRESHOLD)``, which also turns that
raising off) keeps blocks of 128 KiB and up in their own mappings, returned on ``free``. The price is that each
such block is faulted in afresh: ~3 s more system CPU over a 10M-row ingest (~10% of the flow's CPU, measured
alternating with the sliding threshold), for a peak RSS ~250 MB lower (median of 3 runs each).

pyarrow's default pool (mimalloc) kept the pages of each insert's Arrow buffers in the heap of the thread that
used them, and the batches run on several threads; with the fixed threshold above, pyarrow's system pool hands
them back too. Peak RSS (``VmHWM``) of a 10M-row ingest, alternated at load ~2: 1,502-1,518 MB with both,
1,589-1,591 MB with the threshold alone; 1,604-1,759 MB with neither (loads 1-6). Both cost ~10-15% more CPU in
the flow; its wall time grew ~4% (the write overlaps the next batch's parse). The bound of 1.5 GiB at 10M rows
is kept only with both (with little margin); ingest is the process that runs unattended beside others, so
memory wins by default. Where CPU is tighter than memory, set the allocators' own variables: a user-set
``MALLOC_MMAP_THRESHOLD_`` or ``ARROW_DEFAULT_MEMORY_POOL`` is kept (they are the allocators' interface, read here
only to stay out of their way).

Measured and left alone (README, Configuration): chDB's jemalloc with ``JE_MALLOC_CONF=dirty_decay_ms:0``
(-120 MB, +40-50% CPU in the flow) and ``SYSTEM JEMALLOC PURGE`` or ``malloc_trim`` after each batch or insert
(no lower peak: it falls inside a batch's steps); polars' jemalloc already purges within ~1 s (polars' own
defaults) and changing them did not lower the peak.
"""

from __future__ import annotations

import ctypes
import os
import platform

# glibc's mallopt parameter number for the mmap threshold (malloc.h: #define M_MMAP_THRESHOLD -3)
_M_MMAP_THRESHOLD = -3
# glibc's default starting threshold, kept fixed: a file's raw bytes (~130 KB for a day of 1m bars) and larger
MMAP_THRESHOLD_BYTES = 128 * 1024

_GLIBC_ENV = "MALLOC_MMAP_THRESHOLD_"  # glibc's own variable (read by glibc when the process starts)
_ARROW_ENV = "ARROW_DEFAULT_MEMORY_POOL"  # pyarrow's own variable (read when its default pool is first made)


def release_memory_promptly() -> list[str]:
    """Set the process's allocators to hand large freed blocks back to the OS; returns what it changed.

    Safe to call more than once and from any thread; leaves alone what the user configured, and glibc's part
    on a C library that is not glibc (musl, macOS)."""
    changed: list[str] = []
    if _GLIBC_ENV not in os.environ and _fixed_mmap_threshold(MMAP_THRESHOLD_BYTES):
        changed.append(f"glibc mmap threshold fixed at {MMAP_THRESHOLD_BYTES} bytes")
    if _ARROW_ENV not in os.environ:
        import pyarrow as pa  # here, not at the top: the rest of core does not need pyarrow loaded

        if pa.default_memory_pool().backend_name != "system":
            pa.set_memory_pool(pa.system_memory_pool())
            changed.append("pyarrow default pool: system")
    return changed


def _fixed_mmap_threshold(nbytes: int) -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    return bool(mallopt is not None and mallopt(_M_MMAP_THRESHOLD, nbytes) == 1)  # 1 = accepted
