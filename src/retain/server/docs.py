"""The API docs page (Swagger UI) with every asset served by retain itself: no CDN.

Django Ninja ships Swagger UI's files in its package but links a CDN unless ``ninja`` is an
installed app *and* static files are served, which ``retain serve`` does not do. So the page
links ``/api/v1/docs/assets/<file>``, which :func:`docs_asset` answers from Ninja's package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import escape
from ninja.openapi.docs import DocsBase

ASSETS = Path(ninja.__file__).parent / "static" / "ninja"
#: The files the page may ask for, and their media types.
ASSET_TYPES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
    "favicon.png": "image/png",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}swagger-ui.css">
  <link rel="icon" href="{assets}favicon.svg" type="image/svg+xml">
</head>
<body data-csrf-token="{csrf_token}" data-api-csrf="true">
  <script type="application/json" id="swagger-settings">{settings}</script>
  <div id="swagger-ui"></div>
  <script src="{assets}swagger-ui-bundle.js"></script>
  <script src="{assets}swagger-ui-init.js"></script>
</body>
</html>
"""


class OfflineSwagger(DocsBase):
    """Swagger UI on local assets; its requests carry the CSRF token for session sign-in."""

    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        settings = {"layout": "BaseLayout", "deepLinking": True,
                    "url": self.get_openapi_url(api, kwargs)}  # fmt: skip
        asset = reverse(f"{api.urls_namespace}:docs-asset", kwargs={"name": "swagger-ui.css"})
        html = _PAGE.format(
            title=escape(api.title),
            assets=asset.removesuffix("swagger-ui.css"),
            csrf_token=escape(get_token(request)),
            # Inside <script>: no "</" may close the element early.
            settings=json.dumps(settings).replace("</", "<\\/"),
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")


def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    """One of Swagger UI's files from Ninja's package (a fixed list: no path is trusted)."""
    if name not in ASSET_TYPES:
        raise Http404(f"no docs asset {name!r}")
    response = FileResponse((ASSETS / name).open("rb"), content_type=ASSET_TYPES[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response
