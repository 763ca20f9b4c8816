"""The console's import form: the file, its kind, and how to read it, with the options
``retain import`` takes (:mod:`retain.file_options`), checked field by field in the reader's
language before the file is read."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from retain.errors import DataError
from retain.file_options import build_file_options
from retain.ingest.models import ImportKind
from retain.io import FileOptions

KINDS = ImportKind.choices
#: The file's column for each role, when it is not under the standard name.
COLUMN_LABELS = {
    "customer_id": _("Column of the customer id"),
    "order_id": _("Column of the order id"),
    "ordered_at": _("Column of the order's time"),
    "amount": _("Column of the order's value"),
    "status": _("Column of the order's status"),
}
DELIMITERS = [
    ("", _("found in the header line")),
    (",", _("comma ,")),
    (";", _("semicolon ;")),
    ("tab", _("tab")),
    ("|", _("vertical bar |")),
    ("space", _("space")),
]
DECIMALS = [(".", _("point .")), (",", _("comma ,"))]
THOUSANDS = [
    ("", _("none")),
    (",", _("comma ,")),
    (".", _("point .")),
    (" ", _("space")),
    ("'", _("apostrophe '")),
    ("_", _("underscore _")),
]
DATE_ORDERS = [
    ("", _("not said (ISO 8601 dates)")),
    ("day_first", _("day/month/year")),
    ("month_first", _("month/day/year")),
]


class ImportForm(forms.Form):
    """One file to check, then import; the reading options as the command line has them."""

    kind = forms.ChoiceField(label=_("What the file holds"), choices=KINDS)
    file = forms.FileField(
        label=_("File (CSV or Parquet)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet,.pq"}),
    )
    delimiter = forms.ChoiceField(label=_("Column separator"), choices=DELIMITERS, required=False)
    decimal = forms.ChoiceField(label=_("Decimal mark"), choices=DECIMALS, initial=".")
    thousands = forms.ChoiceField(
        label=_("Thousands separator in amounts"), choices=THOUSANDS, required=False
    )
    date_format = forms.CharField(
        label=_("Date format"), required=False, max_length=50,
        help_text=format_lazy(_("A pattern such as {example}, or epoch (seconds) or epoch-ms; "
                                "empty for ISO 8601 dates."), example="%d/%m/%Y"),
    )  # fmt: skip
    date_order = forms.ChoiceField(
        label=_("Dates like 05/03/2024 are"), choices=DATE_ORDERS, required=False
    )
    timezone = forms.CharField(
        label=_("The shop's time zone"), initial="UTC", max_length=64,
        help_text=_("For example Europe/Berlin: times without an offset are taken as its."),
    )  # fmt: skip
    allow_moves = forms.BooleanField(
        label=_("Let orders and complaints move to the customer id the file gives"),
        required=False,
        help_text=_("Only if they really changed hands: without it, such a file is refused "
                    "with their ids."),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for role, label in COLUMN_LABELS.items():
            self.fields[role] = forms.CharField(
                label=label, initial=role, max_length=200, required=False
            )
        self.order_fields(["kind", "file", *COLUMN_LABELS])

    def column_fields(self) -> list[forms.BoundField]:
        return [self[role] for role in COLUMN_LABELS]

    def format_fields(self) -> list[forms.BoundField]:
        names = ("delimiter", "decimal", "thousands", "date_format", "date_order", "timezone")
        return [self[name] for name in names]

    def clean_timezone(self) -> str:
        zone = self.cleaned_data["timezone"].strip()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(
                _("“%(zone)s” is not a time zone; use a name such as Europe/Berlin or UTC."),
                params={"zone": zone[:64]},
            ) from None
        return zone

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("thousands") and data.get("thousands") == data.get("decimal"):
            self.add_error("thousands", _("The thousands separator cannot be the decimal mark."))
        if data.get("date_format") and data.get("date_order"):
            self.add_error(
                "date_order", _("Give a date format or the order of day and month, not both.")
            )
        if not self.errors:
            try:
                data["options"] = self._options(data)
            except DataError as error:  # the reader refused what passed the fields' checks
                self.add_error(None, error.message)
        return data

    @staticmethod
    def _options(data: dict[str, Any]) -> FileOptions:
        given = {role: (data.get(role) or role).strip() for role in COLUMN_LABELS}
        delimiter = data.get("delimiter") or None
        given.update(
            delimiter={"tab": "\t", "space": " "}.get(delimiter or "", delimiter),
            decimal=data.get("decimal") or ".",
            thousands=data.get("thousands") or None,
            date_format=data.get("date_format") or None,
            day_first=True if data.get("date_order") == "day_first" else None,
            month_first=data.get("date_order") == "month_first",
            timezone=data.get("timezone") or "UTC",
        )
        return build_file_options(given, spell=str)
