"""Benchmark: the production pipeline on the UCI student-performance data, beside Cortez & Silva (2008).

Runs ``ml.pipeline.build_pipeline`` (the same encoders and estimator code as `studentperf train`) on a file of
the UCI format (``;``-separated, quoted strings), for the paper's three tasks (binary pass G3 >= 10, five
levels, regression of G3) and three input setups (A: all but G3; B: A without G2; C: B without G1), over N runs
of 10-fold cross-validation, and prints the mean beside the paper's best.

Nothing is chosen on the file: every outer training fold picks its own model by an inner 3-fold
cross-validation over a small, fixed list of candidates (nested cross-validation), refits it on the whole
outer training fold and predicts the outer test fold, which it never saw. The candidates are the method, fixed
in advance for every file and the same for every setup:

* XGBoost with monotone constraints where the direction is known (a better period grade ``G1``/``G2`` never
  lowers the final grade or the chance to pass; more past class ``failures`` never raise them), shallow
  (depth 2, at least 5 students a leaf);
* the same XGBoost averaged with a random forest (an ensemble of two different learners; for the binary task
  their probabilities are averaged, for the regression their grades); a random forest alone (regression);
* a grade model: the monotone XGBoost regression of the final grade ``G3``, read as pass/fail or as the level
  (classification tasks: it uses the order of the grades that a classifier throws away);
* the paper's naive rule (binary: the latest period grade passing), so a fold whose models cannot beat the
  rule in its own inner folds keeps the rule.

The counts of the candidates the folds chose are printed with each cell.

Usage: ``nice -n 10 python bench/uci_paper.py --data /work/shared/data/uci-student-performance/student-mat.csv``
(``--runs 20`` for the paper's protocol; the default 5 runs take about 10 minutes on one free core, ``--cells
binary:A`` runs one cell).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.pipeline import build_pipeline  # noqa: E402

TARGET, GRADES = "G3", ("G1", "G2", "G3")
SETUPS = {"A": ("G3",), "B": ("G3", "G2"), "C": ("G3", "G2", "G1")}
TASKS = ("binary", "five_level", "regression")
MODEL_TASK = {"binary": "binary", "five_level": "multiclass", "regression": "regression"}
FIVE_LEVEL_EDGES = (10, 12, 14, 16)  # 0-9, 10-11, 12-13, 14-15, 16-20
DIRECTION = {"G1": 1, "G2": 1, "failures": -1}
"""Known directions on the final grade (and on passing): the monotone constraints of the tree models."""
XGB = {"n_jobs": 1, "learning_rate": 0.05}
RF = {"n_estimators": 100, "min_samples_leaf": 3, "max_features": 0.5, "n_jobs": 1}
CANDIDATES: dict[str, dict[str, dict[str, Any]]] = {  # name -> {"xgb": params, "rf": params (ensemble member)}
    "xgb-d2": {"xgb": {"n_estimators": 150, "max_depth": 2, "min_child_weight": 5.0}},
    "xgb+rf": {"xgb": {"n_estimators": 150, "max_depth": 2, "min_child_weight": 5.0}, "rf": RF},
    "rf": {"rf": RF},
    "grade-model": {"xgb": {"n_estimators": 150, "max_depth": 2, "min_child_weight": 5.0}, "via": "regression"},
    "rule": {"rule": {}},
}
TASK_CANDIDATES = {
    "binary": ("xgb-d2", "xgb+rf", "grade-model", "rule"),
    "five_level": ("xgb-d2", "xgb+rf", "grade-model"),
    "regression": ("xgb-d2", "xgb+rf", "rf"),
}
INNER_FOLDS = 3
PAPER_CSV = "cortez_silva_2008_published_results.csv"
SHARED_PAPER = ROOT.parent / "shared" / "data" / "uci-student-performance" / PAPER_CSV


def grade_of(task: str, grade: np.ndarray) -> np.ndarray:
    """A predicted final grade as the task's target: pass (binary), the level (five levels) or itself."""
    if task == "binary":
        return (grade >= 10).astype(int)
    if task == "five_level":
        return np.digitize(grade, FIVE_LEVEL_EDGES)
    return grade


