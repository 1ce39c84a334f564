"""One warehouse suite, run against every backend available here.

chDB always runs. The ClickHouse-server backend runs when MARKETOPS_CLICKHOUSE_URL is set, and
otherwise skips saying so (no server can be installed on the build machines).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.settings import Settings
from storage.warm.base import Warehouse

BACKENDS = ["chdb", "clickhouse"]


@pytest.fixture(params=BACKENDS)
def warehouse(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Warehouse]:
    if request.param == "chdb":
        from storage.warm.chdb_backend import ChdbWarehouse

        wh: Warehouse = ChdbWarehouse.from_settings(settings)
    else:
        url = os.environ.get("MARKETOPS_CLICKHOUSE_URL")
        if not url:
            pytest.skip("ClickHouse server suite: set MARKETOPS_CLICKHOUSE_URL to run it (no server on this machine)")
        from storage.warm.clickhouse_backend import ClickHouseWarehouse

        wh = ClickHouseWarehouse.from_settings(settings.model_copy(update={"clickhouse_url": url}))
    try:
        yield wh
    finally:
        if request.param == "clickhouse":
            wh.execute(f"DROP DATABASE IF EXISTS {wh.database}")
        wh.close()
