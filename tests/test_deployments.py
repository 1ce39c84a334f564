"""Every entrypoint named in prefect.yaml imports, is a flow, and accepts its parameters."""

from __future__ import annotations

import pytest
from prefect import Flow

from deployments.catalogue import DeploymentEntry, load_catalogue, load_flow

CATALOGUE = load_catalogue()


def test_the_catalogue_is_not_empty_and_names_are_unique() -> None:
    names = [d.name for d in CATALOGUE]
    assert {"ingest", "daily"} <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("entry", CATALOGUE, ids=[d.name for d in CATALOGUE])
def test_entrypoint_imports_and_parameters_validate(entry: DeploymentEntry) -> None:
    flow = load_flow(entry)
    assert isinstance(flow, Flow)
    validated = flow.validate_parameters(dict(entry.parameters))
    assert set(validated) >= set(entry.parameters)


def test_schedules_are_in_utc() -> None:
    for entry in CATALOGUE:
        for schedule in entry.schedules:
            assert schedule.get("timezone") == "UTC", entry.name
