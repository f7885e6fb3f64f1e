"""The two Effects pages: study hours against scores, and sports participation against scores and attendance.

Aggregates are computed in SQL over :func:`services.queries.student_metrics`: the 2-D histogram,
quantiles and correlations (study hours), and for sports the frequency table of each measure per
participation level (counts per distinct value: an exact sufficient statistic for quantiles, means,
variances and rank sums). scipy turns them into p-values. The results are exact, not sampled.

Each effect carries a ``headline`` (one plain sentence, the effect size in words) and a ``caption``
(the same finding with its statistics). Groups of fewer than :data:`services.small_groups.MIN_COMPARE`
students are never compared: no test is run on them and the sentences say there are too few students.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import Float, Integer, Select, cast, func, select, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services.queries import Band, M, load_rules, student_metrics
from services.scope import Filters, Viewer
from services.small_groups import MIN_COMPARE, comparable, too_few

ASSOCIATION_NOTE = (
    "These are associations, not causes: students who differ in study habits or sports also differ in "
    "other ways (motivation, health, support at home) that this data does not measure."
)
SCORE_BIN = 5.0


# --------------------------------------------------------------------------- correlations


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient with its two-sided p-value and a 95 % confidence interval (Fisher z)."""

    method: str  # "pearson" or "spearman"
    r: float
    p_value: float
    ci_low: float
    ci_high: float
    n: int


def correlation(method: str, r: float, n: int, level: float = 0.95) -> Correlation:
    """p-value from the t distribution with n-2 df (as scipy), CI by Fisher's z.

    The z standard error is ``1/sqrt(n-3)`` for Pearson and Fieller's ``sqrt(1.06/(n-3))`` for Spearman.
    """
    r = max(-1.0, min(1.0, r))
    if n < 4:
        return Correlation(method, r, math.nan, math.nan, math.nan, n)
    if abs(r) == 1.0:
        p = 0.0
    else:
        t = r * math.sqrt((n - 2) / (1 - r * r))
        p = float(2 * stats.t.sf(abs(t), n - 2))
    se = math.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    z = math.atanh(min(max(r, -0.999999999999), 0.999999999999))
    crit = float(stats.norm.ppf(0.5 + level / 2))
    return Correlation(method, r, p, math.tanh(z - crit * se), math.tanh(z + crit * se), n)


def _quartiles(column) -> object:
    """``percentile_cont(ARRAY[0.25, 0.5, 0.75])``: the quartiles of ``column`` as a float array."""
    q = func.percentile_cont(type_coerce([0.25, 0.5, 0.75], ARRAY(Float))).within_group(column)
    return type_coerce(q, ARRAY(Float))


# --------------------------------------------------------------------------- study hours


@dataclass(frozen=True)
class StudyGrid:
    """Counts of students per (study hours, score) cell: a 2-D histogram computed in SQL."""

    cells: pd.DataFrame  # columns hours_lower, score_lower, count (non-empty cells only)
    hours_width: float
    hours_max: float  # the last hours bin also holds everything above it
    score_width: float
    n: int

    @property
    def empty(self) -> bool:
        """True when no student has both measures."""
        return self.n == 0


def study_hours_grid(*, session: Session, viewer: Viewer, filters: Filters, max_bins: int = 30) -> StudyGrid:
    """Weekly study hours (x) against latest score (y), binned in SQL so no student reaches the browser.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Whose scope to count.
    filters:
        The filter bar's values.
    max_bins:
        At most this many hour bins; the range stops at the 99th percentile of hours.
    """
    m = student_metrics(viewer, filters, load_rules(session)).cte("m")
    x, y = m.c[M.STUDY_HOURS], m.c[M.SCORE]
    present = (x.is_not(None), y.is_not(None))
    p99 = session.scalar(select(func.percentile_cont(0.99).within_group(x)).where(*present)) or 0.0
    width = max(0.5, math.ceil(float(p99) / max_bins * 2) / 2)
    n_x = max(1, math.ceil(float(p99) / width))
    n_y = round(100 / SCORE_BIN)
    bx = func.least(cast(func.floor(x / width), Integer), n_x - 1).label("bx")
    by = func.least(cast(func.floor(y / SCORE_BIN), Integer), n_y - 1).label("by")
    rows = session.execute(select(bx, by, func.count()).where(*present).group_by(bx, by)).all()
    cells = pd.DataFrame(rows, columns=["bx", "by", "count"])
    cells = pd.DataFrame(
        {
            "hours_lower": cells["bx"].astype("float64") * width,
            "score_lower": cells["by"].astype("float64") * SCORE_BIN,
            "count": cells["count"].astype("int64"),
        }
    )
    return StudyGrid(cells=cells, hours_width=width, hours_max=n_x * width, score_width=SCORE_BIN, n=int(cells["count"].sum()))


