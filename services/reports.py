"""Printable documents, generated on the server with ReportLab: a student's profile for a parent meeting and a
school (or class) report for a governing board.

Both are scoped like the pages (the profile through :func:`services.profile.student_profile`, the report through
the same services as the overview and effects pages, for the viewer and the filters) and carry their own fonts
(Bitstream Vera, shipped with ReportLab, embedded as subsets) and charts (ReportLab's own drawing: no browser, no
image tool). Nothing here writes: the caller records the download in the audit log like an export.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import reportlab
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import School, SchoolClass
from ml.score import HIGH
from services import interventions
from services.effects import sports_effect, study_hours_effect
from services.indicators import Segments, segments, share_words
from services.overview import KpiSummary, kpi_summary, score_distribution
from services.profile import StudentProfile, student_profile
from services.queries import M
from services.scope import Filters, Viewer
from services.students import StudentInScope
from services.wording import scope_phrase

FONT, BOLD = "StudentPerfSans", "StudentPerfSans-Bold"
FONT_FILES = {FONT: "Vera.ttf", BOLD: "VeraBd.ttf"}
INK, MUTED, ACCENT, CLASS_LINE = colors.HexColor("#1f2933"), colors.HexColor("#52606d"), colors.HexColor("#0072B2"), \
    colors.HexColor("#E69F00")
PDF_TYPE = "application/pdf"
NONE_RECORDED = "None recorded."
CONVERSATION = ("The risk is the model's estimate, a prompt for a conversation and not a verdict; the indicators are "
                "simple rules on the student's own numbers.")


@dataclass(frozen=True)
class PdfDocument:
    """A generated PDF: its bytes, the file name to offer, and what it is about (for the audit log)."""

    content: bytes
    filename: str
    subject: str


def _register_fonts() -> None:
    """Register the embedded fonts once per process (TrueType: embedded as subsets in every PDF)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(reportlab.__file__).parent / "fonts"
    for name, file in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))


def _styles() -> dict[str, ParagraphStyle]:
    _register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK, spaceAfter=3)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=21, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=12, leading=15, spaceBefore=8, spaceAfter=3),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "rec": ParagraphStyle("rec", parent=base, leftIndent=8, borderPadding=3, textColor=INK,
                              backColor=colors.HexColor("#eef4fa")),
    }


GREEK = str.maketrans({"ρ": "rho", "η": "eta", "ε": "epsilon", "χ": "chi"})
"""Letters the embedded font has no glyph for, spelt out (the statistics captions use them)."""