class Candidate:
    """One candidate model: XGBoost and/or a random forest (averaged), a grade model read as the task's target, or
    the paper's naive rule (the latest period grade, or the majority class without one)."""

    def __init__(self, name: str, task: str, numeric: list[str], categorical: list[str], seed: int) -> None:
        self.name, self.task = name, task
        spec = CANDIDATES[name]
        self.via = spec.get("via", task)
        model_task = MODEL_TASK[self.via]
        self.members = []
        if "xgb" in spec:
            params = {**XGB, **spec["xgb"]}
            if self.via != "five_level":
                params["monotone_constraints"] = tuple(DIRECTION.get(c, 0) for c in numeric)
            self.members.append(build_pipeline("xgboost", numeric, categorical, task=model_task, params=params,
                                               seed=seed))
        if "rf" in spec:
            self.members.append(build_pipeline("rf", numeric, categorical, task=model_task, params=spec["rf"],
                                               seed=seed))
        self.latest = next((g for g in ("G2", "G1") if g in numeric), None)

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> Candidate:
        """Fit every member (a grade model on the final grade ``G3``, passed as ``x.attrs['g3']``); returns self."""
        target = x.attrs["g3"] if self.via != self.task else y
        for member in self.members:
            member.fit(x, target)
        self.majority_ = Counter(y.tolist()).most_common(1)[0][0]
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """The average grade (regression), the class of the average probability, or the grade model's class."""
        if not self.members:  # the naive rule
            if self.latest is None:
                return np.full(len(x), self.majority_)
            return grade_of(self.task, x[self.latest].to_numpy(dtype=float))
        if self.via == "regression":
            return grade_of(self.task, np.mean([m.predict(x) for m in self.members], axis=0))
        proba = np.mean([m.predict_proba(x) for m in self.members], axis=0)
        return self.members[0].classes_[np.argmax(proba, axis=1)]


def score(task: str, y: np.ndarray, predicted: np.ndarray) -> float:
    """Accuracy in percent (classification) or RMSE (regression)."""
    if task == "regression":
        return float(np.sqrt(np.mean((predicted - y) ** 2)))
    return float(100 * np.mean(predicted == y))