@dataclass(frozen=True)
class StudyEffect:
    """Median score per study band, correlations of hours with scores, and a caption from the numbers."""

    bands: pd.DataFrame  # columns band, n, q1, median, q3 (in rule order; empty bands kept with n=0)
    pearson: Correlation | None
    spearman: Correlation | None
    caption: str
    note: str = ASSOCIATION_NOTE
    headline: str = ""

    @property
    def empty(self) -> bool:
        """True when no student has both measures."""
        return self.pearson is None


def _distinct_ranks(m, column: str) -> Select:
    """Average rank of each distinct value of ``m.column`` (ties share the mean of their positions), as scipy.

    Ranking the distinct values (a few hundred) instead of every student avoids two window sorts.
    """
    v = m.c[column]
    t = func.count()
    return select(v.label("v"), (func.sum(t).over(order_by=v) - (t - 1) / 2.0).label("r")).group_by(v)


def _study_statement(metrics: Select, band: str) -> Select:
    """One statement over one materialized scan of the three columns: per-band quartiles (JSON) and both correlations."""
    m = metrics.subquery("m")
    x, y = m.c[M.STUDY_HOURS], m.c[M.SCORE]
    present = (x.is_not(None), y.is_not(None))
    both = select(x.label("x"), y.label("y"), m.c[band].label("band")).where(*present).cte("both").prefix_with("MATERIALIZED")
    per_band = (
        select(both.c.band, func.count().label("n"), _quartiles(both.c.y).label("q"))
        .where(both.c.band.is_not(None))
        .group_by(both.c.band)
        .subquery()
    )
    bands_json = select(func.json_agg(func.json_build_array(per_band.c.band, per_band.c.n, per_band.c.q))).scalar_subquery()
    rx, ry = _distinct_ranks(both, "x").subquery("rx"), _distinct_ranks(both, "y").subquery("ry")
    return (
        select(func.count(), func.corr(both.c.x, both.c.y), func.corr(rx.c.r, ry.c.r), bands_json)
        .select_from(both.join(rx, rx.c.v == both.c.x).join(ry, ry.c.v == both.c.y))
    )


def study_hours_effect(*, session: Session, viewer: Viewer, filters: Filters) -> StudyEffect:
    """Median latest score per study band, and Pearson and Spearman correlations of hours with score.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Whose scope to count.
    filters:
        The filter bar's values.
    """
    rules = load_rules(session)
    row = session.execute(_study_statement(student_metrics(viewer, filters, rules), M.STUDY_BAND)).one()
    by_band = {r[0]: r for r in (row[3] or [])}
    bands = pd.DataFrame(
        [_quantile_row(b.label, by_band.get(b.label)) for b in rules.study_bands],
        columns=["band", "n", "q1", "median", "q3"],
    )
    n = int(row[0])
    pearson = correlation("pearson", float(row[1]), n) if n >= 3 and row[1] is not None else None
    spearman = correlation("spearman", float(row[2]), n) if n >= 3 and row[2] is not None else None
    return StudyEffect(bands=bands, pearson=pearson, spearman=spearman, caption=study_caption(bands, rules.study_bands, spearman),
                       headline=study_headline(bands, rules.study_bands, spearman))


