"""The portfolio export: CSV and Excel carry the same values, checked cell by cell."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest
from impact_dashboard import export
from impact_dashboard.app import create_app
from impact_dashboard.commands import write_files
from impact_dashboard.model import RunView, run_view
from openpyxl import load_workbook

from dashboard.tests import sample

#: The sample's rows: id, selected, cause, predicted, interval, cost, value per cost,
#: budget, prediction interval, actual, inside, error.
EXPECTED = [
    ["a", "yes", "selected", "5.0", "3.0", "7.0", "30.0", str(5.0 / 30.0), "30.0", "6.0", "1.0"],
    ["b", "yes", "selected", "4.0", "1.0", "6.0", "50.0", "0.08", "50.0", "3.5", "-0.5"],
    ["c", "no", "below_threshold", "2.0", "-1.0", "5.0", "10.0", "0.2", "", "", ""],
    ["d", "no", "over_budget", "9.0", "8.0", "10.0", "200.0", "0.045", "", "", ""],
    ["e", "no", "displaced", "1.0", "0.5", "1.5", "40.0", "0.025", "", "", ""],
    ["f", "no", "failed", "", "", "", "", "", "", "", ""],
]
PICK = ("initiative_id", "selected", "reason_kind", "predicted", "interval_lower",
        "interval_upper", "cost", "value_per_cost", "budget_allocated", "actual",
        "prediction_error")  # fmt: skip


def view() -> RunView:
    return run_view(sample.RUN, sample.events())


def test_csv_has_a_row_per_initiative_with_its_values() -> None:
    rows = list(csv.DictReader(io.StringIO(export.portfolio_csv(view()))))
    assert list(rows[0]) == [name for name, _ in export.COLUMNS]
    assert [[row[k] for k in PICK] for row in rows] == EXPECTED
    e = rows[4]
    assert e["reason"] == (
        "displaced by a better value per cost: b (0.08), a (0.167), against its 0.025; "
        "costs 40.00, 20.00 left"
    )
    a = rows[0]
    assert (a["prediction_lower"], a["prediction_upper"], a["inside_interval"]) == (
        "3.0",
        "7.0",
        "",
    )
    assert (a["actual_ci_lower"], a["actual_ci_upper"], a["design_strength"]) == (
        "5.0",
        "7.0",
        "0.9",
    )


def test_xlsx_holds_numbers_as_numbers_and_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.xlsx"
    write_files(view(), xlsx=path, csv=tmp_path / "portfolio.csv")
    book = load_workbook(path)
    assert book.sheetnames == ["Portfolio", "Summary", "Columns"]
    sheet = book["Portfolio"]
    header = [c.value for c in sheet[1]]
    assert header == [name for name, _ in export.COLUMNS]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]
    assert [r["initiative_id"] for r in rows] == list("abcdef")
    a, e, f = rows[0], rows[4], rows[5]
    assert (a["selected"], a["predicted"], a["cost"], a["budget_allocated"], a["actual"]) == (
        True, 5.0, 30.0, 30.0, 6.0,
    )  # fmt: skip
    # Excel keeps 15 significant digits
    assert a["value_per_cost"] == pytest.approx(5.0 / 30.0, rel=1e-14)
    assert a["prediction_error"] == 1.0
    assert (e["selected"], e["reason_kind"], e["budget_allocated"]) == (False, "displaced", None)
    assert (f["predicted"], f["reason"]) == (None, "failed at measure")
    summary = dict(book["Summary"].iter_rows(values_only=True))
    assert (summary["budget"], summary["allocated"], summary["selected"]) == (100.0, 80.0, 2)
    assert summary["expected value"] == 9.0
    assert summary["summary"] == (
        "2 of 6 initiatives selected; 80 of 100 allocated (80 %); expected value 9.00"
    )
    reasons = [v for k, v in book["Summary"].iter_rows(values_only=True) if k == "reason"]
    assert reasons[0] == "Selected, by value per cost: a (0.167), b (0.08)."
    assert (tmp_path / "portfolio.csv").read_text() == export.portfolio_csv(view())


class Source:
    """A RunSource stand-in serving the sample run (the app's Kafka side is tested in
    tests/integration/test_dashboard.py)."""

    class bus:
        @staticmethod
        async def close() -> None:
            return None

    async def run(self, run_id: str) -> RunView:
        return view() if run_id == sample.RUN else run_view(run_id, [])


def get(path: str) -> tuple[int, dict[str, str], bytes]:
    app = create_app(Source())  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b"",
             "root_path": "", "scheme": "http", "server": ("t", 80)}  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_dashboard_serves_both_downloads() -> None:
    status, headers, body = get(f"/runs/{sample.RUN}/portfolio.csv")
    assert status == 200 and body.decode() == export.portfolio_csv(view())
    assert headers["content-disposition"] == 'attachment; filename="portfolio-run-1.csv"'
    status, headers, body = get(f"/runs/{sample.RUN}/portfolio.xlsx")
    assert status == 200 and body[:2] == b"PK"
    assert load_workbook(io.BytesIO(body))["Portfolio"]["A2"].value == "a"
    assert get("/runs/nope/portfolio.csv")[0] == 404
    assert get(f"/runs/{sample.RUN}/portfolio.pdf")[0] == 404
