"""Which commit thread gets a device's messages (``service._Lanes``)."""

from __future__ import annotations

from central_api.config import CentralConfig
from central_api.ingest import Ingestor
from central_api.service import IngestService, _Lanes
from central_api.store import make_engine


def test_a_device_stays_with_the_thread_that_holds_its_messages() -> None:
    lanes = _Lanes(2)
    assert lanes.assign("k1", 3) == 0
    assert lanes.assign("k2", 1) == 1  # the least loaded
    assert lanes.assign("k3", 1) == 1  # 3 against 1
    assert lanes.assign("k1", 5) == 0  # thread 0 holds k1's messages: there, loaded or not
    lanes.release("k1", 3)
    assert lanes.assign("k1", 1) == 0  # five still held
    for _ in range(6):
        lanes.release("k1", 1)
    lanes.release("k2", 1)
    # nothing of k1 is held any more: it may move, to the least loaded (0 against 1)
    assert lanes.assign("k1", 1) == 0
    assert lanes.assign("k3", 1) == 1  # k3 is still held by thread 1


def service(url: str, threads: int) -> IngestService:
    cfg = CentralConfig.model_validate(
        {"database": {"url": url}, "ingest": {"commit_threads": threads}}
    )
    return IngestService(cfg, Ingestor(make_engine(url)))  # nothing connects until start()


def test_commit_threads_postgres_as_configured_sqlite_one(tmp_path) -> None:
    assert service("postgresql+psycopg://nobody@127.0.0.1:1/none", 3).commit_threads == 3
    assert service(f"sqlite:///{tmp_path / 'c.db'}", 4).commit_threads == 1
