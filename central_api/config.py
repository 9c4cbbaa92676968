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


class OrderSettings(StrictModel):
    """Click-and-collect orders."""

    #: an order ready for pickup this many days becomes a no-show (its code is valid a
    #: day longer, so a pickup at the end of the last day still verifies)
    no_show_days: int = Field(default=7, ge=1, le=365)
    #: how often each central process looks for no-shows
    sweep_interval_s: float = Field(default=300.0, gt=0, le=86_400)
    #: how often each central process looks for pickup upserts to push to the stores
    push_interval_s: float = Field(default=2.0, gt=0, le=300)


class InventorySettings(StrictModel):
    """What each store's feed (snapshot and deltas) carries of other stores, and how
    often central advances the feeds."""

    #: stores within this distance of a store are its "nearby stores" (their stock and
    #: its as-of time come down with the store's data)
    nearby_km: float = Field(default=25.0, gt=0, le=1000)
    #: at most this many of them, nearest first (0: none)
    nearby_max: int = Field(default=5, ge=0, le=50)
    #: how often each central process advances the stores' feeds and publishes deltas
    #: (imports and staff changes made through this process wake it at once)
    feed_interval_s: float = Field(default=2.0, gt=0, le=300)


#: a profile check-in code's payload (central's ``p-`` + 20 hex ids): the host must leave
#: room for it inside QR version 7 at error correction M
_CHECK_IN_PAYLOAD = 18


class TokenSettings(StrictModel):
    """QR codes: where central's signing keys live and the host their URLs name."""

    #: the private signing keys (one file each, mode 0600); made on first start
    key_dir: str = "var/keys"
    #: codes are ``https://{public_host}/q/{token}``
    public_host: str = Field(
        default="shop.example.com",
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
    )
    #: accept ``visit.linked`` / ``campaign.scanned`` v1, which carry no token (only for
    #: history recorded before tokens existed: a device could then link any profile)
    accept_untokened_links: bool = False
    #: how often central looks for new keys and revocations to push to the kiosks
    publish_interval_s: float = Field(default=2.0, gt=0, le=300)

    @field_validator("public_host")
    @classmethod
    def _fits(cls, v: str) -> str:
        from edge_sync.protocol.tokens import max_payload_for

        if max_payload_for(v) < _CHECK_IN_PAYLOAD:
            raise ValueError(
                "too long: a check-in code with this host would not fit QR version 7 at "
                "error correction M (at most 35 characters)"
            )
        return v


class CentralConfig(StrictModel):
    database: DatabaseSettings = DatabaseSettings()
    broker: BrokerSettings = BrokerSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    webhooks: WebhookSettings = WebhookSettings()
    tokens: TokenSettings = TokenSettings()
    orders: OrderSettings = OrderSettings()
    inventory: InventorySettings = InventorySettings()


def load_central_config(path: str | Path | None = None) -> CentralConfig:
    return load_config(CentralConfig, path, ENV_OVERRIDES)
