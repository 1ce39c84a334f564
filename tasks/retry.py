"""Retry policy: transient storage faults only, exponential backoff with our own jitter.

Prefect 3.8 ignores ``retry_jitter_factor`` for tasks, so the jitter is baked into the delay list;
contract violations and bad input are never retried because they would fail the same way again.
"""

from __future__ import annotations

import random
from typing import Any

from core.errors import TransientStorageError


def backoff_delays(retries: int, base_s: float, jitter: float = 0.3, rng: random.Random | None = None) -> list[float]:
    """``base * 2**n`` for each retry, each stretched by up to ``jitter`` at random."""
    rng = rng or random.Random()
    return [round(base_s * (2**n) * (1 + rng.uniform(0, jitter)), 3) for n in range(retries)]


def is_transient(exc: BaseException | None) -> bool:
    return isinstance(exc, TransientStorageError)


def retry_transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry when the task raised a TransientStorageError."""
    try:
        state.result(raise_on_failure=True)
    except BaseException as exc:
        return is_transient(exc)
    return False


def task_options(base_delay_s: float = 2.0) -> dict[str, Any]:
    """Defaults of every marketops task: no input hashing (inputs are settings and plain values, results
    are small), no result persistence, transient-only retries with backoff and jitter."""
    from prefect.cache_policies import NO_CACHE

    return {
        "cache_policy": NO_CACHE,
        "persist_result": False,
        "retries": 3,
        "retry_delay_seconds": backoff_delays(3, base_delay_s),
        "retry_condition_fn": retry_transient_only,
    }


def with_retry_policy(task_obj: Any, settings: Any) -> Any:
    """``task_obj`` with the configured retry count and backoff (decorator values are the defaults)."""
    from tasks.lineage import bind_lineage  # tasks that write a tier get this installation's asset URIs

    configured = task_obj.with_options(
        retries=settings.retries,
        retry_delay_seconds=backoff_delays(settings.retries, settings.retry_base_delay_s) or 0,
        retry_condition_fn=retry_transient_only,
    )
    return bind_lineage(configured, settings)
