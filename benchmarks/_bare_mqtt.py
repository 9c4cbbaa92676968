"""The bare baseline: a plain paho-mqtt QoS 1 subscriber (run as its own process).

python _bare_mqtt.py sub PORT TOPIC COUNT   → prints "ready", then "rate <msgs/s>"
"""

from __future__ import annotations

import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def subscriber(port: int, topic: str, count: int) -> None:
    done = threading.Event()
    stamps: list[float] = []

    def on_message(_c, _u, _m) -> None:
        stamps.append(time.perf_counter())
        if len(stamps) >= count:
            done.set()

    def on_subscribe(*_a) -> None:
        print("ready", flush=True)

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-sub", protocol=mqtt.MQTTv5)
    c.on_message = on_message
    c.on_subscribe = on_subscribe
    c.on_connect = lambda cl, *_: cl.subscribe(topic, qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(600)
    c.loop_stop()
    print(f"rate {(len(stamps) - 1) / (stamps[-1] - stamps[0]):.1f}", flush=True)


def publish(port: int, topic: str, count: int, payload: bytes) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-pub", protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = [c.publish(topic, payload, qos=1) for _ in range(count)]
    for info in infos:
        info.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


if __name__ == "__main__":
    subscriber(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
