"""The ml commands: list, activate, score, with one-line errors and exit codes."""

from __future__ import annotations

from typer.testing import CliRunner

from studentperf.cli import app


def _env(settings) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "STUDENTPERF_HOME": str(settings.home), "LOG_LEVEL": "WARNING"}


def test_models_list_activate_and_score(scored, trained, ml_settings) -> None:
    runner = CliRunner()
    env = _env(ml_settings)
    listed = runner.invoke(app, ["models", "list"], env=env)
    assert listed.exit_code == 0 and f"* {trained.version}" in listed.output
    again = runner.invoke(app, ["models", "activate", trained.version], env=env)
    assert again.exit_code == 0 and trained.version in again.output
    same_date = scored.as_of.isoformat()  # rescoring at the fixture's date keeps the other tests' data
    scored_out = runner.invoke(app, ["score", "--as-of", same_date], env=env)
    assert scored_out.exit_code == 0 and f"scored {scored.n_scored} students as of {same_date}" in scored_out.output


def test_bad_input_is_one_line_not_a_traceback(scored, ml_settings) -> None:
    runner = CliRunner()
    env = _env(ml_settings)
    bad_date = runner.invoke(app, ["score", "--as-of", "someday"], env=env)
    assert bad_date.exit_code == 2 and "Traceback" not in bad_date.output
    unknown = runner.invoke(app, ["models", "activate", "no-such-version"], env=env)
    assert unknown.exit_code == 1 and "No model version" in unknown.output
    model = runner.invoke(app, ["train", "--model", "svm"], env=env)
    assert model.exit_code == 1 and "Unknown model type" in model.output
    weeks = runner.invoke(app, ["train", "--weeks", "six"], env=env)
    assert weeks.exit_code == 2 and "--weeks" in weeks.output and "Traceback" not in weeks.output