def _quantile_row(label: str, row) -> tuple:
    if row is None:
        return (label, 0, math.nan, math.nan, math.nan)
    q = row[2]
    return (label, int(row[1]), float(q[0]), float(q[1]), float(q[2]))


def band_words(band: Band, unit: str = "h") -> str:
    """``under 1 h``, ``1-3 h``, ``6 h or more``."""
    if band.lower is None and band.upper is not None:
        return f"under {band.upper:g} {unit}"
    if band.upper is None and band.lower is not None:
        return f"{band.lower:g} {unit} or more"
    return f"{band.lower:g}-{band.upper:g} {unit}"


def _strength(r: float) -> str:
    a = abs(r)
    return "very weakly" if a < 0.1 else "weakly" if a < 0.3 else "moderately" if a < 0.5 else "strongly"


def _band_gap(bands: pd.DataFrame, rules: tuple[Band, ...]) -> str | None:
    """The top band's median against the bottom band's, among bands of at least MIN_COMPARE students; None if < 2."""
    filled = [(b, row) for b, row in zip(rules, bands.itertuples(index=False), strict=True) if row.n >= MIN_COMPARE]
    if len(filled) < 2:
        return None
    (low, lrow), (high, hrow) = filled[0], filled[-1]
    diff = hrow.median - lrow.median
    return (
        f"Students studying {band_words(high)} a week score a median of {abs(diff):.1f} points "
        f"{'more' if diff >= 0 else 'less'} than those studying {band_words(low)} "
        f"({hrow.median:.1f} vs {lrow.median:.1f}; n = {hrow.n:,} and {lrow.n:,})."
    )


def _too_few_bands(bands: pd.DataFrame, rules: tuple[Band, ...]) -> str:
    sizes = {band_words(b): int(row.n) for b, row in zip(rules, bands.itertuples(index=False), strict=True) if row.n > 0}
    return too_few("study bands", sizes)


def study_caption(bands: pd.DataFrame, rules: tuple[Band, ...], spearman: Correlation | None) -> str:
    """Sentences from the numbers: the top study band's median score against the bottom band's, and Spearman's ρ."""
    if spearman is None:
        return "Too few students in different study bands to compare."
    gap = _band_gap(bands, rules) or _too_few_bands(bands, rules)
    if spearman.n < MIN_COMPARE:
        return gap
    direction = "rise" if spearman.r > 0 else "fall"
    return (
        f"{gap} Scores {_strength(spearman.r)} {direction} with study hours (Spearman ρ = {spearman.r:.2f}, "
        f"95 % CI {spearman.ci_low:.2f} to {spearman.ci_high:.2f})."
    )


def study_headline(bands: pd.DataFrame, rules: tuple[Band, ...], spearman: Correlation | None) -> str:
    """One plain sentence for a reader without statistics: the direction and strength of the link in words."""
    if spearman is None or spearman.n < MIN_COMPARE:
        n = 0 if spearman is None else spearman.n
        return f"Too few students ({n:,}) to say how scores go with study hours: at least {MIN_COMPARE} are needed."
    if math.isnan(spearman.ci_low) or spearman.ci_low <= 0 <= spearman.ci_high:
        link = f"Across these {spearman.n:,} students there is no clear link between study hours and scores."
    else:
        way = "higher" if spearman.r > 0 else "lower"
        link = f"Students who study more tend to score {way}: a {_strength(spearman.r).removesuffix('ly')} link."
    return f"{link} {_band_gap(bands, rules) or _too_few_bands(bands, rules)}"


# --------------------------------------------------------------------------- sports


@dataclass(frozen=True)
class GroupTest:
    """Participants against non-participants (Welch) and across all levels (ANOVA, Kruskal-Wallis)."""

    metric: str  # M.SCORE or M.ATTENDANCE
    n_participants: int
    n_none: int
    mean_participants: float
    mean_none: float
    welch_t: float
    welch_df: float
    welch_p: float
    cohens_d: float
    anova_f: float
    anova_p: float
    eta_squared: float
    kruskal_h: float
    kruskal_p: float
    epsilon_squared: float


