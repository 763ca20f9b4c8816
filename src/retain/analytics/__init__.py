"""Customer analytics as Ibis expressions: tables in, tables out, on any Ibis backend."""

from retain.analytics.rfm import rfm_summary

__all__ = ["rfm_summary"]
