"""Which commit thread gets a message: one per device, devices dealt out in turn."""

from __future__ import annotations

from central_api.config import CentralConfig
from central_api.ingest import Ingestor
from central_api.service import IngestService
from central_api.store import make_engine
from edge_sync.protocol import topics


def service(url: str, threads: int) -> IngestService:
    cfg = CentralConfig.model_validate(
        {"database": {"url": url}, "ingest": {"commit_threads": threads}}
    )
    return IngestService(cfg, Ingestor(make_engine(url)))  # nothing connects until start()


def test_each_device_keeps_its_commit_thread_and_devices_are_spread() -> None:
    s = service("postgresql+psycopg://nobody@127.0.0.1:1/none", 3)
    assert s.commit_threads == 3
    devices = [("s1", "s1-k1"), ("s1", "s1-k2"), ("s2", "s2-k1"), ("s2", "s2-k2")]
    first = [s._lane(topics.events(st, d)) for st, d in devices]
    assert first == [0, 1, 2, 0]
    # the same device, on any of its topics, later: the same thread
    again = [s._lane(topics.heartbeat(st, d)) for st, d in reversed(devices)]
    assert again == first[::-1]
    assert s._lane("not/an/omk/topic") == 0


def test_sqlite_has_one_commit_thread_whatever_the_config(tmp_path) -> None:
    s = service(f"sqlite:///{tmp_path / 'c.db'}", 4)
    assert s.commit_threads == 1
    assert {s._lane(topics.events("s1", f"s1-k{n}")) for n in range(5)} == {0}
