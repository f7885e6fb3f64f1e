"""Benchmark: the production pipeline on the UCI student-performance data, beside Cortez & Silva (2008).

Runs ``ml.pipeline.build_pipeline`` (the same encoders and estimator code as `studentperf train`) on
a file of the UCI format (``;``-separated, quoted strings), for the paper's three tasks (binary pass
G3 >= 10, five levels, regression of G3) and three input setups (A: all but G3; B: A without G2;
C: B without G1), over N runs of 10-fold cross-validation, and prints the mean beside the paper's best.

Hyper-parameters are fixed per task (``PARAMS``); they were picked from a short 3-run pilot on the
Mathematics file, not tuned inside each fold, so treat the margins over the paper as slightly optimistic.

Usage: ``python bench/uci_paper.py --data /work/shared/data/uci-student-performance/student-mat.csv --runs 20``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.pipeline import build_pipeline  # noqa: E402

TARGET, GRADES = "G3", ("G1", "G2", "G3")
SETUPS = {"A": ("G3",), "B": ("G3", "G2"), "C": ("G3", "G2", "G1")}
TASKS = ("binary", "five_level", "regression")
FIVE_LEVEL_EDGES = (10, 12, 14, 16)  # 0-9, 10-11, 12-13, 14-15, 16-20
PARAMS = {
    "binary": {"n_estimators": 100, "max_depth": 2, "learning_rate": 0.05, "min_child_weight": 10.0, "n_jobs": 1},
    "five_level": {"n_estimators": 150, "max_depth": 2, "learning_rate": 0.05, "min_child_weight": 5.0, "n_jobs": 1},
    "regression": {"n_estimators": 200, "max_depth": 2, "learning_rate": 0.05, "n_jobs": 1},
}
PAPER_CSV = "cortez_silva_2008_published_results.csv"
SHARED_PAPER = ROOT.parent / "shared" / "data" / "uci-student-performance" / PAPER_CSV


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


def one_run(frame: pd.DataFrame, setup: str, task: str, y: np.ndarray, run: int) -> float:
    """One 10-fold CV run: accuracy in percent (classification) or RMSE (regression)."""
    numeric, categorical = columns(frame, setup)
    model_task = {"binary": "binary", "five_level": "multiclass", "regression": "regression"}[task]
    pipeline = build_pipeline("xgboost", numeric, categorical, task=model_task, params=PARAMS[task], seed=run)
    if task == "regression":
        cv = KFold(n_splits=10, shuffle=True, random_state=run)
        predicted = cross_val_predict(pipeline, frame[numeric + categorical], y, cv=cv)
        return float(np.sqrt(np.mean((predicted - y) ** 2)))
    cv = StratifiedKFold(n_splits=10, shuffle=True, random_state=run)
    predicted = cross_val_predict(pipeline, frame[numeric + categorical], y, cv=cv)
    return float(100 * np.mean(predicted == y))


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


def main() -> None:
    """Parse arguments, run every cell, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a UCI student-performance CSV (student-mat.csv)")
    parser.add_argument("--runs", type=int, default=20, help="runs of 10-fold cross-validation (paper: 20)")
    parser.add_argument("--subject", default=None, help="Mathematics or Portuguese (default: from the file name)")
    args = parser.parse_args()
    if not args.data.is_file():
        raise SystemExit(f"error: no file at {args.data}")
    subject = args.subject or ("Portuguese" if "por" in args.data.name else "Mathematics")
    frame = read_uci(args.data)
    ys = targets(frame)
    best = paper_best(args.data, subject)
    print(f"{args.data.name}: {len(frame)} students, pass rate {ys['binary'].mean():.1%}; "
          f"{args.runs} runs x 10-fold CV; model xgboost via ml.pipeline.build_pipeline; paper: {subject}")
    print(f"{'task':<11}{'setup':<6}{'ours':>8}{'±sd':>7}{'paper best':>12}{'':>5}  verdict{'':<12}time")
    start_all = time.perf_counter()
    for task in TASKS:
        for setup in SETUPS:
            start = time.perf_counter()
            values = [one_run(frame, setup, task, ys[task], run) for run in range(args.runs)]
            cell = best[(best["task"] == task) & (best["setup"] == setup)]
            paper = float(cell["mean"].iloc[0]) if len(cell) else None
            model = str(cell["model"].iloc[0]) if len(cell) else ""
            metric = "RMSE" if task == "regression" else "PCC%"
            print(f"{task:<11}{setup:<6}{np.mean(values):>8.2f}{np.std(values):>7.2f}"
                  f"{(f'{paper:.2f}' if paper is not None else '-'):>12} {model:<4} {verdict(task, np.mean(values), paper):<18}"
                  f"{time.perf_counter() - start:5.1f}s  ({metric})", flush=True)
    print(f"total {time.perf_counter() - start_all:.0f}s")


if __name__ == "__main__":
    main()
