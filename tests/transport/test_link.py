"""The MQTT link and the whole spine over other transports: 3.1.1, credentials, TLS."""

from __future__ import annotations

import logging
import random
import threading

import pytest

from edge_sync.protocol.link import LinkOptions, MqttLink, NotConnected, backoff_delay
from edge_sync.protocol.settings import BrokerURL
from tests.faults.harness import Spine, simulated_mix
from tests.support.broker import Broker
from tests.support.ports import free_port
from tests.support.waiting import wait_for
from tests.transport.certs import make_tls_files


def test_backoff_is_jittered_and_bounded():
    rng = random.Random(1)
    for attempt in range(12):
        delays = {round(backoff_delay(attempt, 0.5, 60.0, rng), 6) for _ in range(50)}
        assert all(0.5 <= d <= min(60.0, 0.5 * 2**attempt) for d in delays)
        if attempt > 0:
            assert len(delays) > 40  # not lock-step across a fleet


def link(url: str, name: str, **kw) -> tuple[MqttLink, list]:
    got: list = []
    lk = MqttLink(
        LinkOptions(
            client_id=name,
            url=BrokerURL.parse(url),
            clean_start=True,
            reconnect_min_s=0.05,
            reconnect_max_s=0.5,
            **kw,
        ),
        on_message=lambda m: got.append(m),
        name=name,
    )
    return lk, got


@pytest.mark.allow_logged_errors
def test_callback_exception_is_logged_and_the_loop_lives_on(broker, logged_errors):
    got: list[bytes] = []

    def on_message(msg):
        if msg.payload == b"boom":
            raise RuntimeError("handler bug")
        got.append(msg.payload)

    sub = MqttLink(
        LinkOptions(
            client_id="sub",
            url=BrokerURL.parse(broker.url),
            clean_start=True,
            subscriptions=[("t/#", 1)],
        ),
        on_message=on_message,
        name="sub",
    )
    pub, _ = link(broker.url, "pub")
    sub.start()
    pub.start()
    try:
        assert sub.wait_connected(10) and pub.wait_connected(10)
        wait_for(lambda: pub.publish("t/x", b"probe") and b"probe" in got, timeout=10)
        pub.publish("t/x", b"boom")
        pub.publish("t/x", b"after")
        wait_for(lambda: b"after" in got, timeout=10, message="a message after the failing one")
        assert any("handler bug" in str(r.exc_info[1]) for r in logged_errors if r.exc_info)
        assert sub.connected
    finally:
        pub.stop()
        sub.stop()


def test_publish_refuses_while_down_and_link_comes_back(broker):
    lk, _ = link(broker.url, "k1")
    lk.start()
    try:
        assert lk.wait_connected(10)
        broker.kill()
        wait_for(lambda: not lk.connected, timeout=15, message="link to notice the broker is gone")
        with pytest.raises(NotConnected):
            lk.publish("t/x", b"nope")
        broker.restart()
        assert lk.wait_connected(15)
        assert lk.connects == 2
    finally:
        lk.stop()


def run_spine(s: Spine, n: int = 300) -> None:
    s.start_central()
    s.start_edge()
    sim = s.simulate(n)
    assert sim.wait(60) == 0, sim.log_tail()
    count, mix = simulated_mix(sim.log_text())
    s.wait_drained(count)
    s.assert_exactly_once(count, mix)


def test_spine_over_mqtt_311(tmp_path, broker, spawn):
    s = Spine(tmp_path, broker, f"sqlite:///{tmp_path / 'central.db'}", spawn)
    for path in (s.device_cfg, s.central_cfg):
        text = path.read_text().replace("[broker]\n", '[broker]\nprotocol = "3.1.1"\n')
        path.write_text(text)
    run_spine(s)


def test_spine_with_passwords_and_tls(tmp_path, spawn):
    ca, cert, key = make_tls_files(tmp_path / "tls")
    tls_port = free_port()
    b = Broker(
        tmp_path / "broker",
        auth=True,
        extra_conf=f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n",
    )
    b.add_user("s001-k1", "kiosk-secret")
    b.add_user("central", "central-secret")
    b.start()
    try:
        s = Spine(tmp_path, b, f"sqlite:///{tmp_path / 'central.db'}", spawn)
        (tmp_path / "kiosk.pw").write_text("kiosk-secret\n")
        dev = s.device_cfg.read_text().replace(
            f'url = "{b.url}"',
            f'url = "mqtts://s001-k1@127.0.0.1:{tls_port}"\nca_file = "{ca}"\npassword_file = "{tmp_path / "kiosk.pw"}"',
        )
        s.device_cfg.write_text(dev)
        cen = s.central_cfg.read_text().replace(
            f'url = "{b.url}"',
            f'url = "mqtts://central:central-secret@127.0.0.1:{tls_port}"\nca_file = "{ca}"',
        )
        s.central_cfg.write_text(cen)
        run_spine(s, 200)
        assert "mqtts://s001-k1:***@127.0.0.1" in s.edge.log_text()
        assert "kiosk-secret" not in s.edge.log_text()
    finally:
        b.stop()


@pytest.mark.allow_logged_errors
def test_wrong_password_is_reported_not_fatal(tmp_path):
    b = Broker(tmp_path / "broker", auth=True)
    b.add_user("k1", "right")
    b.start()
    try:
        lk, _ = link(f"mqtt://k1:wrong@127.0.0.1:{b.port}", "k1")
        lk.start()
        wait_for(
            lambda: lk.last_error and "refused" in lk.last_error,
            timeout=10,
            message="refusal reported",
        )
        assert not lk.connected
        assert "Not authorized" in lk.last_error or "Bad user name or password" in lk.last_error
        lk.stop()
    finally:
        b.stop()


def test_no_handler_thread_leaks(broker):
    before = threading.active_count()
    lk, _ = link(broker.url, "leak")
    lk.start()
    assert lk.wait_connected(10)
    lk.stop()
    wait_for(lambda: threading.active_count() <= before, timeout=5, message="loop thread to end")
    logging.getLogger().debug("ok")
