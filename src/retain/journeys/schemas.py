"""What the journeys API returns and accepts (Ninja schemas, so OpenAPI documents them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

Status = Literal["active", "paused", "archived"]


class JourneyOut(Schema):
    key: str
    name: str
    status: Status
    version: int | None = Field(description="the current version's number")
    applied_at: datetime | None = Field(description="when the current version was applied")
    applied_by: str
    source: str = Field(description="where the current version came from (a file's name)")
    created_at: datetime
    updated_at: datetime


class VersionOut(Schema):
    number: int
    applied_at: datetime
    applied_by: str
    source: str
    content_hash: str = Field(description="sha256 of the checked document as canonical JSON")
    current: bool


class JourneyDetailOut(JourneyOut):
    versions: list[VersionOut] = Field(description="newest first")


class VersionDocumentOut(Schema):
    key: str
    number: int
    current: bool
    applied_at: datetime
    applied_by: str
    source: str
    content_hash: str
    source_text: str = Field(description="the document as it was applied (YAML or JSON)")
    document: dict[str, Any] = Field(description="the checked document, every field given")


class ApplyOut(Schema):
    key: str
    outcome: Literal["created", "new version", "unchanged"]
    version: int = Field(description="the journey's current version after the apply")
    status: Status
    source: str


class StatusOut(Schema):
    key: str
    before: Status
    after: Status
    changed: bool


class IntervalOut(Schema):
    estimate: float | None = Field(description="null when a group is empty")
    low: float | None = Field(description="the 95 % interval's lower end")
    high: float | None = Field(description="the 95 % interval's upper end")


class GroupOut(Schema):
    enrolled: int
    converted: int
    conversion_rate: float | None
    revenue: float = Field(description="completed orders within the window after entering")
    revenue_per_customer: float | None


class ReportOut(Schema):
    journey: str
    name: str
    window_days: float = Field(description="the goal's window (30 days without a goal)")
    enrolled: int = Field(description="enrolments, treatment and holdout together")
    held_out: int = Field(description="enrolments in the holdout group")
    converted: int
    conversion_rate: float | None
    treatment: GroupOut
    holdout: GroupOut
    uplift: IntervalOut = Field(description="conversion rate, treatment minus holdout")
    revenue_uplift: IntervalOut = Field(description="revenue per customer's difference")
    incremental_revenue: IntervalOut = Field(description="revenue_uplift times the treated")
