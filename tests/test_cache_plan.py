"""Which cold files a changed day touches (pure rules)."""

from __future__ import annotations

from datetime import date

from core.cache_plan import affected


def test_a_middle_day_touches_its_month_and_the_next_days_features() -> None:
    have = [date(2024, 6, d) for d in range(10, 20)]
    what = affected([date(2024, 6, 12)], have)
    assert what.days == (date(2024, 6, 12),)
    assert what.months == (date(2024, 6, 1),)
    assert what.feature_days == (date(2024, 6, 12), date(2024, 6, 13))


def test_a_month_edge_touches_the_neighbour_month_when_it_has_data() -> None:
    have = [date(2024, 6, 30), date(2024, 7, 1), date(2024, 7, 2)]
    assert affected([date(2024, 7, 1)], have).months == (
        date(2024, 6, 1),
        date(2024, 7, 1),
    )  # FX sessions cross midnight
    assert affected([date(2024, 6, 30)], have[:1]).months == (
        date(2024, 6, 1),
    )  # no July data: nothing to rewrite there


def test_the_newest_day_has_no_following_feature_day() -> None:
    have = [date(2024, 6, 1), date(2024, 6, 2)]
    assert affected([date(2024, 6, 2)], have).feature_days == (date(2024, 6, 2),)
    assert affected([date(2024, 6, 1)], have).feature_days == (date(2024, 6, 1), date(2024, 6, 2))


def test_the_next_data_day_in_the_next_month_adds_that_month_for_its_features() -> None:
    have = [date(2024, 6, 20), date(2024, 7, 5)]
    assert affected([date(2024, 6, 20)], have).months == (date(2024, 6, 1), date(2024, 7, 1))


def test_batches_hold_at_most_n_consecutive_months_and_each_changed_day_once() -> None:
    import polars as pl

    from core.cache_plan import month_chunks, plan_batches

    months = [date(2024, m, 1) for m in (1, 2, 3, 4, 5, 9)]
    assert month_chunks(months, 3) == [tuple(months[:3]), tuple(months[3:5]), (date(2024, 9, 1),)]
    days = [date(2024, m, 10) for m in (1, 2, 3, 4, 5, 9)]
    frame = pl.DataFrame({"venue": "binance", "symbol": "X", "day": days})
    batches = plan_batches(frame, frame, 2)
    assert [b["months"] for b in batches] == [months[:2], months[2:4], months[4:5], months[5:]]
    assert sorted(d for b in batches for d in b["days"]) == days
