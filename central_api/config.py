"""Central's config (``central_api/central.example.toml``); every key has a default."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from edge_sync.protocol.settings import BrokerSettings, StrictModel, load_config

ENV_OVERRIDES = {
    "OMK_DATABASE_URL": ("database", "url"),
    "OMK_BROKER_URL": ("broker", "url"),
}

EXAMPLE_PATH = Path(__file__).with_name("central.example.toml")


class DatabaseSettings(StrictModel):
    #: sqlite:///path (embedded default) or postgresql+psycopg://user@host/db
    url: str = "sqlite:///var/central.db"

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite:///") or v.startswith("postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v


class IngestSettings(StrictModel):
    #: MQTT client id; each ingest worker needs its own (persistent session per worker)
    client_id: str = Field(default="omk-central-ingest-1", min_length=1, max_length=64)
    #: the $share group all ingest workers join (MQTT 5)
    share_group: str = Field(default="central", pattern=r"^[A-Za-z0-9_-]+$")
    #: messages committed together in one transaction at most (group commit)
    max_messages_per_commit: int = Field(default=64, ge=1, le=1000)
    #: transactions one worker process has in flight at once (PostgreSQL; SQLite: 1),
    #: so that its CPU work goes on while the database works on another group
    commit_threads: int = Field(default=2, ge=1, le=16)
    #: facts of recently re-derived profiles each worker keeps in memory so the next
    #: batch for them need not read their history again (about 1.3 KB each); 0: none
    profile_cache_facts: int = Field(default=100_000, ge=0)


class ApiSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class WebhookSettings(StrictModel):
    """How central sends webhooks (threshold crossings)."""

    #: attempts before a delivery is marked failed
    max_attempts: int = Field(default=8, ge=1, le=100)
    #: attempt n waits about base_delay_s × 2^(n-1), half of it random, at most max_delay_s
    base_delay_s: float = Field(default=10.0, gt=0)
    max_delay_s: float = Field(default=3600.0, gt=0)
    #: connect and read timeout of one POST
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    poll_interval_s: float = Field(default=1.0, gt=0, le=60)


class CentralConfig(StrictModel):
    database: DatabaseSettings = DatabaseSettings()
    broker: BrokerSettings = BrokerSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    webhooks: WebhookSettings = WebhookSettings()


def load_central_config(path: str | Path | None = None) -> CentralConfig:
    return load_config(CentralConfig, path, ENV_OVERRIDES)
