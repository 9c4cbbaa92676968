"""Settings both ends share: the broker address and typed TOML config files.

Config files are loaded into pydantic models that reject unknown keys; a bad file
produces a ``ConfigError`` whose lines name the key path and the problem, e.g.
``sync.batch_max_events: Input should be greater than 0``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(Exception):
    """A config file or setting that cannot be used. ``problems`` are ``(key path, message)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {msg}" for path, msg in problems)
        super().__init__(f"{source}: invalid configuration\n{lines}")


@dataclass(frozen=True, slots=True)
class BrokerURL:
    """``mqtt://user:pass@host:1883`` or ``mqtts://…`` (TLS, default port 8883)."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerURL:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as err:
            raise ValueError(f"not a broker URL ({err})") from None
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"scheme must be mqtt:// or mqtts://, got {parts.scheme or 'none'!r}")
        if not parts.hostname:
            raise ValueError("broker URL has no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(
                "broker URL must be scheme://[user[:password]@]host[:port] with nothing after"
            )
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BrokerSettings(StrictModel):
    """``[broker]`` in both the device and the central config."""

    url: str = "mqtt://127.0.0.1:1883"
    protocol: Literal["5", "3.1.1"] = "5"
    #: CA bundle for mqtts:// (system CAs when empty)
    ca_file: str | None = None
    #: file holding the password (keeps secrets out of the config file)
    password_file: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        BrokerURL.parse(v)
        return v

    def broker_url(self) -> BrokerURL:
        url = BrokerURL.parse(self.url)
        if self.password_file:
            password = Path(self.password_file).read_text().strip()
            url = BrokerURL(url.host, url.port, url.tls, url.username, password)
        return url


M = TypeVar("M", bound=BaseModel)


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors(include_url=False):
        path = ".".join(str(p) for p in e["loc"]) or "(root)"
        msg = "unknown key (not allowed here)" if e["type"] == "extra_forbidden" else e["msg"]
        out.append((path, msg))
    return out


def validate_config(model: type[M], doc: dict[str, Any], source: str) -> M:
    try:
        return model.model_validate(doc)
    except ValidationError as err:
        raise ConfigError(source, _problems(err)) from None


def read_toml(path: str | Path, allow_empty: bool = True) -> dict[str, Any]:
    """A TOML file as a dict. ``allow_empty=False``: a file with no keys is an error (a
    checker must not call a blank or truncated file valid)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(p), [("(file)", "no such file")]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(p), [("(syntax)", str(err))]) from None
    if not doc and not allow_empty:
        raise ConfigError(
            str(p),
            [
                (
                    "(file)",
                    "the file is empty: no sections or keys to tell a device config from a central one, and nothing to check",
                )
            ],
        )
    return doc


def _sections(names: list[str]) -> str:
    return ", ".join(f"[{n}]" for n in names)


def guess_config_kind(
    doc: dict[str, Any], models: Mapping[str, type[BaseModel]], source: str
) -> tuple[str, str]:
    """Which of ``models`` (kind → config model) a file is, and why, from its top-level
    keys: those only one kind has, then near misses of them (``[devise]`` is a device
    file with a typo, not a central one). ``ConfigError`` when the keys do not tell."""
    own = {
        kind: set(model.model_fields)
        - set().union(*(set(m.model_fields) for k, m in models.items() if k != kind))
        for kind, model in models.items()
    }
    scores: dict[str, list[str]] = {kind: sorted(set(doc) & keys) for kind, keys in own.items()}
    found = {kind: keys for kind, keys in scores.items() if keys}
    if len(found) == 1:
        kind, keys = next(iter(found.items()))
        return kind, f"guessed from {_sections(keys)}; --kind to say otherwise"
    if not found:
        import difflib  # only for a config with a mistake in it

        near = {
            kind: [
                f"[{key}] (close to [{match[0]}])"
                for key in sorted(doc)
                if (match := difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.7))
            ]
            for kind, keys in own.items()
        }
        near = {kind: keys for kind, keys in near.items() if keys}
        if len(near) == 1:
            kind, keys = next(iter(near.items()))
            return kind, f"guessed from {', '.join(keys)}; --kind to say otherwise"
    kinds = " or ".join(models)
    what = (
        "sections of both kinds: " + "; ".join(f"{k} {_sections(v)}" for k, v in found.items())
        if found
        else "no section only one kind has"
    )
    raise ConfigError(
        source, [("(kind)", f"cannot tell whether this is a {kinds} config ({what}); pass --kind")]
    )


def load_config(
    model: type[M], path: str | Path | None, env_overrides: dict[str, tuple[str, ...]]
) -> M:
    """Read a TOML file (or nothing) into ``model``, then apply environment overrides.

    ``env_overrides`` maps a variable name to the key path it sets, e.g.
    ``{"OMK_BROKER_URL": ("broker", "url")}``.
    """
    doc = read_toml(path) if path is not None else {}
    source = str(path) if path is not None else "(defaults)"
    for var, key_path in env_overrides.items():
        value = os.environ.get(var)
        if value:
            node = doc
            for key in key_path[:-1]:
                node = node.setdefault(key, {})
            node[key_path[-1]] = value
            source = f"{source} + ${var}"
    return validate_config(model, doc, source)
