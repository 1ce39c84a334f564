"""warmup: rebuild the hot tier from the warm tier as a new, verified epoch; or only check it."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from core.settings import load_settings
from flows.hooks import alert_on_failure
from tasks.retry import with_retry_policy
from tasks.setup import ensure_schema
from tasks.warmup import check_hot, rebuild_hot


@flow(name="warmup", on_failure=[alert_on_failure], on_crashed=[alert_on_failure])
def warmup(mode: str = "force", rebuild: bool = False) -> dict[str, Any]:
    """``force``: warm now (a new epoch when the warm tier changed or the hot tier is incomplete; else only
    the check time is recorded). ``auto``: only when the hot tier lost its epoch or maps (the restart
    check, every 5 min). ``check``: report what is wrong, change nothing. ``rebuild``: always a new epoch."""
    if mode not in {"force", "auto", "check"}:
        raise ValueError(f"mode must be force, auto or check, not {mode!r}")
    logger = get_run_logger()
    settings = load_settings()
    with_retry_policy(ensure_schema, settings)(settings)
    problems = with_retry_policy(check_hot, settings)(settings)
    if problems:  # expected before an on-demand warmup; news for the restart check
        log = logger.info if mode == "force" else logger.warning
        log("hot tier needs a warmup: %s", "; ".join(problems))
    if mode == "check" or (mode == "auto" and not problems):
        return {"status": "checked", "problems": problems}
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