def _esc(text: Any) -> str:
    """Text safe inside a ReportLab paragraph (its mini-markup escaped) and printable in the embedded font."""
    return str(text).translate(GREEK).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows: Sequence[Sequence[Any]], widths: Sequence[float], header: bool = True) -> Table:
    st = _styles()
    cell = ParagraphStyle("cell", parent=st["body"], fontSize=8.5, leading=10.5, spaceAfter=0)
    head = ParagraphStyle("head", parent=cell, fontName=BOLD)
    cells = [[Paragraph(_esc(c), head if header and i == 0 else cell) for c in r] for i, r in enumerate(rows)]
    table = Table(cells, colWidths=list(widths), hAlign="LEFT")
    style = [("FONT", (0, 0), (-1, -1), FONT, 8.5), ("TEXTCOLOR", (0, 0), (-1, -1), INK),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9dee3")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 3), ("TOPPADDING", (0, 0), (-1, -1), 2)]
    if header:
        style += [("FONT", (0, 0), (-1, 0), BOLD, 8.5), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3f5f7"))]
    table.setStyle(TableStyle(style))
    return table


def _build(story: list[Any], title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=title, author="Student performance", subject=title)

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(16 * mm, 8 * mm, f"{title} · page {document.page} · confidential: for school use only")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- charts (ReportLab drawing)


def line_chart(series: dict[str, list[tuple[float, float]]], *, y_max: float | None = None, width: float = 170 * mm,
               height: float = 42 * mm) -> Drawing:
    """Lines over weeks (x: week number), one per series (the first is the student, in blue), with a legend."""
    _register_fonts()
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 28, 14, width - 140, height - 22
    data = [points or [(0.0, 0.0)] for points in series.values()]
    plot.data = data
    palette = [ACCENT, CLASS_LINE, MUTED]
    for i in range(len(data)):
        plot.lines[i].strokeColor = palette[i % len(palette)]
        plot.lines[i].strokeWidth = 1.6 if i == 0 else 1.0
        if i:
            plot.lines[i].strokeDashArray = [3, 2]
    ys = [y for points in data for _, y in points]
    plot.yValueAxis.valueMin = 0
    plot.yValueAxis.valueMax = y_max if y_max is not None else max(1.0, math.ceil(max(ys, default=1) * 1.15))
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName, axis.labels.fontSize = FONT, 7
    plot.xValueAxis.valueMin = 1
    plot.xValueAxis.valueMax = max(2, max((x for points in data for x, _ in points), default=2))
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y, legend.fontName, legend.fontSize = width - 105, height - 10, FONT, 7
    legend.colorNamePairs = [(palette[i % len(palette)], name) for i, name in enumerate(series)]
    legend.alignment = "right"
    drawing.add(legend)
    return drawing


def bar_chart(labels: list[str], values: list[float], *, width: float = 170 * mm, height: float = 50 * mm,
              value_max: float | None = None) -> Drawing:
    """Vertical bars with a category label under each (one series)."""
    _register_fonts()
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 22, width - 40, height - 30
    chart.data = [values or [0.0]]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.bars[0].fillColor = ACCENT
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = value_max if value_max is not None else max(1.0, math.ceil(max(values, default=1) * 1.15))
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName, axis.labels.fontSize = FONT, 7
    chart.categoryAxis.labels.angle = 30 if len(labels) > 8 else 0
    chart.categoryAxis.labels.dy = -6 if len(labels) > 8 else -2
    drawing.add(chart)
    return drawing


# --------------------------------------------------------------------------- the student's profile


def open_interventions(session: Session, student: StudentInScope) -> list[str]:
    """The student's open interventions in words, one line each (type, status, owner, since, next review)."""
    lines = []
    for item in interventions.open_interventions(session, student):
        review = f", next review {_day(item.next_review)}" if item.next_review else ""
        lines.append(f"{item.type.capitalize()} ({item.status}), with {item.owner}, since {_day(item.start_date)}{review}")
    return lines


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _series(history: pd.DataFrame, column: str, scale: float = 1.0) -> list[tuple[float, float]]:
    values = history[column].tolist() if column in history else []
    return [(i + 1.0, float(v) * scale) for i, v in enumerate(values) if v is not None and not math.isnan(v)]


def _history_charts(p: StudentProfile, st: dict[str, ParagraphStyle]) -> list[Any]:
    if p.history.empty:
        return [Paragraph("No weekly data for this student yet.", st["body"])]
    weeks = p.history["week"].tolist()
    span = f"weeks 1-{len(weeks)}: {weeks[0]:%d %b %Y} to {weeks[-1]:%d %b %Y}" if weeks else ""
    charts = [
        ("Attendance (%)", "attendance", "class_attendance", 100.0, 100.0),
        ("Study hours a week", "study_hours", "class_study_hours", 1.0, None),
        ("Score", "score", "class_score", 1.0, 100.0),
    ]
    out: list[Any] = [Paragraph(f"History ({_esc(span)}): the student (solid) beside the class mean (dashed).",
                                st["small"])]
    for title, own, klass, scale, top in charts:
        series = {"Student": _series(p.history, own, scale), "Class mean": _series(p.history, klass, scale)}
        out.append(KeepTogether([Paragraph(_esc(title), st["body"]), line_chart(series, y_max=top)]))
    return out


def _risk_lines(p: StudentProfile) -> list[str]:
    row, run = p.risk.row, p.risk.run
    if row is None or run is None:
        return [p.risk.note or "No risk score yet."]
    lines = [f"Estimated risk of finishing below the pass mark: {row.words} (tier {row.tier}), scored as of "
             f"{row.as_of:%d %b %Y}.", p.risk_history.sentence]
    if row.reasons:
        lines.append("Main reasons: " + "; ".join(r[:1].upper() + r[1:] for r in row.reasons[:3]) + ".")
    return lines


def _student_story(p: StudentProfile, interventions: list[str], today: dt.date) -> list[Any]:
    st = _styles()
    who = " · ".join(x for x in (f"ID {p.source_id}", f"class {p.class_name or '–'}",
                                  f"grade {p.grade_level}" if p.grade_level is not None else "") if x)
    story: list[Any] = [Paragraph(_esc(p.name or "Unnamed student"), st["title"]),
                        Paragraph(_esc(f"{who} · prepared {today:%d %b %Y} for a parent meeting"), st["small"]),
                        Paragraph("Risk", st["h2"])]
    story += [Paragraph(_esc(line), st["body"]) for line in _risk_lines(p)]
    story.append(Paragraph(_esc(CONVERSATION), st["small"]))
    story.append(Paragraph("Indicators", st["h2"]))
    rows = [["Indicator", "On", "Value"]] + [[i.label, "yes" if i.on else "no", i.value] for i in p.indicators]
    story.append(_table(rows, (40 * mm, 12 * mm, 126 * mm)))
    story.append(Paragraph("Open interventions", st["h2"]))
    story += [Paragraph(_esc(line), st["body"]) for line in interventions] or [Paragraph(NONE_RECORDED, st["body"])]
    story.append(Paragraph("Attendance, study and scores", st["h2"]))
    story += _history_charts(p, st)
    return story


def student_pdf(*, session: Session, viewer: Viewer, student_id: int, today: dt.date | None = None) -> PdfDocument:
    """One or two pages on one student for a parent meeting (``NotFound`` outside the viewer's scope, as a page).

    Parameters
    ----------
    session : an open session; nothing is written (the caller records the download).
    viewer : who asks; a teacher gets only students of their classes.
    student_id : the student's database id (untrusted).
    today : the date printed as the preparation date (default: today).
    """
    p = student_profile(session=session, viewer=viewer, student_id=student_id, explain=False)
    interventions = open_interventions(session, StudentInScope(p.student_id, p.class_id))
    title = f"Student profile: {p.name or 'Unnamed student'}"
    content = _build(_student_story(p, interventions, today or dt.date.today()), title)
    return PdfDocument(content, f"student-{p.student_id}-{(today or dt.date.today()).isoformat()}.pdf",
                       str(p.student_id))


# --------------------------------------------------------------------------- the school (or class) report


def _kpi_rows(k: KpiSummary) -> list[list[str]]:
    mean = "–" if k.mean_score is None else f"{k.mean_score:.1f}"
    median = "–" if k.median_score is None else f"{k.median_score:.1f}"
    risk = share_words(k.at_risk_share) if k.at_risk_share is not None else (k.risk_note or "not scored yet")
    return [["Measure", "Value"], ["Students", f"{k.n_students:,}"], ["Mean score (median)", f"{mean} ({median})"],
            [f"Pass rate (latest score at least {k.pass_threshold:g})", share_words(k.pass_rate)],
            ["Mean attendance", share_words(k.mean_attendance)],
            [f"Chronically absent (attendance below {k.chronic_below * 100:g} %)", share_words(k.chronic_share)],
            [f"Model tier {HIGH}", risk]]


def _kpi_advice(k: KpiSummary) -> str:
    if k.chronic_share and k.chronic_share >= 0.1:
        return (f"Recommendation: {share_words(k.chronic_share)} of students are chronically absent; an attendance "
                "plan with families is the first lever.")
    if k.pass_rate is not None and k.pass_rate < 0.8:
        return "Recommendation: plan catch-up support for the students below the pass mark before the next term."
    return "Recommendation: keep the current monitoring; review the flagged students below at each staff meeting."


def _distribution(session: Session, viewer: Viewer, filters: Filters, st: dict[str, ParagraphStyle],
                  pass_mark: float) -> list[Any]:
    dist = score_distribution(session=session, viewer=viewer, filters=filters, bin_width=10.0)
    out: list[Any] = [Paragraph("Distribution of the latest scores", st["h2"])]
    if dist.empty:
        return out + [Paragraph("No student has a score yet.", st["body"])]
    labels = [f"{int(lo)}-{int(hi)}" for lo, hi in zip(dist.bins["lower"], dist.bins["upper"], strict=True)]
    below = int(dist.bins.loc[dist.bins["upper"] <= pass_mark, "count"].sum())
    out += [bar_chart(labels, [float(c) for c in dist.bins["count"]]),
            Paragraph(_esc(f"Figure 1. Students per band of 10 score points (n = {dist.n:,}). {dist.note}"), st["small"]),
            Paragraph(_esc(f"Recommendation: about {below:,} students score below {pass_mark:g}; give them a named "
                           "adult and a short catch-up plan."), st["rec"])]
    return out


def _study(session: Session, viewer: Viewer, filters: Filters, st: dict[str, ParagraphStyle]) -> list[Any]:
    effect = study_hours_effect(session=session, viewer=viewer, filters=filters)
    out: list[Any] = [Paragraph("Study hours and scores", st["h2"])]
    if effect.empty:
        return out + [Paragraph("Too little data on study hours.", st["body"])]
    bands = effect.bands.fillna(0)
    out += [bar_chart([f"{b} h ({int(n):,})" for b, n in zip(bands["band"], bands["n"], strict=True)],
                      [float(v) for v in bands["median"]], value_max=100.0),
            Paragraph(_esc(f"Figure 2. Median latest score per band of weekly study hours (students in brackets). "
                           f"{effect.headline} {effect.caption}"), st["small"]),
            Paragraph("Recommendation: help students who study little build a regular weekly study routine (homework "
                      "club, planner); this is an association, not proof of cause.", st["rec"])]
    return out


def _sports(session: Session, viewer: Viewer, filters: Filters, st: dict[str, ParagraphStyle]) -> list[Any]:
    effect = sports_effect(session=session, viewer=viewer, filters=filters)
    out: list[Any] = [Paragraph("Sports participation and scores", st["h2"])]
    if effect.empty:
        return out + [Paragraph("No student has a sports participation level.", st["body"])]
    scores = effect.boxes[effect.boxes["metric"] == M.SCORE].fillna(0)
    out += [bar_chart([f"{lv} ({int(n):,})" for lv, n in zip(scores["level"], scores["n"], strict=True)],
                      [float(v) for v in scores["mean"]], value_max=100.0, height=45 * mm),
            Paragraph(_esc(f"Figure 3. Mean latest score per level of sports participation (students in brackets). "
                           f"{effect.headline} {effect.caption}"), st["small"]),
            Paragraph("Recommendation: keep sports open to every student, and do not cut it to make time for study; "
                      "the link is an association, not proof of cause.", st["rec"])]
    return out


def _segments(result: Segments, st: dict[str, ParagraphStyle]) -> list[Any]:
    out: list[Any] = [Paragraph("Students by early-warning indicators", st["h2"])]
    if result.empty:
        return out + [Paragraph("No student matches.", st["body"])]
    rows = [["Indicators", "Students", f"Pass rate (at least {result.pass_mark:g})", "Mean score"]]
    rows += [[s.words, f"{s.n:,}" + ("" if s.comparable else " (small)"), share_words(s.pass_rate),
              "–" if s.mean_score is None else f"{s.mean_score:.1f}"] for s in result.items]
    flagged = [s for s in result.items if s.keys and s.comparable and s.pass_rate is not None]
    first = min(flagged, key=lambda s: (s.pass_rate, -s.n), default=None)  # the lowest pass rate, then the largest
    advice = ("Recommendation: no group of 10 or more students has an indicator; keep monitoring." if first is None
              else f"Recommendation: start with the flagged group that passes least, {first.words.lower()} "
                   f"({first.n:,} students, {share_words(first.pass_rate)} passing), and review it each month.")
    out += [_table(rows, (80 * mm, 24 * mm, 40 * mm, 30 * mm)),
            Paragraph(_esc(f"Table 1. {result.note}"), st["small"]), Paragraph(_esc(advice), st["rec"])]
    return out


def _name(session: Session, column: Any, key: Any, value: int | None) -> str | None:
    """The name of a school or class the filters chose (None when none is chosen or it does not exist)."""
    return None if value is None else session.scalar(select(column).where(key == value))


def _scope_words(session: Session, viewer: Viewer, filters: Filters) -> str:
    school = _name(session, School.name, School.id, filters.school_id)
    klass = _name(session, SchoolClass.name, SchoolClass.id, filters.class_id)
    parts = [school or "", f"grade {filters.grade_level}" if filters.grade_level else "",
             f"class {klass}" if klass else "",
             f"study band {filters.study_band} h" if filters.study_band else "",
             f"attendance at least {filters.min_attendance * 100:g} %" if filters.min_attendance is not None else "",
             f"from {filters.date_from}" if filters.date_from else "", f"to {filters.date_to}" if filters.date_to else ""]
    chosen = ", ".join(p for p in parts if p)
    return f"Students of {scope_phrase(viewer)}" + (f" ({chosen})" if chosen else "")


def school_report_pdf(*, session: Session, viewer: Viewer, filters: Filters | None = None, pass_threshold: float = 60.0,
                      today: dt.date | None = None) -> PdfDocument:
    """A school (or class) report of the filtered scope: KPIs, the distribution, the study and sports effects and the
    segments, each chart with its caption and a short recommendation.

    Parameters
    ----------
    session : an open session; nothing is written (the caller records the download).
    viewer : whose scope to report on (a teacher: their classes only).
    filters : the overview's filters (school, grade, class, dates, study band, attendance).
    pass_threshold : a latest score at or above this passes (``Settings.pass_threshold``).
    today : the date printed on the report (default: today).
    """
    filters, today = filters or Filters(), today or dt.date.today()
    st = _styles()
    kpis = kpi_summary(session=session, viewer=viewer, filters=filters, pass_threshold=pass_threshold)
    story: list[Any] = [Paragraph("School report", st["title"]),
                        Paragraph(_esc(f"{_scope_words(session, viewer, filters)} · prepared {today:%d %b %Y}"), st["small"]),
                        Paragraph("Key figures", st["h2"]), _table(_kpi_rows(kpis), (110 * mm, 60 * mm)),
                        Spacer(1, 3), Paragraph(_esc(_kpi_advice(kpis)), st["rec"])]
    sections = [_distribution(session, viewer, filters, st, pass_threshold), _study(session, viewer, filters, st),
                _sports(session, viewer, filters, st),
                _segments(segments(session=session, viewer=viewer, filters=filters, pass_threshold=pass_threshold), st)]
    story += [KeepTogether(section) for section in sections]  # a heading never apart from its chart
    story.append(Paragraph(_esc("Every figure is an association in this school's own data, not proof of cause; "
                                "groups of fewer than 10 students are too small to compare."), st["small"]))
    return PdfDocument(_build(story, "School report"), f"school-report-{today.isoformat()}.pdf", "school report")
