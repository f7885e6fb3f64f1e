"""Minimum group sizes, one rule for every surface: too few students to compare, too few to show.

- :data:`MIN_COMPARE`: a group smaller than this is never compared with another (no difference, test
  or conclusion is worded from it); the services say there are too few students instead.
- :data:`MIN_AGGREGATE`: an aggregate over fewer students than this is withheld from a viewer who
  cannot open each of those students individually (small-cell suppression).

Where the second rule bites: every analytics service (overview, effects) aggregates only rows that
pass ``viewer.class_clause``, the same clause the profile checks, so a viewer always may open every
student behind those numbers; the rule never withholds anything there. It bites where an aggregate is
taken over students outside the viewer's scope, e.g. the model's per-group metrics (gender, grade)
computed over the whole test set: such a service passes ``in_scope=False``.
"""

from __future__ import annotations

from services.scope import Viewer

MIN_COMPARE = 10
MIN_AGGREGATE = 5


def comparable(*sizes: int) -> bool:
    """True when every group has at least :data:`MIN_COMPARE` students (and there are at least two groups)."""
    return len(sizes) >= 2 and all(n >= MIN_COMPARE for n in sizes)


def aggregate_shown(n: int, *, viewer: Viewer, in_scope: bool) -> bool:
    """Whether an aggregate over ``n`` students may be shown to ``viewer``.

    Parameters
    ----------
    n:
        How many students the aggregate is over.
    viewer:
        Who is asking; the district administrator may open every student, so nothing is withheld from them.
    in_scope:
        True when every one of the ``n`` students is in the viewer's own scope (then they could
        open each of them anyway and nothing is withheld).
    """
    return in_scope or viewer.sees_everything or n >= MIN_AGGREGATE


def too_few(what: str, sizes: dict[str, int]) -> str:
    """``Too few students to compare study bands: each needs at least 10 (here under 1 h: 1, 6 h or more: 2).``"""
    small = ", ".join(f"{name}: {n:,}" for name, n in sizes.items() if n < MIN_COMPARE)
    here = f" (here {small})" if small else ""
    return f"Too few students to compare {what}: each group needs at least {MIN_COMPARE}{here}."