@dataclass(frozen=True)
class SportsEffect:
    """Box-plot quantiles per participation level (per metric), the tests, and a caption."""

    boxes: pd.DataFrame  # columns metric, level, n, lower, q1, median, q3, upper, mean, var
    tests: dict[str, GroupTest]
    caption: str
    note: str = ASSOCIATION_NOTE
    headline: str = ""

    @property
    def empty(self) -> bool:
        """True when no student has a participation level."""
        return int(self.boxes["n"].sum()) == 0 if len(self.boxes) else True


METRICS = (M.SCORE, M.ATTENDANCE)


@dataclass(frozen=True)
class Frequencies:
    """Counts per (level, value): an exact sufficient statistic, as long as the distinct values."""

    level: np.ndarray  # object labels
    x: np.ndarray
    count: np.ndarray


def _frequency_tables(session: Session, metrics: Select) -> dict[str, Frequencies]:
    """The frequency table of each of :data:`METRICS` per participation level: one statement, one metrics scan."""
    m = metrics.subquery("m")
    level, cols = m.c[M.SPORTS_LEVEL], [m.c[metric] for metric in METRICS]
    sets = func.grouping_sets(*(tuple_(level, c) for c in cols))
    rows = session.execute(
        select(level, *cols, func.grouping(*cols), func.count()).where(level.is_not(None)).group_by(sets)
    ).all()
    out = {}
    for i, metric in enumerate(METRICS):
        flag = sum(1 << (len(cols) - 1 - j) for j in range(len(cols)) if j != i)  # GROUPING bits of the others
        mine = [(r[0], r[1 + i], r[-1]) for r in rows if r[-2] == flag and r[1 + i] is not None]
        labels, values, counts = zip(*mine, strict=True) if mine else ((), (), ())
        out[metric] = Frequencies(
            np.array(labels, dtype=object), np.array(values, dtype="float64"), np.array(counts, dtype="int64")
        )
    return out


def _box(values: np.ndarray) -> tuple[float, ...]:
    """Tukey box: whiskers at the last values within 1.5 IQR; quartiles interpolated as percentile_cont."""
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    iqr = q3 - q1
    lower = values[values >= q1 - 1.5 * iqr].min()
    upper = values[values <= q3 + 1.5 * iqr].max()
    var = float(values.var(ddof=1)) if len(values) > 1 else 0.0
    return float(lower), float(q1), float(med), float(q3), float(upper), float(values.mean()), var


def _level_stats(freq: Frequencies, metric: str, levels: tuple[str, ...]) -> pd.DataFrame:
    """Per level: n, Tukey box, mean and sample variance, from the frequency table."""
    out = []
    for name in levels:
        mask = freq.level == name
        n = int(freq.count[mask].sum())
        if n == 0:
            out.append((metric, name, 0, *([math.nan] * 7)))
            continue
        out.append((metric, name, n, *_box(np.repeat(freq.x[mask], freq.count[mask]))))
    return pd.DataFrame(out, columns=["metric", "level", "n", "lower", "q1", "median", "q3", "upper", "mean", "var"])


def _rank_sums(freq: Frequencies, levels: tuple[str, ...]) -> tuple[list[tuple[int, float]], float]:
    """Per level: n and the sum of average ranks (ties share their mean rank); and sum(t^3 - t) over ties."""
    uniq, inverse = np.unique(freq.x, return_inverse=True)
    t = np.bincount(inverse, weights=freq.count, minlength=len(uniq))
    avg_rank = np.cumsum(t) - (t - 1) / 2
    r = freq.count * avg_rank[inverse]
    sums = [(int(freq.count[freq.level == name].sum()), float(r[freq.level == name].sum())) for name in levels]
    return sums, float(np.sum(t**3 - t))


