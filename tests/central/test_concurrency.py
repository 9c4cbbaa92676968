"""Several ingest workers on one database: each event stored and counted once."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from central_api.domain.fleet.counters import read_ingest_counters
from central_api.ingest import Ingestor, Outgoing, is_retryable
from central_api.store import make_engine
from central_api.store.tables import events

from .helpers import acks, at, batch_msg, count, events_for, heartbeat_msg, type_counts

DEVICES = [("s1", "s1-k1"), ("s1", "s1-k2"), ("s2", "s2-k1")]


def _worker(engine: Engine, plan, barrier: threading.Barrier, out: list, errors: list) -> None:
    ingestor = Ingestor(engine)
    try:
        barrier.wait()
        for group in plan:
            for attempt in range(20):
                try:
                    out.append(ingestor.process(group))
                    break
                except Exception as exc:  # what the MQTT service does: retry later
                    if not is_retryable(exc) or attempt == 19:
                        raise
    except BaseException as exc:
        errors.append(exc)


def test_workers_processing_overlapping_batches_store_each_event_once(db_url: str) -> None:
    streams = {d: events_for(range(1, 301), device=d, store=s) for s, d in DEVICES}
    # Each worker sends every device's events in overlapping windows, and in groups that
    # mix devices in a different order than the other worker's.
    plans = []
    for w in range(2):
        plan = []
        for start in range(0, 300, 40):
            order = DEVICES if w == 0 else DEVICES[::-1]
            lo = max(0, start - 20 * w)
            plan.append(
                [
                    batch_msg(streams[d][lo : start + 60], f"w{w}-{d}-{start}", device=d, store=s)
                    for s, d in order
                ]
                + [heartbeat_msg(at(start), device=d, store=s) for s, d in order]
            )
        plans.append(plan)
    sent = sum(
        len(streams[d][max(0, start - 20 * w) : start + 60])
        for w in range(2)
        for start in range(0, 300, 40)
        for _, d in DEVICES
    )

    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        from central_api.store import migrate

        migrate(engines[0])
        barrier = threading.Barrier(2)
        outs: list[list[list[Outgoing]]] = [[], []]
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=_worker, args=(engines[i], plans[i], barrier, outs[i], errors))
            for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
        assert errors == []
        assert all(not t.is_alive() for t in threads)

        engine = engines[0]
        assert count(engine, events) == 900
        with engine.connect() as conn:
            c = read_ingest_counters(conn)
        assert c["events_stored"] == 900
        assert c["events_stored"] + c["duplicates_ignored"] == sent
        assert c["dead_letters"] == 0
        counts = type_counts(engine)
        assert sum(counts.values()) == 900
        for _, d in DEVICES:
            assert counts[(d, "product.searched")] + counts[(d, "pickup.confirmed")] == 300
        # Every ack names only stored events, and nothing was rejected.
        for worker_out in outs:
            for group_out in worker_out:
                for _, ack in acks(group_out):
                    assert ack.rejected == []
    finally:
        for e in engines:
            e.dispose()
