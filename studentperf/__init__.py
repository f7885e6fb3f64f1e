"""studentperf: student-performance analytics and early-warning for schools."""

__version__ = "0.1.0"
