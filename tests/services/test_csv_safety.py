"""CSV cells a spreadsheet will not run as formulas: at the start of a cell and after a `;` or `,`."""

from __future__ import annotations

import csv
import io

import pytest

from services.csv_safety import is_dangerous, neutralise


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Eve;=1+1", "Eve;'=1+1"),
        ("Eve,=1+1", "Eve,'=1+1"),
        ("Eve; =1+1", "Eve; '=1+1"),
        ("a;+b,-c;@d", "a;'+b,'-c;'@d"),
        ("=a;+b", "'=a;'+b"),
    ],
)
def test_formulas_are_neutralised_at_the_start_and_after_separators(cell, safe):
    assert is_dangerous(cell)
    assert neutralise(cell) == safe


@pytest.mark.parametrize("cell", ["Ada", "Smith, Jr.", "x;y", "1,5", "a - b", "e-mail", "9A", ""])
def test_ordinary_text_is_unchanged(cell):
    assert not is_dangerous(cell) and neutralise(cell) == cell


@pytest.mark.parametrize("value", [-1, 0.5, None, True])
def test_non_text_is_unchanged(value):
    assert neutralise(value) is value


def test_no_part_of_a_neutralised_cell_starts_a_formula_when_split_on_semicolons():
    line = io.StringIO()
    csv.writer(line).writerow([neutralise("Eve;=1+1"), neutralise("-2")])
    for part in line.getvalue().strip().replace('"', "").replace(",", ";").split(";"):
        assert not part.startswith(("=", "+", "-", "@")), part
