"""Component ids of the analytics pages: constants, so callbacks, layouts and browser tests agree."""

from __future__ import annotations

# --------------------------------------------------------------------------- filter bar (shared by the pages)
FILTER_BAR = "filter-bar"
FILTER_URL = "filter-url"  # dcc.Location(refresh=False): the filters live in its ``search``
FILTER_QUERY = "filter-query"  # dcc.Store: the validated, canonical query string the charts read
FILTER_SCHOOL = "filter-school"
FILTER_GRADE = "filter-grade"
FILTER_CLASS = "filter-class"
FILTER_DATES = "filter-dates"
FILTER_STUDY = "filter-study"
FILTER_ATTENDANCE = "filter-attendance"
FILTER_RESET = "filter-reset"
FILTER_NOTES = "filter-notes"

# --------------------------------------------------------------------------- overview page
OVERVIEW_PAGE = "overview-page"
OVERVIEW_KPIS = "overview-kpis"
OVERVIEW_DISTRIBUTION = "overview-distribution"
OVERVIEW_DISTRIBUTION_GRAPH = "overview-distribution-graph"
OVERVIEW_TRENDS = "overview-trends"
OVERVIEW_TRENDS_GRAPH = "overview-trends-graph"

# --------------------------------------------------------------------------- study-hours page
STUDY_PAGE = "study-page"
STUDY_SCATTER = "study-scatter"
STUDY_SCATTER_GRAPH = "study-scatter-graph"
STUDY_BANDS = "study-bands"
STUDY_BANDS_GRAPH = "study-bands-graph"
STUDY_STATS = "study-stats"

# --------------------------------------------------------------------------- sports page
SPORTS_PAGE = "sports-page"
SPORTS_BOXES = "sports-boxes"
SPORTS_SCORE_GRAPH = "sports-score-graph"
SPORTS_ATTENDANCE_GRAPH = "sports-attendance-graph"
SPORTS_STATS = "sports-stats"

# --------------------------------------------------------------------------- shared pieces
EMPTY_STATE_CLASS = "empty-state"  # class of every empty state; its id is "<container>-empty"
KPI_CARD = "kpi-card"  # prefix: kpi-card-students, kpi-card-pass-rate, ...
