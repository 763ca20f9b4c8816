"""The analysis of an orders file as a scores table and a self-contained HTML report."""

from retain.report.analysis import SCORE_COLUMNS, STAGES, Analysis, analyze
from retain.report.html import render_report
from retain.report.output import write_outputs

__all__ = ["SCORE_COLUMNS", "STAGES", "Analysis", "analyze", "render_report", "write_outputs"]
