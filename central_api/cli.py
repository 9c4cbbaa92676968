"""``omnikiosk central …`` commands: run central, print its stats, create and revoke API keys."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from typing import Any

from .config import CentralConfig

log = logging.getLogger(__name__)

#: how long central waits for the broker at start before it says it cannot reach it
BROKER_GRACE_S = 3.0


def webhook_worker_settings(cfg: CentralConfig) -> Any:
    """The webhook sender's settings from ``[webhooks]``."""
    from .domain.webhooks.webhooks import RetryPolicy
    from .webhook_worker import WorkerSettings

    w = cfg.webhooks
    return WorkerSettings(
        poll_interval_s=w.poll_interval_s,
        timeout_s=w.timeout_s,
        retry=RetryPolicy(max_attempts=w.max_attempts, base_s=w.base_delay_s, max_s=w.max_delay_s),
    )


def _resume_rederive(engine: Any) -> None:
    """Finish going live with the active rules if a re-derivation was cut short."""
    from edge_sync.protocol import utcnow

    from .domain.scoring import rules_store
    from .domain.scoring.active_rules import active_rules

    with engine.connect() as conn:
        stale = rules_store.stale_count(conn)
        version = active_rules(conn).scoring.version
    if stale:
        log.info("central: %d profiles not yet derived under rules %s; resuming", stale, version)
        rules_store.rederive_in_background(engine, version, utcnow())


def run_central(cfg: CentralConfig, role: str = "all") -> int:
    """Run ingest and/or the HTTP API until SIGTERM/SIGINT. Migrates the database first."""
    from .domain.tokens.check import KeyringFile, TokenCheck
    from .domain.tokens.keystore import KeyStore
    from .domain.tokens.publish import KeysPublisher
    from .ingest import Ingestor, default_effects
    from .service import IngestService, tune_gc
    from .store.db import make_engine, migrate, ping
    from .webhook_worker import WebhookWorker

    engine = make_engine(cfg.database.url)
    ping(engine)
    keys = KeyStore(cfg.tokens.key_dir, cfg.tokens.public_host)
    signing = keys.ensure()  # refuses a key file others can read, before anything runs
    keyring = KeyringFile(keys)
    migrate(engine)
    log.info("central: database %s at schema head", engine.url.render_as_string(hide_password=True))
    log.info("central: QR codes signed with key %d from %s", signing.kid, keys.dir)
    if role in ("all", "api"):
        _resume_rederive(engine)
    # Every central process sends due webhook deliveries (workers never take the same one).
    webhooks = WebhookWorker(engine, webhook_worker_settings(cfg))
    webhooks.start()
    # Every central process keeps the stores' retained campaign lists current: it
    # republishes them at start, after its own changes and every 30 s.
    from .domain.campaigns.push import CampaignPublisher

    campaign_push = CampaignPublisher.for_central(engine, cfg.broker)
    campaign_push.start()
    # ... and the campaigns' fallback-code tables (kiosks resolve typed codes with them).
    from .domain.campaigns.code_push import CodeTablePublisher

    code_push = CodeTablePublisher.for_central(engine, cfg.broker)
    code_push.start()
    # Every central process pushes pickup upserts to the stores and sweeps no-shows.
    from .domain.orders.push import PickupPublisher
    from .domain.orders.records import CodeIssuer
    from .domain.orders.sweep import OrderSweeper

    o = cfg.orders
    pickup_push = PickupPublisher.for_central(
        engine, cfg.broker, o.no_show_days, interval_s=o.push_interval_s
    )
    pickup_push.start()
    sweeper = OrderSweeper(engine, o.no_show_days, o.sweep_interval_s, pickup_push.changed)
    sweeper.start()
    order_codes = CodeIssuer(keys.signer, o.no_show_days)
    # Every central process advances the stores' feeds and publishes deltas and manifests.
    from .domain.store_feed.push import StoreFeedPublisher
    from .domain.store_feed.sources import FeedSettings

    inv = cfg.inventory
    feed_settings = FeedSettings(inv.nearby_km, inv.nearby_max, o.no_show_days)
    store_feed = StoreFeedPublisher.for_central(
        engine, cfg.broker, feed_settings, interval_s=inv.feed_interval_s
    )
    store_feed.start()
    service: IngestService | None = None
    publisher: KeysPublisher | None = None
    if role in ("all", "ingest"):
        tune_gc()
        effects = default_effects(cfg.ingest.profile_cache_facts, pickup_push.changed)
        tokens = TokenCheck(keyring, untokened_links=cfg.tokens.accept_untokened_links)
        service = IngestService(cfg, Ingestor(engine, effects, tokens))
        service.start()
        publisher = KeysPublisher(engine, keyring, service.link, cfg.tokens.publish_interval_s)
        publisher.start()
        broker = cfg.broker.broker_url().redacted()
        log.info("central: ingesting from %s as %s", broker, cfg.ingest.client_id)
        if not service.link.wait_connected(BROKER_GRACE_S):
            # Not fatal: devices keep their events until central is back, and the link
            # keeps retrying; but say once what to check.
            log.warning(
                "central: cannot reach the broker at %s (%s); check that it runs and "
                "[broker] url or OMK_BROKER_URL; ingest keeps retrying",
                broker,
                service.link.last_error or "no answer",
            )
    try:
        if role in ("all", "api"):
            import uvicorn

            from .app import create_app

            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(
                        engine,
                        service,
                        campaign_push=campaign_push,
                        order_codes=order_codes,
                        pickup_push=pickup_push,
                        code_keys=keys,
                        store_feed=store_feed,
                    ),
                    host=cfg.api.host,
                    port=cfg.api.port,
                    log_level="warning",
                )
            )
            log.info("central: HTTP API on http://%s:%d", cfg.api.host, cfg.api.port)
            server.run()  # returns on SIGTERM/SIGINT
        else:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            stop.wait()
    finally:
        if publisher is not None:
            publisher.stop()
        if service is not None:
            service.stop()
        code_push.stop()
        store_feed.stop()
        sweeper.stop()
        pickup_push.stop()
        campaign_push.stop()
        webhooks.stop()
        engine.dispose()
    return 0


