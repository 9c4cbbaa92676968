"""A small synchronous paho-mqtt 2.x client for tests: every call waits for the broker's answer."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.support.waiting import wait_for


class MqttRefused(Exception):
    """The broker answered CONNECT or SUBSCRIBE with a failure reason code."""


class MqttProbe:
    """Connects, subscribes and publishes, waiting for CONNACK/SUBACK/PUBACK each time.

    Received messages are kept in ``messages`` (thread-safe append from paho's loop).
    """

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
        protocol: int = mqtt.MQTTv5,
    ) -> None:
        self.host, self.port = host, port
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages: list[mqtt.MQTTMessage] = []
        self._connack: ReasonCode | None = None
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._connack = rc

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, rcs: list[ReasonCode], _p: Any
    ) -> None:
        self._subacks[mid] = rcs

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(msg)

    def connect(self, timeout: float = 10.0) -> MqttProbe:
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        wait_for(lambda: self._connack is not None, timeout, message="CONNACK")
        assert self._connack is not None
        if self._connack.is_failure:
            self.close()
            raise MqttRefused(f"CONNECT refused: {self._connack}")
        return self

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 10.0) -> list[ReasonCode]:
        result, mid = self.client.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise MqttRefused(f"SUBSCRIBE {topic!r} not sent: {mqtt.error_string(result)}")
        codes = wait_for(lambda: self._subacks.get(mid), timeout, message=f"SUBACK {topic}")
        failures = [rc for rc in codes if rc.is_failure]
        if failures:
            raise MqttRefused(f"SUBSCRIBE {topic!r} refused: {failures[0]}")
        return codes

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        timeout: float = 10.0,
    ) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)

    def wait_message(self, topic: str = "#", timeout: float = 10.0) -> mqtt.MQTTMessage:
        """The first received message whose topic matches the filter ``topic``."""

        def find() -> mqtt.MQTTMessage | None:
            with self._lock:
                for msg in self.messages:
                    if mqtt.topic_matches_sub(topic, msg.topic):
                        return msg
            return None

        return wait_for(find, timeout, message=f"a message on {topic!r}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> MqttProbe:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
