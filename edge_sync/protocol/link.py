"""One MQTT connection that stays up: the transport both the device and central use.

Built on paho-mqtt 2.x driven by our own select loop (paho's "external event loop"
mode, as Home Assistant does) rather than ``loop_start()``, for two reasons:

* reconnects use *jittered* exponential backoff, so a fleet of kiosks does not
  reconnect in lock-step after a broker restart;
* publishes from other threads only queue packets and wake the loop; the socket is
  written by the loop thread alone.

Every connect (re)subscribes, whatever the broker says about the session, and an
exception in a user callback is logged without killing the loop. ``publish`` refuses
(``NotConnected``) rather than queueing silently in memory: callers keep their own
durable state (the outbox) and decide when to send again.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .settings import BrokerSettings, BrokerURL

log = logging.getLogger(__name__)


class NotConnected(Exception):
    """The link is down; nothing was sent."""


@dataclass(frozen=True, slots=True)
class Publication:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass
class LinkOptions:
    client_id: str
    url: BrokerURL
    protocol: str = "5"
    ca_file: str | None = None
    keepalive_s: int = 30
    clean_start: bool = False
    session_expiry_s: int = 7 * 24 * 3600
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 60.0
    will: Publication | None = None
    #: (topic filter, qos), subscribed on every connect
    subscriptions: list[tuple[str, int]] = field(default_factory=list)
    #: paho sends PUBACK only when we call ``ack()`` (after our commit)
    manual_ack: bool = False

    @classmethod
    def from_settings(cls, s: BrokerSettings, client_id: str, **kw: Any) -> LinkOptions:
        return cls(
            client_id=client_id,
            url=s.broker_url(),
            protocol=s.protocol,
            ca_file=s.ca_file,
            keepalive_s=s.keepalive_s,
            session_expiry_s=s.session_expiry_s,
            reconnect_min_s=s.reconnect_min_s,
            reconnect_max_s=s.reconnect_max_s,
            **kw,
        )


_MAX_READS_PER_WAKE = 512


def _readable_now(sock: Any) -> bool:
    if hasattr(sock, "pending") and sock.pending() > 0:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def backoff_delay(attempt: int, lo: float, hi: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [lo, min(hi, lo * 2**attempt)]."""
    cap = min(hi, lo * (2 ** min(attempt, 30)))
    return rng.uniform(lo, max(lo, cap))


