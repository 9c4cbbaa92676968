"""Validators for the fast path of ``check_batch``: each event type's data checked as a
list in one pydantic-core call, and, for plain models, turned straight into the dicts
``model_dump`` would give without making a model per event (see ``validate``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter
from pydantic_core import SchemaValidator, core_schema


class DataAdapters:
    """For a data model: a list validator (each data a model, or left as it came), a list
    serialiser (each model as ``model_dump`` dumps it) and, for a plain model, a list
    validator straight to those dicts."""

    __slots__ = ("dicts", "dump", "models")

    def __init__(self, model: type[BaseModel]) -> None:
        each = Annotated[model | Any, Field(union_mode="left_to_right")]
        self.models = TypeAdapter(list[each])  # type: ignore[valid-type]
        self.dump = TypeAdapter(list[model])  # type: ignore[valid-type]
        self.dicts = _dicts_validator(model)


_data_adapters: dict[type[BaseModel], DataAdapters | None] = {}


def adapters_for(model: type[BaseModel]) -> DataAdapters | None:
    """None for a model that overrides ``model_validate`` or ``model_dump``: adapters would
    not call the override, so such a type's events take the exact path."""
    try:
        return _data_adapters[model]
    except KeyError:
        pass
    plain = (
        model.model_validate.__func__ is BaseModel.model_validate.__func__  # type: ignore[attr-defined]
        and model.model_dump is BaseModel.model_dump
    )
    adapters = _data_adapters[model] = DataAdapters(model) if plain else None
    return adapters


#: field types whose python-mode serialiser hands back the validated value as it is
_AS_IS = frozenset({"str", "int", "float", "bool", "literal"})
_MODEL_KEYS = frozenset(
    {"type", "cls", "config", "custom_init", "metadata", "ref", "root_model", "schema"}
)
_MODEL_FIELDS_KEYS = frozenset({"type", "fields", "model_name", "computed_fields"})


def _dicts_validator(model: type[BaseModel]) -> SchemaValidator | None:
    """A list validator giving, for each data, the dict ``model_dump`` would give: the
    model's own field schemas in a typed dict, so no model is made and none dumped.

    Only for a model with nothing between validation and that dict: fields of scalar
    types (or None, or with a default), no validators, serialisers, aliases, computed or
    extra fields. For anything else None: the models are made and dumped.
    """
    schema: Any = model.__pydantic_core_schema__
    fields_schema = schema.get("schema", {})
    config = schema.get("config", {})
    if (
        schema.get("type") != "model"
        or set(schema) - _MODEL_KEYS  # anything new in pydantic: not known to be plain
        or schema.get("root_model")
        or schema.get("custom_init")
        or schema.get("post_init")
        or fields_schema.get("type") != "model-fields"
        or set(fields_schema) - _MODEL_FIELDS_KEYS
        or fields_schema.get("computed_fields")
        or config.get("extra_fields_behavior") != "forbid"
    ):
        return None
    fields = {}
    for name, spec in fields_schema["fields"].items():
        if set(spec) - {"type", "schema", "metadata"} or not _as_is(spec["schema"]):
            return None
        required = spec["schema"]["type"] != "default"  # else missing → its default
        fields[name] = core_schema.typed_dict_field(spec["schema"], required=required)
    typed = core_schema.typed_dict_schema(fields, extra_behavior="forbid")
    return SchemaValidator(core_schema.list_schema(typed), config)  # type: ignore[arg-type]


def _as_is(schema: Any) -> bool:
    if "serialization" in schema or "ref" in schema:
        return False
    if schema["type"] == "default":
        plain = "default" in schema and schema.get("on_error", "raise") == "raise"
        return plain and _as_is(schema["schema"])
    if schema["type"] == "nullable":
        return _as_is(schema["schema"])
    return schema["type"] in _AS_IS
