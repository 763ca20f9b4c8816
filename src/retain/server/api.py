"""The REST API (Django Ninja, OpenAPI at ``/api/v1/docs``); each domain adds its router."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from retain import __version__
from retain.accounts.api import require
from retain.accounts.api import router as auth_router
from retain.customers.api import router as customers_router
from retain.errors import RetainError
from retain.ingest.api import router as imports_router
from retain.journeys.api import router as journeys_router
from retain.problems import problem, problem_from
from retain.server.docs import OfflineSwagger, docs_asset
from retain.server.openapi import complete


class RetainAPI(NinjaAPI):
    """Ninja's API whose document also lists every refusal, every route's security and the
    tracking door (:mod:`retain.server.openapi`)."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return complete(super().get_openapi_schema(**kwargs))


api = RetainAPI(
    title="retain",
    version=__version__,
    urls_namespace="api-v1",
    docs=OfflineSwagger(),
    description="Customers, their scores and what is known of them. Send "
    "`Authorization: Bearer <API key>` (see `retain keys create`) or sign in.",
)
api.get("/docs/assets/{name}", auth=None, include_in_schema=False, url_name="docs-asset")(
    docs_asset
)


@api.exception_handler(RetainError)
def _retain_error(request: HttpRequest, error: RetainError) -> HttpResponse:
    return problem_from(error)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    return problem(422, "validation_error", "the request does not match the schema",
                   errors=error.errors)  # fmt: skip


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return problem(401, "permission_denied", "authentication required")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return problem(404, "not_found", str(error) or "no such resource")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return problem(error.status_code, "http_error", str(error))


api.add_router("/auth", auth_router)
api.add_router("/customers", customers_router, auth=require("read"))
api.add_router("/imports", imports_router)
api.add_router("/journeys", journeys_router, auth=require("read", "journeys"))
