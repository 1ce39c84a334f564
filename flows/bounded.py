"""At most N batch tasks in flight: submit, collect in order, keep going when one fails for good.

Every batch flow (ingest, validate, caches) runs this loop; the bound keeps memory and warehouse
load flat however many batches a run has, and a failed batch is reported, not raised, so the
flow decides what a failure means.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from prefect.futures import PrefectFuture

Item = TypeVar("Item")


def run_bounded(
    items: Sequence[Item], submit: Callable[[Item], PrefectFuture], limit: int
) -> Iterator[tuple[Item, Any, int]]:
    """Yield ``(item, result or the exception it failed with, items done)`` in submission order."""
    queue = list(items)
    in_flight: deque[tuple[Item, PrefectFuture]] = deque()
    done = 0
    while queue or in_flight:
        while queue and len(in_flight) < max(1, limit):
            item = queue.pop(0)
            in_flight.append((item, submit(item)))
        item, future = in_flight.popleft()
        result = future.result(raise_on_failure=False)
        done += 1
        yield item, result, done