def pooled(groups: list[tuple[int, float, float]]) -> tuple[int, float, float]:
    """Combine (n, mean, sample variance) of groups into those of their union, exactly."""
    n = sum(g[0] for g in groups)
    if n == 0:
        return 0, math.nan, math.nan
    mean = sum(g[0] * g[1] for g in groups) / n
    ss = sum((g[0] - 1) * g[2] + g[0] * (g[1] - mean) ** 2 for g in groups)
    return n, mean, ss / (n - 1) if n > 1 else math.nan


def welch(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[float, float, float, float]:
    """Welch's t, its df, two-sided p and Cohen's d (pooled SD) from (n, mean, variance) of two groups."""
    (n1, m1, v1), (n2, m2, v2) = a, b
    if n1 < 2 or n2 < 2:
        return (math.nan,) * 4
    res = stats.ttest_ind_from_stats(m1, math.sqrt(v1), n1, m2, math.sqrt(v2), n2, equal_var=False)
    se2 = v1 / n1 + v2 / n2
    df = se2**2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1)) if se2 > 0 else math.nan
    sp = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    d = (m1 - m2) / sp if sp > 0 else math.nan
    return float(res.statistic), df, float(res.pvalue), d


def anova(groups: list[tuple[int, float, float]]) -> tuple[float, float, float]:
    """One-way ANOVA F, p and eta squared from (n, mean, variance) of each group."""
    groups = [g for g in groups if g[0] > 0]
    k, n = len(groups), sum(g[0] for g in groups)
    if k < 2 or n <= k:
        return math.nan, math.nan, math.nan
    grand = sum(g[0] * g[1] for g in groups) / n
    ssb = sum(g[0] * (g[1] - grand) ** 2 for g in groups)
    ssw = sum((g[0] - 1) * g[2] for g in groups)
    if ssw <= 0:
        return math.nan, math.nan, math.nan
    f = (ssb / (k - 1)) / (ssw / (n - k))
    return f, float(stats.f.sf(f, k - 1, n - k)), ssb / (ssb + ssw)


def kruskal(sums: list[tuple[int, float]], tie_sum: float) -> tuple[float, float, float]:
    """Kruskal-Wallis H (tie-corrected, as scipy), p and epsilon squared from rank sums per group."""
    sums = [s for s in sums if s[0] > 0]
    k, n = len(sums), sum(s[0] for s in sums)
    if k < 2 or n < 2:
        return math.nan, math.nan, math.nan
    h = 12.0 / (n * (n + 1)) * sum(r * r / c for c, r in sums) - 3 * (n + 1)
    correction = 1 - tie_sum / (n**3 - n)
    if correction <= 0:
        return math.nan, math.nan, math.nan
    h /= correction
    return h, float(stats.chi2.sf(h, k - 1)), h / (n - 1)


def _only(freq: Frequencies, levels: tuple[str, ...]) -> Frequencies:
    keep = np.isin(freq.level, levels)
    return Frequencies(freq.level[keep], freq.x[keep], freq.count[keep])


def _group_test(freq: Frequencies, metric: str, table: pd.DataFrame) -> GroupTest:
    """Welch when both sides have MIN_COMPARE students; ANOVA and Kruskal-Wallis across the levels that have."""
    groups = [(int(r.n), float(r.mean), float(r.var)) for r in table.itertuples(index=False)]
    none, part = groups[0], pooled([g for g in groups[1:] if g[0] > 0])
    t, df, p, d = welch(part, none) if comparable(part[0], none[0]) else (math.nan,) * 4
    big = table[table["n"] >= MIN_COMPARE]
    f, fp, eta2 = anova([g for g in groups if g[0] >= MIN_COMPARE])
    levels = tuple(big["level"])
    sums, tie_sum = _rank_sums(_only(freq, levels), levels)
    h, hp, eps2 = kruskal(sums, tie_sum)
    return GroupTest(metric, part[0], none[0], part[1], none[1], t, df, p, d, f, fp, eta2, h, hp, eps2)


