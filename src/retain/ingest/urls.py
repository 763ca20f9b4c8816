"""The Segment-compatible tracking door, mounted at ``/v1/``."""

from __future__ import annotations

urlpatterns: list = []
