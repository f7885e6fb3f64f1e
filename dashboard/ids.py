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
FILTER_SCOPE = "filter-scope"  # whose data the page shows: "Your classes: 9A", "The district: Demo School"

# --------------------------------------------------------------------------- overview page
OVERVIEW_PAGE = "overview-page"
OVERVIEW_KPIS = "overview-kpis"
OVERVIEW_DISTRIBUTION = "overview-distribution"
OVERVIEW_DISTRIBUTION_GRAPH = "overview-distribution-graph"
OVERVIEW_TRENDS = "overview-trends"
OVERVIEW_TRENDS_GRAPH = "overview-trends-graph"
OVERVIEW_SEGMENTS = "overview-segments"  # students per combination of indicators, each a link to the filtered list
OVERVIEW_REPORT = "overview-report"  # the "Download report" link (a PDF of the current filters)

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

# --------------------------------------------------------------------------- at-risk list page
RISK_PAGE = "risk-page"
RISK_TIER = "risk-tier"  # the tier filter (All / High / Moderate / Low)
RISK_INDICATOR = "risk-indicator"  # the indicator filter (``ind=`` in the address: any, high-none, a key, a segment)
RISK_ROSE = "risk-rose"  # the "rose since last run" switch (``rose=1`` in the address)
RISK_TABLE = "risk-table"  # DataTable with server-side paging and sorting
RISK_TABLE_AREA = "risk-table-area"  # hidden when the empty state shows
RISK_STATUS = "risk-status"  # "Showing 1-25 of 200 students" and the tier counts
RISK_EMPTY = "risk-empty"  # holds the empty state (no model, or no student matches)
RISK_NAV = "risk-nav"  # dcc.Store: the profile address of a clicked row (a clientside callback opens it)
RISK_DOWNLOAD_BUTTON = "risk-download-button"
RISK_DOWNLOAD = "risk-download"  # dcc.Download of the CSV export

# --------------------------------------------------------------------------- student profile page
STUDENT_PAGE = "student-page"
STUDENT_ID = "student-id"  # dcc.Store: the id from the URL (parsed and scope-checked again on the server)
STUDENT_BODY = "student-body"  # everything about the student, filled by one callback
STUDENT_RISK = "student-risk"
STUDENT_REASONS = "student-reasons"
STUDENT_EXPLANATION_GRAPH = "student-explanation-graph"
STUDENT_HISTORY_GRAPH = "student-history-graph"
STUDENT_RISK_HISTORY = "student-risk-history"  # the risk in every scoring run, with its likely range
STUDENT_RISK_HISTORY_GRAPH = "student-risk-history-graph"
STUDENT_NOT_FOUND = "student-not-found"
STUDENT_INDICATORS = "student-indicators"  # the early-warning indicators with their values
STUDENT_PDF = "student-pdf"  # the "Download PDF" link
