"""Shared by the benchmarks: a private Mosquitto, child processes, RESULT lines."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "main.py"


def quick() -> bool:
    """``--quick`` (or OMK_BENCH_QUICK=1): small sizes, to check the benchmark runs."""
    return "--quick" in sys.argv or os.environ.get("OMK_BENCH_QUICK") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.02
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


class Mosquitto:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = self.dir / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"max_queued_messages 1000000\nset_tcp_nodelay true\nlog_dest file {self.dir / 'mosquitto.log'}\n{user}"
        )
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait(self._open, 10, "mosquitto")

    def _open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def spawn(args: list[str], log: Path) -> subprocess.Popen:
    fh = log.open("wb")
    return subprocess.Popen(
        [sys.executable, str(MAIN), *args], stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


def result(name: str, value: float, op: str, target: float) -> None:
    """Print one RESULT line (``make bench``'s output; each is printed once, when known)."""
    print(f"RESULT {name} {value:.3f} target {op} {target}", flush=True)
