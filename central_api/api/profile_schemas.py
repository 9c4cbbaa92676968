"""Response models of the profile routes (``routes_profiles``), so OpenAPI documents them,
and the query types they share with ``routes_funnel``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, Field

from central_api.domain.facts import Fact
from central_api.domain.journeys.journey_rules import FindingKind, Stage
from central_api.domain.scoring.rules import GradeLetter
from edge_sync.protocol.timefmt import Rfc3339Utc

from .schemas import Timestamp

#: PostgreSQL text cannot hold NUL: a query parameter pattern that refuses it (422, not 500)
PLAIN = r"^[^\x00]*$"


#: an RFC 3339 time with an offset (``Z`` or ``±hh:mm``), as UTC; naive times, numbers
#: and times outside year 1..9999 in UTC are refused
UtcTime = Rfc3339Utc

#: the profile row's fields shown by ``GET /profiles/{id}`` (and the export)
PROFILE_FIELDS = (
    "id", "status", "merged_into", "created_at", "updated_at", "attributes",
    "derived_attributes", "grade", "lifecycle_stage", "funnel_stage",
)  # fmt: skip
#: the derivation's cached values, shown only in the export
EXPORT_EXTRA_FIELDS = ("score_raw", "score_ref_sum", "score_ref_at", "rules_version")


class ProfileSummary(BaseModel):
    id: str = Field(examples=["p-3f9c0a7d51e2b8461a2b"])
    grade: GradeLetter | None = Field(description="fit grade; null without profiling consent")
    lifecycle_stage: str | None = Field(description="set by the rules' thresholds, e.g. mql")
    funnel_stage: Stage | None = Field(description="the furthest funnel stage reached")
    score: float = Field(description="behavioural score, decayed to now, rounded to 0.1")
    score_raw: int = Field(description="the sum of the ledger's points, without decay")
    updated_at: Timestamp


class Alias(BaseModel):
    kind: str = Field(examples=["customer_id", "email_sha256"])
    value: str
    created_at: Timestamp


class Consent(BaseModel):
    purpose: str = Field(examples=["profiling"])
    granted: bool
    at: Timestamp
    event_id: str = Field(description="the event that recorded the decision")


class StageOut(BaseModel):
    stage: Stage
    first_reached_at: Timestamp
    event_id: str = Field(description="the event that reached it")
    campaign_id: str | None = Field(description="the campaign credited with it")
    store_id: str | None


class Totals(BaseModel):
    total_raw: int
    total_decayed: float = Field(description="rounded to 0.1")
    by_group_raw: dict[str, int] = Field(description="every group the rules name, 0 if empty")
    by_group_decayed: dict[str, float] = Field(
        description="rounded to 0.1 so that they add up to total_decayed (largest remainder)"
    )


class ScoreNow(Totals):
    at: Timestamp
    rules_version: str = Field(description="the rules whose half-life decayed it")


class ProfileBase(BaseModel):
    id: str
    status: Literal["active", "merged"]
    merged_into: str | None = Field(description="the survivor, when status is merged")
    created_at: Timestamp
    updated_at: Timestamp
    attributes: dict[str, Any] = Field(
        description="explicit attributes (PATCH /profiles/{id}/attributes, CSV import)"
    )
    derived_attributes: dict[str, Any] | None = Field(
        description="attributes the rules derive from the profile's events; the grade is "
        "computed on both (explicit ones win); null until derived with consent"
    )
    grade: GradeLetter | None
    lifecycle_stage: str | None
    funnel_stage: Stage | None


class ProfileDetail(ProfileBase):
    aliases: list[Alias]
    consents: list[Consent] = Field(description="the latest decision per purpose")
    stages: list[StageOut] = Field(description="funnel stages reached, in funnel order")
    score: ScoreNow = Field(description="exact, from the ledger, as of now")


class LedgerLineOut(BaseModel):
    event_id: str
    rule_id: str
    rules_version: str
    group: str
    points: int
    occurred_at: Timestamp
    decayed: float = Field(
        description="this line's contribution to total_decayed at `at`, rounded to 0.1 so "
        "that each group's lines add up to its total (largest remainder)"
    )


class ScoreExplanation(BaseModel):
    profile_id: str
    at: Timestamp
    rules_version: str
    half_life_days: float
    lines: list[LedgerLineOut] = Field(
        description="lines with occurred_at <= at, in (occurred_at, event_id, rule_id) order"
    )
    later_lines: int = Field(description="lines left out because they occurred after `at`")
    totals: Totals = Field(
        description="total_raw is the sum of the lines' points; total_decayed the exact sum "
        "of their decayed values rounded to 0.1, and the shown lines and groups add up to "
        "it; likewise per group"
    )


class TouchpointOut(BaseModel):
    occurred_at: Timestamp
    channel: str = Field(examples=["kiosk", "email", "web"])
    task: str = Field(examples=["search", "browse", "pickup"])
    device_id: str | None
    store_id: str | None
    campaign_id: str | None
    event_id: str


class FindingOut(BaseModel):
    kind: FindingKind
    at: Timestamp
    event_id: str = Field(description="the event the finding is about")
    detail: dict[str, str | int | float | bool | None]


class JourneyOut(BaseModel):
    profile_id: str
    now: Timestamp = Field(description="friction windows are judged as of this time")
    touchpoints: list[TouchpointOut]
    stages: list[StageOut]
    current_stage: Stage | None
    friction: list[FindingOut]
    withheld: str | None = Field(
        description="why the journey is empty: the profile has no profiling consent; "
        "null when the journey is shown"
    )


class ExportProfile(ProfileBase):
    score_raw: float
    score_ref_sum: float
    score_ref_at: Timestamp | None
    rules_version: str | None


class LedgerRow(BaseModel):
    id: int
    event_id: str
    rule_id: str
    rules_version: str
    score_group: str
    points: float
    occurred_at: Timestamp


class SessionRow(BaseModel):
    device_id: str
    session_id: str
    event_id: str
    linked_at: Timestamp


class OrderRow(BaseModel):
    order_id: str
    event_id: str
    placed_at: Timestamp
    pickup_store_id: str | None


class CrossingRow(BaseModel):
    threshold_id: str
    event_id: str
    at: Timestamp
    score: float
    stage: str | None


class MergeRow(BaseModel):
    id: int
    survivor_id: str
    merged_id: str
    at: Timestamp
    reason: str
    undone_at: Timestamp | None


class FactOut(BaseModel):
    event_id: str
    type: str
    v: int
    occurred_at: Timestamp
    channel: str
    store_id: str | None
    device_id: str | None
    session_id: str | None
    campaign_id: str | None
    data: dict[str, Any]


class ProfileExport(BaseModel):
    exported_at: Timestamp
    profile: ExportProfile
    aliases: list[Alias]
    consents: list[Consent] = Field(description="every decision, oldest first")
    sessions: list[SessionRow] = Field(description="kiosk sessions linked to the profile")
    orders: list[OrderRow]
    ledger: list[LedgerRow]
    touchpoints: list[TouchpointOut]
    stages: list[StageOut]
    crossings: list[CrossingRow]
    merges: list[MergeRow]
    facts: list[FactOut] = Field(description="the events attached to the profile")


def fact_doc(fact: Fact) -> dict[str, Any]:
    return asdict(fact)
