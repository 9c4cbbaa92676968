"""Run the project's CLI (``python main.py ...``) as a real subprocess.

Each Proc runs in its own session (process group) so that ``terminate`` and the
end-of-run cleanup also reach anything it spawned (``main.py demo`` starts a
broker, the edge daemon and central). ``kill9`` hits only the main process, the
way a crash would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import REPO_ROOT, tracking
from tests.support.waiting import StopWaiting, wait_for


class Proc:
    def __init__(
        self,
        args: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path = REPO_ROOT,
        script: Path = REPO_ROOT / "main.py",
    ) -> None:
        self.args = list(args)
        self.script = Path(script)
        self.log_path = Path(log_path)
        self.cwd = Path(cwd)
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self._popen: subprocess.Popen[bytes] | None = None
        # True from start until the process group has been killed: after kill9
        # the children may still be running.
        self._group_pending = False
        tracking.register(self)

    @property
    def argv(self) -> list[str]:
        return [sys.executable, str(self.script), *self.args]

    def start(self) -> Proc:
        if self.alive:
            raise RuntimeError(f"{self.describe()} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Append: a restarted process keeps the earlier run's output in the same log.
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._group_pending = True
        return self

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for exit and return the code; raises subprocess.TimeoutExpired."""
        return self._require_started().wait(timeout)

    def kill9(self) -> None:
        """SIGKILL to the main process only: a crash, children left as they are."""
        popen = self._require_started()
        if popen.poll() is None:
            popen.kill()
        popen.wait()

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL to the whole group after ``timeout``; returns the exit code."""
        popen = self._require_started()
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_group()
                popen.wait()
        self._kill_group()  # children that outlived a clean exit
        return popen.returncode

    def _kill_group(self) -> None:
        if self._popen is None or not self._group_pending:
            return
        self._group_pending = False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signal.SIGKILL)

    def _require_started(self) -> subprocess.Popen[bytes]:
        if self._popen is None:
            raise RuntimeError(f"{self.describe()} was never started")
        return self._popen

    # -- logs ---------------------------------------------------------------

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, timeout: float = 30.0, times: int = 1) -> None:
        """Wait until ``text`` appears in the log (``times`` times: the log is kept across
        restarts); fails early if the process exits."""

        def seen() -> bool:
            if self.log_text().count(text) >= times:
                return True
            if self._popen is not None and self._popen.poll() is not None:
                raise StopWaiting(
                    f"{self.describe()} exited with {self._popen.returncode} before logging "
                    f"{text!r}\n{self.log_tail()}"
                )
            return False

        try:
            wait_for(seen, timeout=timeout, message=f"{text!r} in {self.log_path}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tail()}") from exc.__cause__

    def log_tail(self, n: int = 80) -> str:
        return f"--- {self.log_path} ---\n{tracking.tail_lines(self.log_path, n)}"

    # -- tracking.Tracked -----------------------------------------------------

    def describe(self) -> str:
        return f"{self.script.name} {' '.join(self.args)} (pid {self.pid})"

    @property
    def needs_cleanup(self) -> bool:
        return self.alive or self._group_pending

    def kill_quietly(self) -> None:
        if self._popen is not None:
            self._kill_group()
            self._popen.wait()

    def __repr__(self) -> str:
        return f"Proc({self.args!r}, alive={self.alive})"
