"""`studentperf train`, `studentperf score`, `studentperf models list|activate`: the risk model."""

from __future__ import annotations

import datetime as dt

import typer

from studentperf.cli.common import call, fail, load_settings, open_database

models_app = typer.Typer(help="Registered risk models: list them, choose the active one.", no_args_is_help=True)


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date like 2026-02-09, not {value!r}.", code=2)


def _weeks(value: str) -> list[int]:
    try:
        weeks = sorted({int(w) for w in value.split(",") if w.strip()})
    except ValueError:
        weeks = []
    if not weeks or weeks[0] < 1:
        fail(f"--weeks must be week numbers of the school year like 6,12,20,28, not {value!r}.", code=2)
    return weeks


def train(
    weeks: str = typer.Option("6,12,20,28", "--weeks", help="Snapshot weeks of each past school year to learn from."),
    model: str = typer.Option("xgboost", "--model", help="xgboost, logreg or rf."),
    demographics: bool = typer.Option(False, "--demographics/--no-demographics", help="Use gender and age."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the split and the model."),
    activate: bool = typer.Option(True, "--activate/--no-activate", help="Make the new model the active one."),
) -> None:
    """Train a risk model on past school years, compare it with logistic regression and the rule baseline, register it."""
    from ml.train import train_and_register

    snapshot_weeks = _weeks(weeks)
    settings = load_settings()
    database = open_database(settings)
    result = call(train_and_register, database, settings, model, seed=seed, include_demographics=demographics,
                  activate=activate, weeks=snapshot_weeks)
    typer.echo(result.summary())


def score(
    as_of: str | None = typer.Option(None, "--as-of", help="Features' date (default: the latest data date)."),
    high: float | None = typer.Option(
        None, "--high", help="Set tiers by cut-offs instead of the interval: High at or above this probability."),
    low: float | None = typer.Option(
        None, "--low", help="Set tiers by cut-offs instead of the interval: Low below this probability."),
) -> None:
    """Score every current student with the active model (a new kept run): probability, interval, DEWS tier.

    By default a student is High when their whole interval lies at or above the model's threshold, Low when it
    lies below, Moderate when it straddles it; --high/--low set the tiers by cut-offs on the probability instead.
    """
    from ml.score import TierCutoffs, score_all

    settings = load_settings()
    database = open_database(settings)
    result = call(score_all, database, settings, _date(as_of), cutoffs=TierCutoffs(high=high, low=low))
    typer.echo(result.summary())


def score_after_ingest(database, settings, reports: list, *, err: bool = False) -> None:  # noqa: ANN001
    """After a load that changed data, score with the active model (``SCORE_AFTER_INGEST``, default on).

    The policy is :func:`services.uploads.score_after_loads`'s. No active model, or a model that cannot score
    this data, leaves the load as it is with a one-line note; ``err`` prints to stderr (when stdout carries JSON).
    """
    from services.uploads import score_after_loads

    outcome = score_after_loads(database, settings, reports)
    if outcome is None:
        return  # scoring off, nothing loaded, or nothing to score with yet
    if outcome.result is None:
        typer.echo(f"note: not scored after the load: {outcome.reason}", err=err)
        return
    typer.echo(outcome.result.summary(), err=err)


@models_app.command("list")
def list_models() -> None:
    """List registered models, newest first (* marks the active one)."""
    from ml.registry import list_models as registry_list

    settings = load_settings()
    database = open_database(settings)
    with database.begin() as session:
        infos = registry_list(session)
    if not infos:
        typer.echo("no models yet: run `studentperf train`")
        return
    for info in infos:
        model = info.metrics.get("model") or {}
        rule = info.metrics.get("rule") or {}
        auc, rule_auc = model.get("roc_auc"), rule.get("roc_auc")
        typer.echo(
            f"{'*' if info.is_active else ' '} {info.version}  {info.model_type:<8} as of {info.as_of}  "
            f"AUC {auc if auc is None else f'{auc:.3f}'} (rule {rule_auc if rule_auc is None else f'{rule_auc:.3f}'})"
            f"  data {info.data_hash[:8]}  code {info.code_version}"
        )


@models_app.command("activate")
def activate(version: str = typer.Argument(..., help="The version to make active.")) -> None:
    """Make VERSION the active model (refused if its features do not match the current code)."""
    from ml.registry import activate_version

    settings = load_settings()
    database = open_database(settings)

    def _activate() -> str:
        with database.begin() as session:
            return activate_version(session, version).version

    typer.echo(f"active model: {call(_activate)}")


def register(app: typer.Typer) -> None:
    """Attach `train`, `score` and the `models` group."""
    app.command("train")(train)
    app.command("score")(score)
    app.add_typer(models_app, name="models")
