"""The kiosk and the sync daemon are separate processes: killing the kiosk leaves the
daemon syncing, and the kiosk started again opens on a clean home screen."""

from __future__ import annotations

import json

from edge_sync.protocol import topics
from tests.kiosk.controllers.conftest import DEVICE, STORE
from tests.kiosk.ui.conftest import ui_kiosk
from tests.support.mqtt import MqttProbe
from tests.support.waiting import wait_for

UP_THEN_WAIT = """
def script(k):
    yield k.until(lambda: k.current == "home", 20, "home")
    k.tap_text("Deutsch")  # a shopper was using it
    open({marker!r}, "w").write("up")
    # kept running until the test kills it (kill -9): the process must stay alive, so
    # time passing is what is wanted here, not a condition (the test never waits on it)
    yield k.sleep(300)
"""

CLEAN_HOME = """
def script(k):
    yield k.until(lambda: k.current == "home", 20, "home")
    k.result["lang"] = k.controllers.session.lang
    k.result["phase"] = str(k.controllers.session.phase)
    k.result["texts"] = k.texts()
"""


def test_a_killed_kiosk_leaves_the_daemon_syncing_and_restarts_clean(
    tmp_path, broker, spawn, xvfb
) -> None:
    ui = ui_kiosk(tmp_path)
    ui.config.write_text(
        ui.config.read_text() + f'[broker]\nurl = "{broker.url}"\n[sync]\nheartbeat_s = 1.0\n'
    )
    edge = spawn(["edge", "--config", str(ui.config)], name="edge")
    marker = tmp_path / "kiosk-up"
    first = tmp_path / "first.py"
    first.write_text(UP_THEN_WAIT.format(marker=str(marker)))
    env = {"DISPLAY": xvfb}
    kiosk = spawn(["kiosk", "--config", str(ui.config), "--windowed", "--script", str(first),
                   "--out", str(tmp_path / "first")], name="kiosk", env=env)  # fmt: skip
    wait_for(marker.exists, timeout=60, message="the kiosk's home screen")
    kiosk.kill9()
    assert not kiosk.alive
    with MqttProbe(broker.host, broker.port, "probe-crash") as probe:
        probe.subscribe(topics.heartbeat(STORE, DEVICE))
        probe.wait_message(topics.heartbeat(STORE, DEVICE), timeout=20)  # still beating
    assert edge.alive

    again = tmp_path / "again.py"
    again.write_text(CLEAN_HOME)
    out = tmp_path / "again"
    kiosk2 = spawn(["kiosk", "--config", str(ui.config), "--windowed", "--script", str(again),
                    "--out", str(out)], name="kiosk2", env=env)  # fmt: skip
    assert kiosk2.wait(timeout=90) == 0, kiosk2.log_text()[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["lang"] == "en" and result["phase"] == "home"
    assert "Scan your code" in result["texts"]
    assert edge.alive