def sports_effect(*, session: Session, viewer: Viewer, filters: Filters) -> SportsEffect:
    """Scores and attendance by sports participation level, with Welch, ANOVA and Kruskal-Wallis.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Whose scope to count.
    filters:
        The filter bar's values. Participants are every level but the first (``none``).
    """
    rules = load_rules(session)
    levels = tuple(b.label for b in rules.sports_levels)
    freqs = _frequency_tables(session, student_metrics(viewer, filters, rules))
    tables = {metric: _level_stats(freqs[metric], metric, levels) for metric in METRICS}
    boxes = pd.concat(list(tables.values()), ignore_index=True)
    if int(boxes["n"].sum()) == 0:
        return SportsEffect(boxes=boxes, tests={}, caption="No student has a sports participation level.")
    tests = {metric: _group_test(freqs[metric], metric, tables[metric]) for metric in METRICS}
    return SportsEffect(boxes=boxes, tests=tests, caption=sports_caption(tests), headline=sports_headline(tests))


def _p(p: float) -> str:
    if math.isnan(p):
        return "p not defined"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _size(d: float) -> str:
    a = abs(d)
    return "negligible" if a < 0.2 else "small" if a < 0.5 else "medium" if a < 0.8 else "large"


def _too_few_sports(t: GroupTest) -> str | None:
    if comparable(t.n_participants, t.n_none):
        return None
    return too_few("those who play sports with those who do not", {"play sports": t.n_participants, "do not": t.n_none})


def sports_caption(tests: dict[str, GroupTest]) -> str:
    """Sentences from the numbers: how participants differ from non-participants in score and attendance."""
    s, a = tests[M.SCORE], tests[M.ATTENDANCE]
    if (few := _too_few_sports(s)) is not None:
        return few
    diff = s.mean_participants - s.mean_none
    att = (a.mean_participants - a.mean_none) * 100
    levels = "" if math.isnan(s.eta_squared) else (
        f" Participation level explains {s.eta_squared * 100:.1f} % of the variance in scores (η², ANOVA {_p(s.anova_p)}).")
    return (
        f"Students who play sports score {abs(diff):.1f} points {'higher' if diff >= 0 else 'lower'} on average "
        f"than those who do not ({s.mean_participants:.1f} vs {s.mean_none:.1f}; Welch {_p(s.welch_p)}, "
        f"Cohen's d = {s.cohens_d:.2f}, a {_size(s.cohens_d)} difference), and attend "
        f"{abs(att):.1f} percentage points {'more' if att >= 0 else 'less'} ({_p(a.welch_p)}, d = {a.cohens_d:.2f}).{levels}"
    )


ADVERBS = {"small": "slightly", "medium": "noticeably", "large": "much"}


def _in_words(t: GroupTest, verb: str, more: str, less: str, same: str, gap: str) -> str:
    """``score slightly higher than those who do not (1.1 points on average: a small difference)``."""
    size = "negligible" if math.isnan(t.cohens_d) else _size(t.cohens_d)
    diff = t.mean_participants - t.mean_none
    chance = "; it could be chance" if math.isnan(t.welch_p) or t.welch_p >= 0.05 else ""
    how = same if size == "negligible" else f"{ADVERBS[size]} {more if diff >= 0 else less}"
    return f"{verb} {how} ({gap}: a {size} difference{chance})"


def sports_headline(tests: dict[str, GroupTest]) -> str:
    """One plain sentence for a reader without statistics: the differences and their sizes in words."""
    s, a = tests[M.SCORE], tests[M.ATTENDANCE]
    if (few := _too_few_sports(s)) is not None:
        return few
    diff, att = s.mean_participants - s.mean_none, (a.mean_participants - a.mean_none) * 100
    score = _in_words(s, "score", "higher than those who do not", "lower than those who do not",
                      "about the same as those who do not", f"{abs(diff):.1f} points {'higher' if diff >= 0 else 'lower'} on average")
    attend = _in_words(a, "attend", "more often", "less often", "about as often",
                       f"{abs(att):.1f} percentage points {'more' if att >= 0 else 'less'}")
    return f"Students who play sports {score}, and {attend}."

