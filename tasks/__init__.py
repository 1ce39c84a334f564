"""Prefect tasks: thin calls into validation/, storage/ and core/, one task per batch."""
