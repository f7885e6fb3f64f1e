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


def calibration_lines(report: dict[str, Any]) -> list[str]:
    """The calibration table: predicted probability against observed rate per bin."""
    lines = ["calibration (test):   bin        n   predicted  observed"]
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


def train_summary(result: TrainResult) -> str:
    """The training report: metrics beside the baselines, calibration, confusion, groups, verdict."""
    m = result.metrics
    cv = m.get("cv", {})
    model = m["model"]
    c = model["confusion"]
    lines = [
        f"model {result.version} ({result.model_type}), features as of {result.as_of}, "
        f"{m['n_train']} train / {m['n_test']} test students, at-risk rate {m['positive_rate']:.1%}",
        f"cross-validated ROC AUC {cv.get('auc_mean', float('nan')):.3f} ± {cv.get('auc_std', float('nan')):.3f} "
        f"({cv.get('folds')} folds on {cv.get('rows')} rows); threshold {model['threshold']:.3f} (best F1 out-of-fold)",
        *metric_table(m),
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
    lines.append("active: yes" if result.activated else "active: no (use `studentperf models activate`)")
    return "\n".join(lines)
