"""REST routes for bulk imports (``/api/v1/imports``): thin, over the import services."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["imports"])
