"""Plain-text summaries of training and scoring results (printed by the CLI and the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.train import TrainResult

COLUMNS = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "brier")


def _f(value: Any, width: int = 8) -> str:
    return f"{value:>{width}.3f}" if isinstance(value, (int, float)) else f"{'-':>{width}}"


def metric_table(metrics: dict[str, Any]) -> list[str]:
    """One line per compared model: the headline test metrics."""
    lines = [f"{'':<22}" + "".join(f"{c:>10}" for c in COLUMNS)]
    for key, label in (("model", "model"), ("logreg", "logistic regression"), ("rule", "rule baseline")):
        if key in metrics:
            lines.append(f"{label:<22}" + "".join(_f(metrics[key].get(c), 10) for c in COLUMNS))
    return lines


def week_lines(metrics: dict[str, Any]) -> list[str]:
    """ROC AUC on the held-out rows at each snapshot week of the year, for each compared model."""
    weeks = list((metrics.get("model") or {}).get("by_week", {}))
    if not weeks:
        return []
    lines = [f"{'ROC AUC by week':<22}" + "".join(f"{'week ' + w:>10}" for w in weeks)]
    for key, label in (("model", "model"), ("logreg", "logistic regression"), ("rule", "rule baseline")):
        if key in metrics:
            by_week = metrics[key].get("by_week", {})
            lines.append(f"{label:<22}" + "".join(_f(by_week.get(w), 10) for w in weeks))
    return lines


def calibration_lines(report: dict[str, Any]) -> list[str]:
    """The reliability table: predicted probability against observed rate per bin, and the calibration error."""
    lines = [f"reliability (held out): expected calibration error {_f(report.get('ece'), 0)}",
             f"{'':<22}bin        n   predicted  observed"]
    for row in report.get("calibration", []):
        lines.append(f"{'':<22}{row['bin']:<9}{row['n']:>5}{row['mean_predicted']:>11.3f}{row['observed']:>10.3f}")
    return lines


def group_lines(report: dict[str, Any]) -> list[str]:
    """Per-group false-positive and false-negative rates with their largest gaps."""
    lines = []
    for name, table in report.get("groups", {}).items():
        lines.append(f"by {name}: FPR gap {_f(table['fpr_gap'], 5)}, FNR gap {_f(table['fnr_gap'], 5)}")
        for row in table["rows"]:
            lines.append(f"  {row['group']:<12} n={row['n']:<6} FPR {_f(row['fpr'], 5)}  FNR {_f(row['fnr'], 5)}")
    return lines


def class_sample_lines(m: dict) -> list[str]:
    """Which classes gave training rows: every class, or a sample of whole classes of big past years."""
    years = m.get("training_classes") or []
    if not years:
        return []
    if all(y["classes"] == y["classes_total"] for y in years):
        return [f"training rows from every class ({sum(y['students'] for y in years)} students)"]
    parts = [f"{y['school_year']} {y['classes']} of {y['classes_total']} classes ({y['students']} of "
             f"{y['students_total']} students)" for y in years]
    return [f"training rows from whole classes sampled by seed: {'; '.join(parts)}"]


def train_summary(result: TrainResult) -> str:
    """The training report: metrics beside the baselines, calibration, confusion, groups, verdict."""
    m = result.metrics
    cv = m.get("cv", {})
    model = m["model"]
    c = model["confusion"]
    holdout = m.get("holdout", {})
    calibration = m.get("calibration_method", {})
    registered = m.get("registered", {})
    lines = [
        f"model {result.version} ({result.model_type}), trained on school years "
        f"{', '.join(m.get('training_years', []))} at weeks {', '.join(str(w) for w in m.get('snapshot_weeks', []))} "
        f"(data up to {result.as_of}); at-risk rate {m['positive_rate']:.1%}",
        f"held out: {holdout.get('description', '?')} ({m['n_test']} rows of {holdout.get('students', '?')} students; "
        f"{m['n_train']} rows to fit)",
        f"cross-validated ROC AUC {cv.get('auc_mean', float('nan')):.3f} ± {cv.get('auc_std', float('nan')):.3f} "
        f"({cv.get('folds')} folds by student on {cv.get('rows')} rows); calibration {calibration.get('method', '?')} "
        f"(lower Brier); threshold {model['threshold']:.3f} (best F1 out-of-fold)",
        *class_sample_lines(m),
        *metric_table(m),
        *week_lines(m),
        f"confusion at threshold: TP {c['tp']}  FP {c['fp']}  FN {c['fn']}  TN {c['tn']}",
        *calibration_lines(model),
        *group_lines(model),
    ]
    if result.beats_rule:
        lines.append(f"OK: the model beats the rule baseline on ROC AUC ({model['roc_auc']:.3f} vs "
                     f"{m['rule']['roc_auc']:.3f}).")
    else:
        lines.append("!" * 72)
        lines.append(f"WARNING: THE MODEL DOES NOT BEAT THE RULE BASELINE (ROC AUC {_f(model['roc_auc'], 0)} vs "
                     f"{_f(m['rule']['roc_auc'], 0)}). Prefer the rule until it does.")
        lines.append("!" * 72)
    if registered:
        lines.append(f"registered model: refitted on every past year ({registered.get('rows')} rows), threshold "
                     f"{_f(registered.get('threshold'), 0)}, {registered.get('members')} bootstrap members for the "
                     "intervals")
    lines.append("active: yes" if result.activated else "active: no (use `studentperf models activate`)")
    return "\n".join(lines)
