"""Prefect flows: order, retries, hooks and artifacts. No data logic lives here."""
