"""MQTT topic names (docs/architecture.md, "Wire protocol").

Store and device ids are restricted to ``[a-z0-9_-]`` (see ``ids.IDENT_PATTERN``) so a
topic level can never contain ``/``, ``+`` or ``#``.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "omk/v1"
SHARE_GROUP = "central"

UP_KINDS = ("events", "status", "heartbeat", "cmd_result")


def up(store_id: str, device_id: str, kind: str) -> str:
    return f"{PREFIX}/up/{store_id}/{device_id}/{kind}"


def events(store_id: str, device_id: str) -> str:
    return up(store_id, device_id, "events")


def status(store_id: str, device_id: str) -> str:
    return up(store_id, device_id, "status")


def heartbeat(store_id: str, device_id: str) -> str:
    return up(store_id, device_id, "heartbeat")


def ack(store_id: str, device_id: str) -> str:
    return f"{PREFIX}/down/{store_id}/{device_id}/ack"


def device_down(store_id: str, device_id: str, kind: str) -> str:
    return f"{PREFIX}/down/{store_id}/{device_id}/{kind}"


def store_down(store_id: str, kind: str) -> str:
    return f"{PREFIX}/down/{store_id}/{kind}"


KEYS = f"{PREFIX}/down/all/keys"


def campaigns(store_id: str) -> str:
    """Retained: the campaigns running or scheduled in the store, as central last pushed."""
    return store_down(store_id, "campaigns")


def code_table(store_id: str, campaign_id: str) -> str:
    """Retained: one campaign's fallback-code table for the store (``tokens.code_table``).
    Campaign ids are ``[A-Za-z0-9._:-]``, so one is always exactly one topic level."""
    return store_down(store_id, f"codes/{campaign_id}")


def code_tables(store_id: str) -> str:
    """What a device subscribes to for its store's fallback-code tables."""
    return store_down(store_id, "codes/+")


def central_filters(kinds: tuple[str, ...] = ("events", "status", "heartbeat")) -> list[str]:
    """What central subscribes to (without the shared-subscription prefix)."""
    return [f"{PREFIX}/up/+/+/{kind}" for kind in kinds]


def shared(topic_filter: str, group: str = SHARE_GROUP) -> str:
    """MQTT 5 shared subscription: several ingest workers split the load."""
    return f"$share/{group}/{topic_filter}"


@dataclass(frozen=True, slots=True)
class UpTopic:
    store_id: str
    device_id: str
    kind: str


def parse_up(topic: str) -> UpTopic | None:
    """``omk/v1/up/{store}/{device}/{kind}`` → its parts; anything else → None."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != "omk" or parts[1] != "v1" or parts[2] != "up":
        return None
    store_id, device_id, kind = parts[3], parts[4], parts[5]
    if not store_id or not device_id or kind not in UP_KINDS:
        return None
    return UpTopic(store_id, device_id, kind)
