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

# --------------------------------------------------------------------------- workflow on the profile (issue 10)
WF_PANEL = "wf-panel"  # "Support and follow-up" on the profile
WF_REFRESH = "wf-refresh"  # dcc.Store: a counter bumped by every change, so the panel reloads
WF_STAR = "wf-star"  # the star toggle (the student joins "My students")
WF_TIMELINE = "wf-timeline"  # risk runs, interventions, notes and feedback by date
WF_TIMELINE_GRAPH = "wf-timeline-graph"
WF_INTERVENTIONS = "wf-interventions"
WF_NOTES = "wf-notes"
WF_FEEDBACK = "wf-feedback"  # the feedback given so far, and the form when the student is flagged
WF_INT_TYPE = "wf-int-type"
WF_INT_OWNER = "wf-int-owner"
WF_INT_START = "wf-int-start"
WF_INT_REVIEW = "wf-int-review"
WF_INT_STATUS = "wf-int-status"
WF_INT_OUTCOME = "wf-int-outcome"
WF_INT_ADD = "wf-int-add"
WF_INT_MESSAGE = "wf-int-message"
WF_EDIT_WHICH = "wf-edit-which"
WF_EDIT_STATUS = "wf-edit-status"
WF_EDIT_REVIEW = "wf-edit-review"
WF_EDIT_OUTCOME = "wf-edit-outcome"
WF_EDIT_SAVE = "wf-edit-save"
WF_EDIT_MESSAGE = "wf-edit-message"
WF_NOTE_KIND = "wf-note-kind"
WF_NOTE_DATE = "wf-note-date"
WF_NOTE_BODY = "wf-note-body"
WF_NOTE_OUTCOME = "wf-note-outcome"
WF_NOTE_ADD = "wf-note-add"
WF_NOTE_MESSAGE = "wf-note-message"
WF_FB_VERDICT = "wf-fb-verdict"
WF_FB_COMMENT = "wf-fb-comment"
WF_FB_SEND = "wf-fb-send"
WF_FB_MESSAGE = "wf-fb-message"
WF_FB_FORM = "wf-fb-form"  # hidden unless the student is flagged

# --------------------------------------------------------------------------- caseload, alerts, search (issue 10)
CASELOAD_PAGE = "caseload-page"
CASELOAD_LOAD = "caseload-load"  # dcc.Store whose first value loads the table
CASELOAD_BODY = "caseload-body"
ALERTS_PAGE = "alerts-page"
ALERTS_LOAD = "alerts-load"  # dcc.Store: a counter bumped when alerts are marked read
ALERTS_LIST = "alerts-list"  # a checklist of the alerts, each with a link to the student
ALERTS_MARK = "alerts-mark"  # "Mark selected read"
ALERTS_MARK_ALL = "alerts-mark-all"
ALERTS_MESSAGE = "alerts-message"
SEARCH_INPUT = "shell-search"  # the navigation's search box
SEARCH_RESULTS = "shell-search-results"
BELL = "shell-bell"  # the alerts link with its unread count
BELL_COUNT = "shell-bell-count"
WF_AREA = "wf-area"  # holds the panel; hidden when the student is not found
RISK_WORKFLOW = "risk-workflow"  # the at-risk list's intervention filter ("unsupported", "overdue", or all)
ALERTS_DIGEST = "alerts-digest"  # the weekly e-mail digest switch (per-user opt-out)
WF_NOTE_WHICH = "wf-note-which"  # the note to change (the viewer's own; any for an administrator)
WF_NOTE_NEW = "wf-note-new"
WF_NOTE_SAVE = "wf-note-save"
WF_NOTE_EDIT_MESSAGE = "wf-note-edit-message"
# --------------------------------------------------------------------------- admin: uploads page (every id "admin-...")
ADMIN_UPLOADS_PAGE = "admin-uploads-page"
ADMIN_UPLOAD = "admin-upload"  # dcc.Upload of one or more files
ADMIN_UPLOAD_MESSAGE = "admin-upload-message"
ADMIN_UPLOAD_LIMIT = "admin-upload-limit"  # hidden: the limit in bytes and its sentence, for assets/upload_limit.js
ADMIN_TICKET = "admin-ticket"  # dcc.Store: the random id of the upload saved on the server (nothing else)
ADMIN_MAPPING = "admin-mapping"  # the column-mapping form
ADMIN_MAP_BASE = "admin-map-base"  # a shipped profile or saved mapping to start from
ADMIN_MAP_SOURCE = "admin-map-source-"  # + target column: the file's column mapped to it
ADMIN_MAP_TRANSFORM = "admin-map-transform-"  # + target column: how its values are read
ADMIN_MAP_PREVIEW = "admin-map-preview"  # button
ADMIN_MAP_NAME = "admin-map-name"
ADMIN_MAP_SAVE = "admin-map-save"
ADMIN_MAP_SAVED = "admin-map-saved"
ADMIN_PREVIEW = "admin-preview"  # found columns, warnings, notes and the first rows as they would load
ADMIN_ACCEPT = "admin-accept"  # load even though the first rows look like another scale
ADMIN_LOAD = "admin-load"
ADMIN_PROGRESS = "admin-progress"
ADMIN_PROGRESS_TEXT = "admin-progress-text"
ADMIN_SCORED = "admin-scored"  # the report's sentence on what was scored after the load
ADMIN_RESULT = "admin-result"  # dcc.Store: the job's report
ADMIN_REPORT = "admin-report"
ADMIN_REJECTS_RUN = "admin-rejects-run"
ADMIN_REJECTS_BUTTON = "admin-rejects-button"
ADMIN_REJECTS_DOWNLOAD = "admin-rejects-download"
ADMIN_HISTORY = "admin-history"

# --------------------------------------------------------------------------- admin: model page (every id "admin-...")
ADMIN_MODEL_PAGE = "admin-model-page"
ADMIN_MODEL_BODY = "admin-model-body"  # metrics, calibration, groups, feedback and versions
ADMIN_MODEL_CALIBRATION_GRAPH = "admin-model-calibration-graph"
ADMIN_MODEL_VERSION = "admin-model-version"  # dropdown of versions to activate
ADMIN_MODEL_ACTIVATE = "admin-model-activate"
ADMIN_MODEL_CHANGED = "admin-model-changed"  # dcc.Store: the outcome of the last activation
ADMIN_MODEL_RETRAIN = "admin-model-retrain"
ADMIN_MODEL_TICKET = "admin-model-ticket"  # dcc.Store: the random id of the retrain request kept on the server
ADMIN_MODEL_PROGRESS = "admin-model-progress"
ADMIN_MODEL_PROGRESS_TEXT = "admin-model-progress-text"
ADMIN_MODEL_JOB = "admin-model-job"  # dcc.Store: the retrain job's sentence
ADMIN_MODEL_MESSAGE = "admin-model-message"
STUDENT_INDICATORS = "student-indicators"  # the early-warning indicators with their values
STUDENT_PDF = "student-pdf"  # the "Download PDF" link
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
