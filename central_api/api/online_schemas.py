"""OpenAPI schemas of the online event types, made from the models the validator uses.

``POST /api/v1/events`` takes its events as raw JSON (each is judged on its own, so one
bad event does not fail the request), which FastAPI would document as ``items: {}``.
Here each registered type gets an envelope schema: ``OnlineEvent``'s, with ``type`` and
``v`` fixed and ``data`` the type's own model; the list's items are one of them, told
apart by ``type``. Everything comes from ``edge_sync.protocol.online``, so the document
cannot drift from what is checked.
"""

from __future__ import annotations

import copy
from collections import Counter
from functools import cache
from typing import Any

from edge_sync.protocol.online import CENTRAL_ONLY_TYPES, ONLINE_REGISTRY, OnlineEvent

_REF = "#/components/schemas/{model}"

#: what ``OnlineEvent``'s model validator asks and JSON Schema can say: a customer named
_NAMES_A_CUSTOMER = [
    {"required": ["customer_id"], "properties": {"customer_id": {"type": "string"}}},
    {"required": ["email_sha256"], "properties": {"email_sha256": {"type": "string"}}},
]


def _envelope_name(type_name: str, version: int, repeated: bool) -> str:
    base = "".join(part.capitalize() for part in type_name.replace("_", ".").split("."))
    return f"{base}V{version}Event" if repeated else f"{base}Event"


@cache
def _build() -> tuple[dict[str, Any], dict[str, Any]]:
    envelope = OnlineEvent.model_json_schema(ref_template=_REF)
    components: dict[str, Any] = dict(envelope.pop("$defs", {}))
    # the types integrations may post (central records the others itself)
    posted = [t for t in ONLINE_REGISTRY if t.name not in CENTRAL_ONLY_TYPES]
    versions = Counter(t.name for t in posted)
    variants: list[dict[str, Any]] = []
    mapping: dict[str, str] = {}
    for et in posted:
        data = et.model.model_json_schema(ref_template=_REF)
        components.update(data.pop("$defs", {}))
        components[et.model.__name__] = data
        name = _envelope_name(et.name, et.version, versions[et.name] > 1)
        schema = copy.deepcopy(envelope)
        schema["title"] = name
        schema["description"] = f"`{et.name}` version {et.version}, in the online envelope"
        props = schema["properties"]
        props["type"] = {"type": "string", "const": et.name}
        props["v"] = {"type": "integer", "const": et.version}
        props["data"] = {"$ref": _REF.format(model=et.model.__name__)}
        schema["anyOf"] = _NAMES_A_CUSTOMER
        components[name] = schema
        ref = {"$ref": _REF.format(model=name)}
        variants.append(ref)
        mapping[et.name] = ref["$ref"]
    items: dict[str, Any] = {"oneOf": variants}
    if all(n == 1 for n in versions.values()):  # one schema per type name
        items["discriminator"] = {"propertyName": "type", "mapping": mapping}
    return items, components


def online_event_items() -> dict[str, Any]:
    """The schema of one event in ``POST /api/v1/events`` (refs into the components)."""
    return copy.deepcopy(_build()[0])


def online_event_components() -> dict[str, Any]:
    """The component schemas ``online_event_items`` refers to."""
    return copy.deepcopy(_build()[1])
