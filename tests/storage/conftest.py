"""One warehouse suite, run on the production adapter against every engine available here.

Both variants are ``ClickHouseWarehouse`` (clickhouse-connect). The embedded one (clickhouse-connect's
chDB interface) always runs; the server one runs when MARKETOPS_CLICKHOUSE_URL is set, and otherwise
skips saying so (no server can be installed on the build machines).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.settings import Settings
from storage.warm import Warehouse, open_warehouse

BACKENDS = ["chdb", "clickhouse"]


@pytest.fixture(params=BACKENDS)
def warehouse(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Warehouse]:
    if request.param == "chdb":
        wh: Warehouse = open_warehouse(settings.model_copy(update={"clickhouse_url": None}))
    else:
        url = os.environ.get("MARKETOPS_CLICKHOUSE_URL")
        if not url:
            pytest.skip("ClickHouse server suite: set MARKETOPS_CLICKHOUSE_URL to run it (no server on this machine)")
        wh = open_warehouse(settings.model_copy(update={"clickhouse_url": url}))
    try:
        yield wh
    finally:
        if request.param == "clickhouse":
            wh.execute(f"DROP DATABASE IF EXISTS {wh.database}")
        wh.close()
