"""The bottom package: settings, the domain error hierarchy and logging, which every layer may import."""

__version__ = "0.1.0"