def print_stats(cfg: CentralConfig, as_json: bool) -> int:
    from .stats import collect_stats, format_stats
    from .store.db import open_existing

    engine = open_existing(cfg.database.url)  # only reads: never creates a database
    try:
        stats = collect_stats(engine)
    finally:
        engine.dispose()
    print(json.dumps(stats, indent=2, default=str) if as_json else format_stats(stats))
    return 0


def create_api_key(
    cfg: CentralConfig,
    role: str,
    name: str | None = None,
    store_id: str | None = None,
    device_id: str | None = None,
) -> int:
    """Create an API key and print it once on stdout (only its hash is stored). A device
    key needs ``store_id``: it reads that store's data and nothing else."""
    from .api.keys import InvalidKeySpec, create_key
    from .store.db import make_engine, migrate, ping

    engine = make_engine(cfg.database.url)
    try:
        ping(engine)
        migrate(engine)
        new = create_key(engine, role, name, store_id=store_id, device_id=device_id)
    except InvalidKeySpec as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(new.key)
    bound = f" for store {store_id}" if store_id else ""
    bound += f" (device {device_id})" if device_id else ""
    print(
        f"created {role} key {new.info.key_id}{bound}: this is the only time it is shown",
        file=sys.stderr,
    )
    return 0


def list_api_keys(cfg: CentralConfig, show_revoked: bool = False) -> int:
    """The API keys, oldest first: id, role, store and device (device keys), name,
    created, last used; revoked ones with ``show_revoked``. Never the keys themselves."""
    from edge_sync.protocol.ids import format_ts

    from .api.keys import list_keys
    from .store.db import open_existing

    engine = open_existing(cfg.database.url)
    try:
        with engine.connect() as conn:
            found = list_keys(conn, 1_000_000)
    finally:
        engine.dispose()
    shown = [k for k in found if show_revoked or k.revoked_at is None]
    if not shown:
        print("no API keys (create one with `central create-key --role ROLE`)")
        return 0
    print(f"{'key id':<16}  {'role':<11} {'store':<8} {'device':<10} {'last used':<20} name")
    for k in shown:
        used = format_ts(k.last_used_at) if k.last_used_at else "never"
        if k.revoked_at is not None:
            used = f"revoked {format_ts(k.revoked_at)}"
        print(
            f"{k.key_id:<16}  {k.role:<11} {k.store_id or '-':<8} {k.device_id or '-':<10} "
            f"{used:<20} {k.name or ''}".rstrip()
        )
    return 0


def revoke_api_key(cfg: CentralConfig, key_id: str) -> int:
    """Revoke an API key by its id; exit 1 when there is no such key or it was revoked."""
    from .api.keys import KeyAlreadyRevoked, KeyNotFound, revoke_key
    from .store.db import open_existing

    engine = open_existing(cfg.database.url)  # a key to revoke is in an existing database
    try:
        revoke_key(engine, key_id)
    except (KeyNotFound, KeyAlreadyRevoked) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"revoked key {key_id}")
    return 0
