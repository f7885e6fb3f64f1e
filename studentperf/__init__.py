"""studentperf: student-performance analytics and early-warning for schools (the command line)."""

from core import __version__

__all__ = ["__version__"]
