"""The device config (``device_config/<device>.toml``), see ``device_config/example.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from .protocol.schemas import Ident
from .protocol.settings import BrokerSettings, StrictModel, load_config

ENV_OVERRIDES = {"OMK_BROKER_URL": ("broker", "url")}


class DeviceSection(StrictModel):
    id: Ident
    store_id: Ident
    #: where edge.db lives; relative paths are relative to the working directory
    data_dir: str = "var/{device}"

    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir.format(device=self.id, store=self.store_id))


class OutboxSettings(StrictModel):
    max_rows: int = Field(default=500_000, ge=10)
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=64 * 1024)


class SyncSettings(StrictModel):
    batch_max_events: int = Field(default=500, ge=1, le=1000)
    batch_max_bytes: int = Field(default=256 * 1024, ge=16 * 1024, le=512 * 1024)
    #: batches published and not yet acked, at most
    inflight_batches: int = Field(default=4, ge=1, le=64)
    #: resend a batch not acked within this time (doubles while central stays silent)
    ack_timeout_s: float = Field(default=15.0, gt=0)
    ack_timeout_max_s: float = Field(default=300.0, gt=0)
    heartbeat_s: float = Field(default=60.0, gt=0)
    #: how often the daemon looks for newly committed events
    poll_interval_ms: int = Field(default=10, ge=1, le=5000)

    @model_validator(mode="after")
    def _timeouts(self) -> SyncSettings:
        if self.ack_timeout_max_s < self.ack_timeout_s:
            raise ValueError("ack_timeout_max_s must be >= ack_timeout_s")
        return self


class ClockSettings(StrictModel):
    #: "kernel" asks the kernel (adjtimex) whether NTP has synchronised the clock
    source: str = Field(default="kernel", pattern="^(kernel|assume_synced|assume_unsynced)$")


class CentralSettings(StrictModel):
    """``[central]``: central's HTTP API, where the device fetches its store's snapshot."""

    #: ``https://central.example:8443`` (a path prefix is kept); none: no snapshots
    url: str | None = None
    #: file holding the device's API key (``omk_<key id>_<secret>``, role ``device``)
    key_file: str | None = None
    #: the longest one snapshot fetch may take in all: connecting, central's answer and
    #: the whole body (a big catalog over a slow store link needs minutes)
    timeout_s: float = Field(default=300.0, gt=0)
    #: the longest central may stay silent: to take the connection, to start answering,
    #: between two reads of the body. A request that stalls costs this, then the fetch
    #: is retried (retry_min_s), instead of holding the store's data back for timeout_s
    read_timeout_s: float = Field(default=15.0, gt=0)
    #: after a failed fetch, wait this long, doubling up to retry_max_s
    retry_min_s: float = Field(default=2.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises for a port that is not a number
        except ValueError as err:
            raise ValueError(f"not a URL ({err})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be http(s)://host[:port][/prefix], e.g. https://central:8443")
        if parts.query or parts.fragment:
            raise ValueError("must have no ?query or #fragment")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _key(self) -> CentralSettings:
        if self.url and not self.key_file:
            raise ValueError("central.key_file is needed with central.url (the device's API key)")
        if self.retry_max_s < self.retry_min_s:
            raise ValueError("retry_max_s must be >= retry_min_s")
        # (unset, it is at most timeout_s: a config that only shortens timeout_s stays valid)
        if "read_timeout_s" in self.model_fields_set and self.read_timeout_s > self.timeout_s:
            raise ValueError("read_timeout_s must be <= timeout_s")
        return self

    def api_key(self) -> str:
        """The key from ``key_file``; ``ValueError`` saying what is wrong with the file."""
        if not self.key_file:
            raise ValueError("central.key_file is not set")
        try:
            key = Path(self.key_file).read_text().strip()
        except OSError as err:
            raise ValueError(f"central.key_file {self.key_file}: {err.strerror}") from None
        if not key.startswith("omk_") or any(ch.isspace() for ch in key):
            raise ValueError(
                f"central.key_file {self.key_file}: not an API key (expected omk_<key id>_<secret>)"
            )
        return key


class DeviceConfig(StrictModel):
    device: DeviceSection
    broker: BrokerSettings = BrokerSettings()
    outbox: OutboxSettings = OutboxSettings()
    sync: SyncSettings = SyncSettings()
    clock: ClockSettings = ClockSettings()
    central: CentralSettings = CentralSettings()
    #: the kiosk app's own settings (idle timeout, countdown, dimming …); read and checked
    #: by ``kiosk.settings.KioskSettings``, which the sync daemon does not need
    kiosk: dict[str, Any] = Field(default_factory=dict)
    #: bumped by central when it pushes a new desired config
    config_version: int = Field(default=0, ge=0)

    @property
    def db_path(self) -> Path:
        return self.device.resolved_data_dir() / "edge.db"


def load_device_config(path: str | Path) -> DeviceConfig:
    return load_config(DeviceConfig, path, ENV_OVERRIDES)
