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

# --------------------------------------------------------------------------- admin: users page
ADMIN_USERS_PAGE = "admin-users-page"
ADMIN_USERS_TABLE = "admin-users-table"
ADMIN_USERS_CREATED = "admin-users-created"  # dcc.Store: bumped after a user is created (the table re-reads)
ADMIN_USERS_CHANGED = "admin-users-changed"  # dcc.Store: bumped after a user is changed
ADMIN_NEW_EMAIL = "admin-new-email"
ADMIN_NEW_NAME = "admin-new-name"
ADMIN_NEW_ROLE = "admin-new-role"
ADMIN_NEW_SCHOOLS = "admin-new-schools"
ADMIN_NEW_CLASSES = "admin-new-classes"
ADMIN_NEW_SUBMIT = "admin-new-submit"
ADMIN_NEW_RESULT = "admin-new-result"  # the one-time link of the new user, or why it was refused
ADMIN_EDIT_USER = "admin-edit-user"
ADMIN_EDIT_ROLE = "admin-edit-role"
ADMIN_EDIT_SCHOOLS = "admin-edit-schools"
ADMIN_EDIT_CLASSES = "admin-edit-classes"
ADMIN_EDIT_SAVE = "admin-edit-save"
ADMIN_EDIT_DEACTIVATE = "admin-edit-deactivate"
ADMIN_EDIT_REACTIVATE = "admin-edit-reactivate"
ADMIN_EDIT_UNLOCK = "admin-edit-unlock"
ADMIN_EDIT_RESET = "admin-edit-reset"
ADMIN_EDIT_RESULT = "admin-edit-result"

# --------------------------------------------------------------------------- admin: audit log page
ADMIN_AUDIT_PAGE = "admin-audit-page"
AUDIT_USER = "audit-user"  # part of the email of who did it
AUDIT_ACTION = "audit-action"
AUDIT_STUDENT = "audit-student"  # a student id
AUDIT_DATES = "audit-dates"  # DatePickerRange
AUDIT_TABLE = "audit-table"  # server-side paging
AUDIT_STATUS = "audit-status"
AUDIT_EXPORT_BUTTON = "audit-export-button"
AUDIT_DOWNLOAD = "audit-download"
