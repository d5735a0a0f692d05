"""The server-side SVG charts (plugins/nicheflow_airflow/charts.py), parsed as XML: points where the scales
put them, ticks with labels, markers at segment boundaries, text escaped and announced to screen readers."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from pipelines.paths import REPO

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not

from nicheflow_airflow import charts  # noqa: E402

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def points(el: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in el.get("points", "").split())]


def test_nice_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert charts.nice_ticks(0, 1234) == [0, 250, 500, 750, 1000, 1250]
    assert charts.nice_ticks(3, 3) == [2, 2.5, 3, 3.5, 4]
    assert charts.nice_ticks(0, 3, 6, integer=True) == [0, 1, 2, 3]


def test_line_chart_places_every_point_on_its_scales():
    day = date(2031, 3, 1)
    views = charts.Series("long-form", [(day + timedelta(d), v) for d, v in enumerate([0, 50, 100, 75])])
    svg = parse(charts.line_chart([views], title="Views per day", y_label="views"))
    assert svg.get("role") == "img"
    assert svg.find("s:title", NS).text == "Views per day"
    assert svg.get("aria-labelledby").split() == [
        svg.find("s:title", NS).get("id"),
        svg.find("s:desc", NS).get("id"),
    ]
    (line,) = svg.findall(".//s:polyline", NS)
    pts = points(line)
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    assert xs == sorted(xs) and xs[0] == 60 and xs[-1] == 760 - 18  # first and last day at the plot's edges
    steps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    assert max(steps) - min(steps) < 0.02  # one day = one step
    base = 260 - 44
    assert ys[0] == base and ys[2] == 16  # 0 on the axis, 100 (the top tick) at the top of the plot
    assert abs(ys[1] - (base + 16) / 2) < 0.01 and ys[3] < ys[1]
    labels = [t.text for t in svg.findall(".//s:g[@class='x-axis']/s:text", NS)]
    assert labels[0] == "Mar 01" and labels[-1] == "Mar 04"
    yl = [t.text for t in svg.findall(".//s:g[@class='y-axis']/s:text", NS)]
    assert yl[0] == "0" and yl[-1] == "100"
    tips = [c.find("s:title", NS).text for c in svg.findall(".//s:circle", NS)]
    assert tips[1] == "long-form, Mar 02: 50"


def test_several_series_get_a_legend_and_text_is_escaped():
    a = charts.Series("long-form <main>", [(1, 10), (2, 20)])
    b = charts.Series('Shorts & "clips"', [(1, 5), (2, 30)])
    raw = charts.line_chart([a, b], title="A & B <views>", desc="views of <both>")
    assert "<main>" not in raw and "&lt;main&gt;" in raw
    svg = parse(raw)
    assert (
        svg.find("s:title", NS).text == "A & B <views>" and svg.find("s:desc", NS).text == "views of <both>"
    )
    assert [g.get("data-series") for g in svg.findall(".//s:g[@class='series']", NS)] == [
        "long-form <main>",
        'Shorts & "clips"',
    ]
    assert [t.text for t in svg.findall(".//s:g[@class='legend']/s:text", NS)] == [a.name, b.name]
    first, second = svg.findall(".//s:polyline", NS)
    assert points(second)[1][1] < points(first)[1][1]  # 30 is drawn above 20


def test_an_empty_chart_says_so():
    svg = parse(charts.line_chart([charts.Series("views", [])], title="Views"))
    assert svg.find(".//s:text[@class='no-data']", NS).text == "no data yet"
    assert not svg.findall(".//s:polyline", NS)


def test_retention_curve_with_segment_markers():
    curve = [(i / 100, 1.0 - i / 200) for i in range(1, 101)]  # from 99.5 % down to 50 %
    bounds = [
        (0, "Intro"),
        (30, "The crew & the <launch>"),
        (75, "A very long segment heading for a chart"),
        (999, "after the end"),
    ]
    raw = charts.retention_chart(curve, duration=120, boundaries=bounds, title="Retention: Apollo 11")
    svg = parse(raw)
    (line,) = svg.findall(".//s:polyline", NS)
    pts = points(line)
    assert len(pts) == 100
    left, right = 60, 760 - 18
    assert pts[-1][0] == right and abs(pts[49][0] - (left + (right - left) / 2)) < 0.01  # ratio 0.5 = 1:00
    top, base = 34, 280 - 44
    assert abs(pts[-1][1] - (top + (base - top) / 2)) < 0.01  # 50 % of viewers: half way up
    marks = svg.findall(".//s:g[@class='boundary']", NS)
    assert [m.get("data-seconds") for m in marks] == ["0", "30", "75"]  # the one past the end is left out
    line30 = marks[1].find("s:line", NS)
    assert float(line30.get("x1")) == left + (right - left) * 30 / 120
    assert marks[1].find("s:text", NS).text == "The crew & the <launch>"
    assert marks[2].find("s:text", NS).text.endswith("…")  # shortened on the chart...
    assert (
        marks[2].find("s:title", NS).text.startswith("A very long segment heading for a chart")
    )  # ...whole here
    assert "&lt;launch&gt;" in raw
    labels = [t.text for t in svg.findall(".//s:g[@class='x-axis']/s:text", NS)]
    assert labels[0] == "0:00" and labels[-1] == "2:00"


def test_retention_without_a_duration_is_in_percent_and_has_no_markers():
    svg = parse(
        charts.retention_chart([(0.5, 0.8), (1.0, 0.4)], duration=None, boundaries=[(10, "x")], title="R")
    )
    assert not svg.findall(".//s:g[@class='boundary']", NS)
    assert [t.text for t in svg.findall(".//s:g[@class='x-axis']/s:text", NS)][-1] == "100%"
    empty = parse(charts.retention_chart([], duration=60, title="R"))
    assert empty.find(".//s:text[@class='no-data']", NS).text == "no retention data yet"