def _splitter(task: str, folds: int, seed: int) -> KFold | StratifiedKFold:
    if task == "regression":
        return KFold(n_splits=folds, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def _cv_predict(make: Callable[[], Candidate], task: str, x: pd.DataFrame, y: np.ndarray, folds: int,
                seed: int) -> np.ndarray:
    predicted = np.zeros(len(y), dtype=float)
    for train, test in _splitter(task, folds, seed).split(x, y):
        predicted[test] = make().fit(_rows(x, train), y[train]).predict(x.iloc[test])
    return predicted


def _rows(x: pd.DataFrame, index: np.ndarray) -> pd.DataFrame:
    """Rows of ``x`` with their final grades kept beside them (``attrs['g3']``, for the grade models)."""
    part = x.iloc[index]
    part.attrs = {"g3": np.asarray(x.attrs["g3"])[index]}
    return part


def choose(task: str, x: pd.DataFrame, y: np.ndarray, numeric: list[str], categorical: list[str], seed: int) -> str:
    """The candidate with the best inner cross-validated score on these (outer training) rows only."""
    scores = {}
    for name in TASK_CANDIDATES[task]:
        predicted = _cv_predict(lambda n=name: Candidate(n, task, numeric, categorical, seed), task, x, y,
                                INNER_FOLDS, seed + 1)
        scores[name] = score(task, y, predicted)
    pick = min if task == "regression" else max
    return pick(scores, key=lambda k: scores[k])


def read_uci(path: Path) -> pd.DataFrame:
    """Read a UCI student-performance file (``;``-separated; G1/G2 quoted, G3 not) with grades numeric."""
    frame = pd.read_csv(path, sep=";", quotechar='"')
    missing = [c for c in GRADES if c not in frame.columns]
    if missing:
        raise SystemExit(f"error: {path} is not a UCI student-performance file (no {', '.join(missing)} column).")
    for column in GRADES:
        frame[column] = pd.to_numeric(frame[column], errors="raise")
    return frame


def targets(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The paper's three targets from G3."""
    g3 = frame[TARGET].to_numpy()
    return {"binary": (g3 >= 10).astype(int), "five_level": np.digitize(g3, FIVE_LEVEL_EDGES), "regression": g3}


def columns(frame: pd.DataFrame, setup: str) -> tuple[list[str], list[str]]:
    """Numeric and categorical input columns of ``setup``."""
    used = [c for c in frame.columns if c not in SETUPS[setup]]
    categorical = [c for c in used if not pd.api.types.is_numeric_dtype(frame[c])]
    return [c for c in used if c not in categorical], categorical


def one_run(frame: pd.DataFrame, setup: str, task: str, y: np.ndarray, run: int, chosen: Counter) -> float:
    """One run of 10-fold nested cross-validation: accuracy in percent (classification) or RMSE (regression)."""
    numeric, categorical = columns(frame, setup)
    x = frame[numeric + categorical].copy()
    x.attrs = {"g3": frame[TARGET].to_numpy(dtype=float)}
    predicted = np.zeros(len(y), dtype=float)
    for train, test in _splitter(task, 10, run).split(x, y):
        name = choose(task, _rows(x, train), y[train], numeric, categorical, run)
        chosen[name] += 1
        model = Candidate(name, task, numeric, categorical, run).fit(_rows(x, train), y[train])
        predicted[test] = model.predict(x.iloc[test])
    return score(task, y, predicted)


def paper_best(data_path: Path, subject: str) -> pd.DataFrame:
    """The paper's best result per task and setup (max accuracy, min RMSE) for ``subject``."""
    published = data_path.parent / PAPER_CSV
    if not published.is_file():
        published = SHARED_PAPER
    if not published.is_file():
        return pd.DataFrame(columns=["task", "setup", "model", "mean"])
    table = pd.read_csv(published)
    table = table[table["subject"] == subject]
    rows = []
    for (task, setup), group in table.groupby(["task", "setup"]):
        best = group.loc[group["mean"].idxmin() if task == "regression" else group["mean"].idxmax()]
        rows.append({"task": task, "setup": setup, "model": best["model"], "mean": float(best["mean"])})
    return pd.DataFrame(rows)


def verdict(task: str, ours: float, paper: float | None) -> str:
    """'beats', 'ties' or 'short by X' against the paper's best cell."""
    if paper is None or np.isnan(paper):
        return "-"
    gap = (paper - ours) if task == "regression" else (ours - paper)
    gap = round(gap, 2)
    if gap > 0:
        return f"better by {gap:.2f}"
    if gap == 0:
        return "ties"
    return f"SHORT by {-gap:.2f}"


def _cells(spec: str | None) -> list[tuple[str, str]]:
    every = [(task, setup) for task in TASKS for setup in SETUPS]
    if not spec:
        return every
    wanted = [tuple(c.split(":")) for c in spec.split(",")]
    unknown = [c for c in wanted if c not in every]
    if unknown:
        raise SystemExit(f"error: unknown cells {unknown}: use task:setup, e.g. binary:A,regression:C")
    return wanted  # type: ignore[return-value]


def main() -> None:
    """Parse arguments, run every cell, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a UCI student-performance CSV (student-mat.csv)")
    parser.add_argument("--runs", type=int, default=5, help="runs of 10-fold nested cross-validation (paper: 20)")
    parser.add_argument("--subject", default=None, help="Mathematics or Portuguese (default: from the file name)")
    parser.add_argument("--cells", default=None, help="only these cells, e.g. binary:A,regression:C")
    args = parser.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"error: no file at {args.data}")
    subject = args.subject or ("Portuguese" if "por" in args.data.name else "Mathematics")
    frame = read_uci(args.data)
    ys = targets(frame)
    best = paper_best(args.data, subject)
    print(f"{args.data.name}: {len(frame)} students, pass rate {ys['binary'].mean():.1%}; {args.runs} runs x 10-fold "
          f"CV, each training fold choosing its model by {INNER_FOLDS}-fold inner CV; "
          f"ml.pipeline.build_pipeline; paper: {subject}")
    print(f"{'task':<11}{'setup':<6}{'ours':>8}{'±sd':>7}{'paper best':>12}{'':>5}  verdict{'':<12}time    chosen")
    start_all = time.perf_counter()
    for task, setup in _cells(args.cells):
        start = time.perf_counter()
        chosen: Counter = Counter()
        values = [one_run(frame, setup, task, ys[task], run, chosen) for run in range(args.runs)]
        cell = best[(best["task"] == task) & (best["setup"] == setup)]
        paper = float(cell["mean"].iloc[0]) if len(cell) else None
        model = str(cell["model"].iloc[0]) if len(cell) else ""
        metric = "RMSE" if task == "regression" else "PCC%"
        picks = " ".join(f"{k} {v}" for k, v in chosen.most_common())
        print(f"{task:<11}{setup:<6}{np.mean(values):>8.2f}{np.std(values):>7.2f}"
              f"{(f'{paper:.2f}' if paper is not None else '-'):>12} {model:<4} {verdict(task, np.mean(values), paper):<18}"
              f"{time.perf_counter() - start:5.1f}s  ({metric}) {picks}", flush=True)
    print(f"total {time.perf_counter() - start_all:.0f}s")


if __name__ == "__main__":
    main()
