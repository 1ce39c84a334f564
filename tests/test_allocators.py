"""The ingest process's allocators hand large freed blocks back to the OS, unless the user configured them.

Each case runs in a fresh interpreter: the setting is process-wide. Peak RSS itself is measured by
``bench/ingest.py``, not here.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "ARROW_DEFAULT_MEMORY_POOL")
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# After a 4 MiB block is freed, glibc's default raises its mmap threshold past 1 MiB, so a 1 MiB block then
# comes from the heap; with the threshold fixed at 128 KiB it gets its own mapping (mallinfo2's ``hblks``).
PROBE = textwrap.dedent(
    """
    import ctypes, json, sys
    from core.allocators import release_memory_promptly

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    changed = release_memory_promptly() if sys.argv[1] == "call" else []
    big = bytearray(4 << 20)  # allocate and free a large block
    del big
    before = libc.mallinfo2().hblks
    held = bytearray(1 << 20)
    mapped = libc.mallinfo2().hblks - before
    import pyarrow as pa
    print(json.dumps({"changed": changed, "mapped": mapped, "pool": pa.default_memory_pool().backend_name}))
    """
)


def _probe(call: bool, **env: str) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if k not in USER_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "call" if call else "skip"],
        capture_output=True,
        text=True,
        timeout=120,
        env=base | {"PYTHONPATH": str(ROOT)} | env,
        cwd=ROOT,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(not GLIBC, reason="the mmap threshold is a glibc setting")
def test_large_blocks_get_their_own_mapping() -> None:
    default = _probe(call=False)
    assert default["mapped"] == 0  # glibc's sliding threshold: the 1 MiB block came from the heap
    tuned = _probe(call=True)
    assert tuned["mapped"] == 1
    assert tuned["changed"] == ["glibc mmap threshold fixed at 131072 bytes", "pyarrow default pool: system"]
    assert tuned["pool"] == "system"


@pytest.mark.skipif(not GLIBC, reason="the mmap threshold is a glibc setting")
def test_a_threshold_the_user_set_is_kept() -> None:
    kept = _probe(call=True, MALLOC_MMAP_THRESHOLD_="4194304")
    assert kept["changed"] == ["pyarrow default pool: system"]
    assert kept["mapped"] == 0  # the user's 4 MiB threshold, not ours


def test_a_pool_the_user_chose_is_kept() -> None:
    kept = _probe(call=True, ARROW_DEFAULT_MEMORY_POOL="mimalloc")
    assert kept["changed"] == ["glibc mmap threshold fixed at 131072 bytes"] or not GLIBC
    assert kept["pool"] == "mimalloc"
    assert _probe(call=True)["pool"] == "system"
