"""One ingest over every shared real sample: each file loads whole or is quarantined with its reason, none fails.

What the readers said is stored per file (``ingest_files.zone_rule``/``price_side``), quote sides load as
separate symbols (``.BID``/``.ASK``), and the run summary counts the files whose naive times took a default zone.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import Settings
from storage.warm import open_warehouse

# file name -> (status, rows read, zone rule, price side); rows read counts one row per quote side
LOADED = {
    "DOTUSDT-1m-2024-11_first2days.csv": (2880, "explicit:UTC", "trade"),
    "BTCUSDT-1m-2019-06-07.csv": (1379, "explicit:UTC", "trade"),
    "BTCUSDT-1m-2025-06-15.csv": (1440, "explicit:UTC", "trade"),
    "GBPUSD_Candlestick_1_M_BID_04.04.2025-06.04.2025_slice.csv": (3000, "format:UTC", "bid"),
    "XAUUSD_M1.csv": (4676, "explicit:UTC", "trade"),
    "DAT_NT_EURUSD_M1_201502_week1.csv": (7192, "format:EST(UTC-5,no DST)", "bid"),
    "USDJPY1_2017-02-03_06.csv": (2145, "default_utc:UTC", "bid"),
    "20140606_trade.zip": (783, "format:America/New_York", "trade"),
    "20140606_quote.zip": (1670, "format:America/New_York", "bid+ask"),
    "20140505_quote.zip": (2798, "format:UTC", "bid+ask"),
    "20180404_trade.zip": (1009, "format:UTC", "trade"),
    "20180404_quote.zip": (2876, "format:UTC", "bid+ask"),
}
QUARANTINED = {
    "EURUSD_1H_first3000.csv": "not_1m_bars (interval 1h)",
    "STORJUSD_60.csv": "not_1m_bars (interval 1h)",
    "US30m_H1_202401012300_202509082200_first3000.csv": "not_1m_bars (interval 1h)",
    "US30m_Daily_202401010000_202509080000.csv": "not_1m_bars (interval 1d)",
    "nvda-1999-2014.txt": "not_1m_bars (interval 1d)",
    "SP500_NOV2019_IDay.csv": "ambiguous_date_order",
    "tardis_trades_binance-futures_BTCUSDT_first3000.csv": "trade ticks, not bars",
    "20131008_trade.zip": "LEAN tick file",
}


def test_every_real_file_loads_or_is_quarantined_with_its_reason(settings: Settings, real_data: Path) -> None:
    from flows.ingest import ingest

    summary = ingest(paths=[str(real_data)])
    assert summary["files_failed"] == 0
    assert summary["files_quarantined"] == len(QUARANTINED)
    assert summary["files_zone_defaulted"] == 1 and summary["zone_defaults"] == ("default_utc:UTC",)
    with open_warehouse(settings) as warehouse:
        files = warehouse.query_df(
            "SELECT path, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, reasons, zone_rule, "
            "price_side, venue, symbol FROM ingest_files FINAL"
        )
        symbols = dict(
            warehouse.query_df(
                "SELECT concat(venue, '/', symbol), count() FROM bars_1m FINAL "
                "WHERE symbol LIKE 'AAPL%' OR symbol LIKE 'NZDUSD%' OR symbol LIKE 'GBPUSD%' GROUP BY 1"
            ).iter_rows()
        )
    by_name = {Path(r["path"]).name: r for r in files.iter_rows(named=True)}
    assert set(by_name) == set(LOADED) | set(QUARANTINED)
    for name, (rows, zone, side) in LOADED.items():
        row = by_name[name]
        assert row["status"] in ("loaded", "partial"), (name, row["reasons"])
        assert (row["rows_read"], row["zone_rule"], row["price_side"]) == (rows, zone, side), name
        assert row["rows_loaded"] + row["rows_quarantined"] + row["rows_duplicate"] == rows, name
    for name, reason in QUARANTINED.items():
        row = by_name[name]
        assert row["status"] == "quarantined" and reason in json.loads(row["reasons"])[0]["reason"], name
    assert by_name["BTCUSDT-1m-2019-06-07.csv"]["venue"] == "binance"
    assert (by_name["20140505_quote.zip"]["venue"], by_name["20140505_quote.zip"]["symbol"]) == ("oanda", "NZDUSD")
    # quote sides are separate series; the equity trade bars keep the plain ticker
    assert symbols["oanda/NZDUSD.BID"] == symbols["oanda/NZDUSD.ASK"] == 1399
    assert symbols["dukascopy/GBPUSD.BID"] == 3000
    assert symbols["generic/AAPL"] == 783
    assert symbols["generic/AAPL.ASK"] == 835 and 0 < symbols["generic/AAPL.BID"] <= 835

    again = ingest(paths=[str(real_data)])
    assert again["rows_loaded"] == 0 and again["files_skipped"] == len(LOADED) + len(QUARANTINED)
