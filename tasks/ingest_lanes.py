"""The two lanes of the ingest pipeline in one process (see ``tasks.ingest.load_batch``).

One batch writes at a time (its store-overlap read, then its inserts) while the next one reads, parses and
judges — also one at a time: the insert runs in the engine outside the GIL, and two batches parsing at once
would only share the same cores at twice the memory. A batch judged while the store lane is busy waits
holding its verdict: with ``MARKETOPS_INGEST_WORKERS`` = 2 that is one batch writing and at most one judged
batch queued, so memory is bounded by two batches, not by the input.

The locks live in a module of their own because Dask may ship ``tasks.ingest``'s functions to its workers by
value: a function is pickled with the globals it names, and a lock cannot be pickled, while a module is
pickled by name.
"""

from __future__ import annotations

import threading

PREPARE = threading.Lock()
STORE = threading.Lock()
