"""warmup: rebuild the hot tier from the warm tier as a new, verified epoch; or only check it."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from core import progress
from core.settings import Settings, load_settings
from flows import events
from flows.hooks import RUN_HOOKS
from tasks.retry import with_retry_policy
from tasks.setup import ensure_schema
from tasks.warmup import check_hot, rebuild_hot, update_hot


@flow(name="warmup", **RUN_HOOKS)
def warmup(mode: str = "force", rebuild: bool = False) -> dict[str, Any]:
    """``force``: warm now (a new epoch when the warm tier changed or the hot tier is incomplete; else only
    the check time is recorded). ``auto`` (the check every 5 min): rebuild when the hot tier lost its epoch
    or maps; when it is complete but some symbols' newest bar is behind the warm tier, update only those
    keys. ``check``: report what is wrong, change nothing. ``rebuild``: always a new epoch."""
    if mode not in {"force", "auto", "check"}:
        raise ValueError(f"mode must be force, auto or check, not {mode!r}")
    settings = load_settings()
    shown = progress.current()
    shown.start("warmup", 2, "steps")  # check, then rebuild or repair
    try:
        return _warm(settings, mode, rebuild, shown)
    finally:
        shown.finish()


def _warm(settings: Settings, mode: str, rebuild: bool, shown: progress.ProgressSink) -> dict[str, Any]:
    logger = get_run_logger()
    with_retry_policy(ensure_schema, settings)(settings)
    checked = with_retry_policy(check_hot, settings)(settings)
    shown.advance(1)
    problems, drifted = checked["problems"], checked["drifted"]
    if problems:  # expected before an on-demand warmup; news for the restart check
        log = logger.info if mode == "force" else logger.warning
        log("hot tier needs a warmup: %s", "; ".join(problems))
    events.hot_stale(settings, problems, mode, rebuilding=mode != "check")
    if mode == "check" or (mode == "auto" and not problems):
        return {"status": "checked", "problems": problems}
    if mode == "auto" and drifted and len(problems) == 1:  # complete but behind: update those keys only
        repaired = with_retry_policy(update_hot, settings)(settings, drifted, "warmup-check repair")
        logger.info("repaired %d drifted symbols: %d keys", repaired["symbols"], repaired["keys"])
        return repaired | {"status": "repaired", "problems": problems}
    result = with_retry_policy(rebuild_hot, settings)(settings, rebuild)
    logger.info(
        "warmup %s: epoch %s, %s keys, %s bytes", result["status"], result["epoch"], result["keys"], result["bytes"]
    )
    create_markdown_artifact(
        key="warmup-summary",
        markdown="# Warmup\n\n"
        + "\n".join(f"- {k}: {v}" for k, v in result.items())
        + (f"\n- problems found first: {problems}" if problems else ""),
    )
    return result | {"problems": problems}
