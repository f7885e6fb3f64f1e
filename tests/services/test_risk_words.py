"""A risk in words: whole percentages with the likely range, never "0 %" or "100 %"."""

from __future__ import annotations

from services.at_risk import change_words, percent_words, risk_words


def test_risk_in_words_uses_whole_percentages_and_the_interval() -> None:
    assert risk_words(0.62, 0.481, 0.749) == "62 %, likely 48-75 %"
    assert risk_words(0.62) == "62 %"
    assert risk_words(0.62, 0.62, 0.62) == "62 %"


def test_risk_in_words_never_says_zero_or_a_hundred() -> None:
    assert percent_words(1.0) == "over 99 %" and percent_words(0.996) == "over 99 %"
    assert percent_words(0.0) == "under 1 %" and percent_words(0.004) == "under 1 %"
    assert percent_words(0.005) == "1 %" and percent_words(0.994) == "99 %"
    assert risk_words(0.999, 0.97, 1.0) == "over 99 %, likely over 97 %"
    assert risk_words(0.001, 0.0, 0.03) == "under 1 %, likely under 3 %"
    assert risk_words(0.0, 0.0, 0.002) == "under 1 %"
    assert risk_words(0.5, 0.0, 1.0) == "50 %, likely anywhere from under 1 % to over 99 %"
    for p in (0.0, 0.001, 0.5, 0.999, 1.0):
        words = risk_words(p, 0.0, 1.0)
        assert "100 %" not in words and " 0 %" not in words and not words.startswith("0 %")


def test_change_since_the_last_run_in_words() -> None:
    assert change_words(0.62, None, None, "Moderate") == "new"
    assert change_words(0.62, 0.30, "Moderate", "High") == "new"
    assert change_words(0.62, 0.55, "High", "High") == "▲ 7 pts"
    assert change_words(0.40, 0.55, "High", "Moderate") == "▼ 15 pts"
    assert change_words(0.551, 0.549, "Moderate", "Moderate") == "no change"
