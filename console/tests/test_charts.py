"""The server-rendered charts: axes with whole ticks, every number in the table."""
from datetime import datetime, timedelta, timezone

from console import charts


def test_bar_chart_axis_has_whole_ticks_and_the_table_has_every_bar():
    chart = charts.bar_chart(key="t", title="Throughput", bars=[("a", 3), ("b", 1)],
                             y_format=charts.whole)
    ticks = [part.split(">")[1].split("<")[0] for part in chart.svg.split('text-anchor="end"')[1:]]
    assert ticks[:4] == ["0", "1", "2", "3"]
    assert chart.rows == [["a", "3"], ["b", "1"]]
    assert 'role="img"' in chart.svg
    assert '<title id="t-t">Throughput</title>' in chart.svg


def test_line_chart_with_a_guide_and_no_points_is_empty_but_keeps_its_table():
    empty = charts.line_chart(key="s", title="Spend", series=[{"name": "Spent", "points": []}],
                              y_format=charts.cents, guides=[("Budget", 5000)])
    assert empty.empty and empty.rows == [["", "Budget", "$50.00"]]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    chart = charts.line_chart(key="s", title="Spend", y_format=charts.cents,
                              series=[{"name": "Spent", "points": [
                                  (start, 100), (start + timedelta(hours=1), 250)]}],
                              guides=[("Budget", 500)])
    assert "<polyline" in chart.svg and 'stroke-dasharray="2 3"' in chart.svg
    assert chart.summary == "Spend: Spent $2.50."
