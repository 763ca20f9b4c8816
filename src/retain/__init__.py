"""retain: know your customers, act in time, measure what worked."""

__version__ = "0.1.0"
