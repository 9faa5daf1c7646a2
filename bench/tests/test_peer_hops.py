"""The peer hop benchmark's summary: percentiles per variant and the two goal ratios."""

from __future__ import annotations

from bench.peer_hops_bench import AT_LEAST_ONCE, FASTSTREAM, PRODUCTION, RAW_TXN, Variant, summary


def test_summary_reports_percentiles_and_the_goal_ratios() -> None:
    chosen = [
        Variant(RAW_TXN, [], samples=[10.0, 20.0, 30.0]),
        Variant(FASTSTREAM, [], samples=[4.0, 5.0, 6.0]),
        Variant(AT_LEAST_ONCE, [], samples=[5.0, 6.0, 7.0]),
        Variant(PRODUCTION, [], samples=[11.0, 22.0, 33.0]),
    ]
    result = summary(chosen)
    assert [row["p50_ms"] for row in result["hops"]] == [20.0, 5.0, 6.0, 22.0]
    assert result["hops"][0]["p90_ms"] == 28.0
    assert result["p50_ratios"] == {
        "production / raw transactional (goal <= 1.1)": 1.1,
        "at_least_once / FastStream (goal <= 1.0)": 1.2,
    }


def test_a_ratio_whose_variant_did_not_run_is_left_out() -> None:
    result = summary([Variant(RAW_TXN, [], samples=[1.0]), Variant(PRODUCTION, [], samples=[2.0])])
    assert result["p50_ratios"] == {"production / raw transactional (goal <= 1.1)": 2.0}
