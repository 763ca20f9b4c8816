"""The customers list as a CSV file: every customer the list's search and filters match,
streamed (a million rows in bounded memory), each text cell safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from retain.console.frame import page
from retain.csv_safety import neutralise_cell
from retain.customers.queries import EXPORT_COLUMNS, export_rows, matching_customers
from retain.customers.views.search import EXPORT_ROLES, BadParameter, read_parameters, refuse

#: Rows written per chunk sent.
CHUNK_ROWS = 500


@page(roles=EXPORT_ROLES)
def customer_export(request: HttpRequest) -> HttpResponse:
    try:
        wanted = read_parameters(request.GET)
    except BadParameter as error:
        return refuse(request, str(error))
    customers = matching_customers(wanted.query, **wanted.search_arguments())
    chunks = _csv_chunks(export_rows(customers))
    # Under ASGI Django would read a plain iterator whole before sending it; an async one is
    # read a chunk at a time (each read in the request's database thread).
    content = _read_in_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


def _csv_chunks(rows: Iterator[list]) -> Iterator[str]:
    """The file in pieces of :data:`CHUNK_ROWS` rows; the database connection is handed back
    at the end (the request's own clean-up ran when the view returned)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    try:
        writer.writerow(EXPORT_COLUMNS)
        while block := list(islice(rows, CHUNK_ROWS)):
            writer.writerows([neutralise_cell(cell) for cell in row] for row in block)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue()
    finally:
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()


async def _read_in_thread(chunks: Iterator[str]) -> AsyncIterator[str]:
    step = sync_to_async(next, thread_sensitive=True)
    while (chunk := await step(chunks, None)) is not None:
        yield chunk
