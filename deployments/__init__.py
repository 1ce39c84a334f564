"""Deployment helpers used with prefect.yaml: reading the deployment catalogue."""