class MqttLink:
    def __init__(
        self,
        opts: LinkOptions,
        *,
        on_message: Callable[[mqtt.MQTTMessage], None],
        on_connect: Callable[[bool], None] | None = None,
        on_disconnect: Callable[[str], None] | None = None,
        name: str = "mqtt",
    ) -> None:
        self.opts = opts
        self.name = name
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._rng = random.Random()
        self._stop = threading.Event()
        self._stopping = False
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.last_error: str | None = None
        self.connects = 0
        self._pending_subs: set[int] = set()
        self._client = self._make_client()

    # -- public -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def is_v5(self) -> bool:
        return self.opts.protocol == "5"

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("link already started")
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-loop", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        if not self._connected.is_set():
            raise NotConnected(f"{self.name}: not connected to {self.opts.url.redacted()}")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise NotConnected(f"{self.name}: publish failed: {mqtt.error_string(info.rc)}")
        return info

    def ack(self, mid: int, qos: int) -> None:
        """Send the PUBACK for a message received with ``manual_ack``."""
        if qos > 0:
            self._client.ack(mid, qos)

    def stop(self, final: list[Publication] | None = None, timeout: float = 5.0) -> None:
        """Publish ``final`` messages (e.g. a clean offline status), disconnect, join."""
        if final and self.connected:
            infos = []
            for p in final:
                try:
                    infos.append(self.publish(p.topic, p.payload, p.qos, p.retain))
                except NotConnected:
                    break
            deadline = time.monotonic() + timeout
            for info in infos:
                while not info.is_published() and time.monotonic() < deadline and self.connected:
                    time.sleep(0.01)
        # DISCONNECT must go out while our loop still runs (it writes the socket);
        # a connection that just vanishes makes the broker publish the last will.
        self._stopping = True
        if self._client.socket() is not None:
            self._client.disconnect()
            self._wake()
            deadline = time.monotonic() + timeout
            while self._client.socket() is not None and time.monotonic() < deadline:
                time.sleep(0.005)
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._connected.clear()
        self._wake_r.close()
        self._wake_w.close()

    # -- internals --------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        o = self.opts
        v5 = o.protocol == "5"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=o.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else o.clean_start,
            reconnect_on_failure=False,
            manual_ack=o.manual_ack,
        )
        client.enable_logger(logging.getLogger(f"{__name__}.paho"))
        if o.url.username:
            client.username_pw_set(o.url.username, o.url.password)
        if o.url.tls:
            client.tls_set(ca_certs=o.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        if o.will is not None:
            client.will_set(o.will.topic, o.will.payload, o.will.qos, o.will.retain)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_subscribe
        # External-loop hooks: paho tells us it has something to write; we wake select.
        client.on_socket_open = lambda _c, _ud, sock: _no_delay(sock)
        client.on_socket_register_write = lambda *_: self._wake()
        client.on_socket_unregister_write = lambda *_: None
        return client

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"\0")

    def _connect_once(self) -> None:
        o = self.opts
        props = None
        kwargs: dict[str, Any] = {}
        if self.is_v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = o.session_expiry_s
            kwargs["clean_start"] = o.clean_start
            kwargs["properties"] = props
        self._client.connect(o.url.host, o.url.port, keepalive=o.keepalive_s, **kwargs)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            sock = self._client.socket()
            if sock is None and self._stopping:
                break
            if sock is None:
                try:
                    self._connect_once()
                except (OSError, ssl.SSLError) as err:
                    self.last_error = f"cannot reach {self.opts.url.redacted()}: {err}"
                    log.warning("%s: %s", self.name, self.last_error)
                    self._sleep(
                        backoff_delay(
                            attempt, self.opts.reconnect_min_s, self.opts.reconnect_max_s, self._rng
                        )
                    )
                    attempt += 1
                    continue
                sock = self._client.socket()
                if sock is None:
                    continue
            if self._connected.is_set():
                attempt = 0
            try:
                self._pump(sock)
            except Exception:
                log.exception("%s: network loop error; reconnecting", self.name)
                self._drop()
            if self._client.socket() is None and not self._stop.is_set() and not self._stopping:
                # Lost (or refused): wait before the next attempt.
                self._sleep(
                    backoff_delay(
                        attempt, self.opts.reconnect_min_s, self.opts.reconnect_max_s, self._rng
                    )
                )
                attempt += 1

    def _pump(self, sock: Any) -> None:
        timeout = 1.0
        if hasattr(sock, "pending") and sock.pending() > 0:
            timeout = 0.0
        wlist = [sock] if self._client.want_write() else []
        readable, writable, _ = select.select([sock, self._wake_r], wlist, [], timeout)
        if self._wake_r in readable:
            try:
                while self._wake_r.recv(4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        if sock in readable or (hasattr(sock, "pending") and sock.pending() > 0):
            # paho reads one packet per loop_read(); drain what the socket holds so a
            # busy subscriber does not fall behind the broker's per-client queue.
            for _ in range(_MAX_READS_PER_WAKE):
                rc = self._client.loop_read()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._drop(rc)
                    return
                if not _readable_now(sock):
                    break
        if self._client.socket() is not None and (sock in writable or self._client.want_write()):
            rc = self._client.loop_write()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                self._drop(rc)
                return
        if self._client.socket() is not None:
            rc = self._client.loop_misc()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._drop(rc)

    def _drop(self, rc: MQTTErrorCode | None = None) -> None:
        was = self._connected.is_set()
        # Keep a refusal's reason (bad password, not authorised): it says more than
        # the connection loss that follows it.
        if rc is not None and (was or self.last_error is None):
            self.last_error = f"connection lost: {mqtt.error_string(rc)}"
        self._connected.clear()
        if self._client.socket() is not None:
            with contextlib.suppress(Exception):
                self._client._sock_close()  # paho has no public "close without DISCONNECT"
        if was:
            self._notify_disconnect(self.last_error or "connection lost")

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # -- paho callbacks (run on the loop thread) -----------------------------------

    def _handle_connect(
        self, client: mqtt.Client, _ud: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            log.warning("%s: %s", self.name, self.last_error)
            return
        self._pending_subs = set()
        for topic_filter, qos in self.opts.subscriptions:
            _rc, mid = client.subscribe(topic_filter, qos)
            if mid is not None:
                self._pending_subs.add(mid)
        self.connects += 1
        self.last_error = None
        self._connected.set()
        log.info(
            "%s: connected to %s (session present: %s)",
            self.name,
            self.opts.url.redacted(),
            flags.session_present,
        )
        if self._on_connect is not None:
            _guarded(self.name, "on_connect", self._on_connect, bool(flags.session_present))

    def _handle_subscribe(
        self, _client: mqtt.Client, _ud: Any, mid: int, reasons: Any, _props: Any
    ) -> None:
        refused = [str(r) for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            log.warning("%s: the broker refused a subscription: %s", self.name, ", ".join(refused))
        self._pending_subs.discard(mid)
        if not self._pending_subs:
            # From here on the broker keeps what is published for us (tests wait for this).
            log.info("%s: subscribed to %d topic filters", self.name, len(self.opts.subscriptions))

    def _handle_disconnect(
        self, _c: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and reason is not None and getattr(reason, "is_failure", False):
            self.last_error = f"disconnected: {reason}"
        if was:
            self._notify_disconnect(self.last_error or str(reason))

    def _notify_disconnect(self, why: str) -> None:
        log.log(
            logging.INFO if self._stopping else logging.WARNING,
            "%s: disconnected (%s)",
            self.name,
            why,
        )
        if self._on_disconnect is not None:
            _guarded(self.name, "on_disconnect", self._on_disconnect, why)

    def _handle_message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        _guarded(self.name, "on_message", self._on_message, msg)


def _no_delay(sock: Any) -> None:
    """Disable Nagle: small MQTT packets (a batch, an ack, a PUBACK) must not wait for the
    peer's delayed ACK. paho does not set it; without it a single event took ~40 ms."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _guarded(name: str, what: str, fn: Callable[..., Any], *args: Any) -> None:
    """Run a user callback; an exception is logged with its traceback, never raised into paho."""
    try:
        fn(*args)
    except Exception:
        log.exception("%s: %s callback failed; the link keeps running", name, what)
