"""REST routes for customers (``/api/v1/customers``): thin, over queries and services."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["customers"])
