"""Effects services: statistics from SQL sufficient statistics equal scipy on the same rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from analytics_seed import teacher_of
from scipy import stats
from sqlalchemy import text

from services.effects import correlation, sports_effect, study_hours_effect, study_hours_grid
from services.queries import M, load_rules, student_metrics
from services.scope import Filters


@pytest.fixture()
def summary(ws) -> pd.DataFrame:
    """student_summary pulled in pandas."""
    result = ws.execute(text("SELECT * FROM student_summary"))
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def test_correlations_match_scipy(ws, admin, summary) -> None:
    e = study_hours_effect(session=ws, viewer=admin, filters=Filters())
    x, y = summary["study_hours_mean"].to_numpy(float), summary["latest_score"].to_numpy(float)
    p = stats.pearsonr(x, y)
    assert e.pearson.r == pytest.approx(p.statistic, rel=1e-9)
    assert e.pearson.p_value == pytest.approx(p.pvalue, rel=1e-6)
    ci = p.confidence_interval(0.95)
    assert (e.pearson.ci_low, e.pearson.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    s = stats.spearmanr(x, y)
    assert e.spearman.r == pytest.approx(s.statistic, rel=1e-9)
    assert e.spearman.p_value == pytest.approx(s.pvalue, rel=1e-6)
    assert e.spearman.ci_low < e.spearman.r < e.spearman.ci_high
    assert e.spearman.n == e.pearson.n == len(summary)


def test_bands_and_caption_come_from_the_numbers(ws, admin, summary) -> None:
    e = study_hours_effect(session=ws, viewer=admin, filters=Filters())
    want = summary.groupby("study_bin")["latest_score"]
    assert e.bands["band"].tolist() == ["0-1", "1-3", "3-6", "6+"]
    for row in e.bands.itertuples():
        assert row.n == want.size()[row.band]
        assert row.median == pytest.approx(want.median()[row.band])
        assert row.q1 == pytest.approx(want.quantile(0.25)[row.band])
    gap = want.median()["6+"] - want.median()["0-1"]
    assert f"{abs(gap):.1f} points" in e.caption and "6 h or more" in e.caption and "under 1 h" in e.caption
    assert "not causes" in e.note


def test_grid_counts_every_student_once(ws, admin, summary) -> None:
    g = study_hours_grid(session=ws, viewer=admin, filters=Filters())
    assert g.n == len(summary) and g.cells["count"].sum() == len(summary)
    x, y = summary["study_hours_mean"].to_numpy(float), summary["latest_score"].to_numpy(float)
    bx = np.minimum(np.floor(x / g.hours_width), g.hours_max / g.hours_width - 1) * g.hours_width
    by = np.minimum(np.floor(y / 5), 19) * 5
    want = pd.Series(1, index=pd.MultiIndex.from_arrays([bx, by])).groupby(level=[0, 1]).sum()
    got = g.cells.set_index(["hours_lower", "score_lower"])["count"].sort_index()
    assert got.to_dict() == want.to_dict()


def test_sports_tests_match_scipy(ws, admin, summary) -> None:
    e = sports_effect(session=ws, viewer=admin, filters=Filters())
    for metric, column in (("score", "latest_score"), ("attendance", "attendance_mean")):
        t = e.tests[metric]
        groups = [summary.loc[summary.sports_level == lvl, column].to_numpy(float) for lvl in ("none", "occasional", "regular")]
        part = np.concatenate(groups[1:])
        w = stats.ttest_ind(part, groups[0], equal_var=False)
        assert t.welch_t == pytest.approx(w.statistic, rel=1e-9) and t.welch_p == pytest.approx(w.pvalue, rel=1e-6)
        assert t.welch_df == pytest.approx(w.df, rel=1e-9)
        sp = np.sqrt(((len(part) - 1) * part.var(ddof=1) + (len(groups[0]) - 1) * groups[0].var(ddof=1)) / (len(part) + len(groups[0]) - 2))
        assert t.cohens_d == pytest.approx((part.mean() - groups[0].mean()) / sp, rel=1e-9)
        f = stats.f_oneway(*groups)
        assert t.anova_f == pytest.approx(f.statistic, rel=1e-9) and t.anova_p == pytest.approx(f.pvalue, rel=1e-6)
        allv = np.concatenate(groups)
        ssb = sum(len(g) * (g.mean() - allv.mean()) ** 2 for g in groups)
        assert t.eta_squared == pytest.approx(ssb / ((allv - allv.mean()) ** 2).sum(), rel=1e-9)
        k = stats.kruskal(*groups)
        assert t.kruskal_h == pytest.approx(k.statistic, rel=1e-9) and t.kruskal_p == pytest.approx(k.pvalue, rel=1e-6)
        box = e.boxes[e.boxes.metric == metric].set_index("level")
        for lvl, g in zip(("none", "occasional", "regular"), groups, strict=True):
            q1, med, q3 = np.percentile(g, [25, 50, 75])
            assert (box.loc[lvl, "q1"], box.loc[lvl, "median"], box.loc[lvl, "q3"]) == pytest.approx((q1, med, q3))
            assert box.loc[lvl, "lower"] == pytest.approx(g[g >= q1 - 1.5 * (q3 - q1)].min())
            assert box.loc[lvl, "upper"] == pytest.approx(g[g <= q3 + 1.5 * (q3 - q1)].max())
    assert "Welch" in e.caption and "Cohen's d" in e.caption


def test_effects_with_date_range_and_teacher_scope(ws, world, admin) -> None:
    lo, hi = world.weeks[0], world.weeks[3]
    f = Filters(date_from=lo, date_to=hi)
    ev = ws.execute(text(f"""
        SELECT h.student_id, avg(h.hours) x, (array_agg(s.score ORDER BY s.date DESC))[1] y
        FROM study_hours h JOIN scores s ON s.student_id = h.student_id AND s.date = h.date
        WHERE h.date BETWEEN '{lo}' AND '{hi}' GROUP BY h.student_id ORDER BY h.student_id""")).all()
    rows = ws.execute(student_metrics(admin, f, load_rules(ws)).order_by(M.STUDENT_ID)).mappings().all()
    x, y = np.array([r[M.STUDY_HOURS] for r in rows], float), np.array([r[M.SCORE] for r in rows], float)
    assert np.allclose(x, [r.x for r in ev]) and np.allclose(y, [r.y for r in ev])  # the range's own means
    e = study_hours_effect(session=ws, viewer=admin, filters=f)
    assert e.spearman.r == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-9)
    assert int(e.bands["n"].sum()) == len(ev)
    other = teacher_of(world.classes[("North School", "10A")])
    assert study_hours_effect(session=ws, viewer=other, filters=Filters(class_id=world.classes[("North School", "9A")])).empty
    assert sports_effect(session=ws, viewer=other, filters=Filters(class_id=world.classes[("North School", "9A")])).empty
    assert study_hours_grid(session=ws, viewer=other, filters=Filters(date_from=dt.date(2030, 1, 1))).empty
    mine = sports_effect(session=ws, viewer=other, filters=Filters())
    assert int(mine.boxes[mine.boxes.metric == "score"]["n"].sum()) == 30


def test_correlation_edge_cases() -> None:
    c = correlation("pearson", 1.0, 50)
    assert c.p_value == 0.0 and c.ci_high == pytest.approx(1.0)
    assert np.isnan(correlation("spearman", 0.3, 3).p_value)
