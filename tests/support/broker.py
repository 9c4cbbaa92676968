"""A real Mosquitto broker per test, run from a generated config in its own directory.

Auth brokers (``auth=True``) always have ``password_file`` and ``acl_file`` in
their config. ``add_user`` and ``set_acl`` rewrite those files; on a running
broker they send SIGHUP (Mosquitto reloads both files without dropping
connected clients) and wait for the reload to be logged, so a client that
connects after the call sees the new users and rules. Until ``set_acl`` is
called, the ACL gives every added user read/write on every topic.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.support import tracking
from tests.support.ports import free_port, port_open
from tests.support.waiting import wait_for

HOST = "127.0.0.1"


def _find_binary(name: str, env_var: str) -> str:
    """The binary from $env_var, then PATH, then /usr/sbin (not on a non-root PATH)."""
    if os.environ.get(env_var):
        return os.environ[env_var]
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/sbin")
    if not found:
        raise RuntimeError(f"{name} not found; run `make deps` (apt package mosquitto)")
    return found


class Broker:
    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_conf: str = "",
        auth: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = port if port is not None else free_port()
        self.extra_conf = extra_conf
        self.auth = auth
        self.conf_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"
        # Errors from before the log file is opened (bad config) go to stdout/stderr.
        self.out_path = self.workdir / "mosquitto.out"
        self.password_path = self.workdir / "passwd"
        self.acl_path = self.workdir / "acl"
        self._users: list[str] = []
        self._acl: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        tracking.register(self)

    # -- configuration -------------------------------------------------------

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def config_text(self) -> str:
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.auth else 'true'}",
            "persistence true",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "max_inflight_messages 100",
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            # One type per line: Mosquitto reads only the first word of a log_type line.
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if os.geteuid() == 0:
            # Run as root, Mosquitto switches to user "mosquitto", which cannot
            # write to pytest's root-owned 0700 tmp dirs.
            lines.append("user root")
        if self.auth:
            lines += [f"password_file {self.password_path}", f"acl_file {self.acl_path}"]
        if self.extra_conf:
            lines.append(self.extra_conf.rstrip("\n"))
        return "\n".join(lines) + "\n"

    def _write_files(self) -> None:
        self.conf_path.write_text(self.config_text())
        if self.auth:
            self.password_path.touch()
            self.acl_path.write_text(self._acl_text())

    def _acl_text(self) -> str:
        if self._acl is not None:
            return self._acl if self._acl.endswith("\n") else self._acl + "\n"
        return "".join(f"user {name}\ntopic readwrite #\n\n" for name in self._users)

    def add_user(self, name: str, password: str) -> None:
        """Add or replace a user in the password file (``mosquitto_passwd -b``)."""
        if not self.auth:
            raise RuntimeError("add_user needs Broker(auth=True)")
        tool = _find_binary("mosquitto_passwd", "OMK_MOSQUITTO_PASSWD")
        create = [] if self._users else ["-c"]
        subprocess.run(
            [tool, *create, "-b", str(self.password_path), name, password],
            check=True,
            capture_output=True,
        )
        if name not in self._users:
            self._users.append(name)
        self._write_files()
        self._reload_if_running()

    def set_acl(self, text: str) -> None:
        """Replace the whole ACL file (Mosquitto ``acl_file`` syntax)."""
        if not self.auth:
            raise RuntimeError("set_acl needs Broker(auth=True)")
        self._acl = text
        self._write_files()
        self._reload_if_running()

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP: Mosquitto re-reads the password and ACL files, keeping clients."""
        proc = self._require_running()
        before = self._log_count("Reloading config.")
        proc.send_signal(signal.SIGHUP)
        # Mosquitto is single-threaded and finishes the reload right after
        # logging this line, before it reads any new packet.
        wait_for(
            lambda: self._log_count("Reloading config.") > before,
            timeout=timeout,
            message=f"broker {self.url} to reload its config",
        )

    def _reload_if_running(self) -> None:
        if self.alive:
            self.reload()

    def _log_count(self, text: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(text)
        except FileNotFoundError:
            return 0

    # -- lifecycle ----------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 10.0) -> Broker:
        if self.alive:
            raise RuntimeError(f"broker {self.url} is already running")
        self._write_files()
        binary = _find_binary("mosquitto", "OMK_MOSQUITTO")
        with self.out_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [binary, "-c", str(self.conf_path)],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port, timeout=0.2):
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"mosquitto exited with code {code} before listening on {self.url}\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(
                    f"mosquitto did not accept connections on {self.url} within {timeout}s\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        """SIGKILL: a crash; only what the last autosave wrote survives."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            self._proc.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: a clean shutdown that saves the persistence file."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def restart(self, timeout: float = 10.0) -> Broker:
        """Start again on the same port and directory (stopping first if running)."""
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _require_running(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError(f"broker {self.url} is not running")
        return self._proc

    # -- diagnostics (also the tracking.Tracked protocol) --------------------

    def log_tail(self, n: int = 50) -> str:
        text = f"--- {self.log_path} ---\n{tracking.tail_lines(self.log_path, n)}"
        out = tracking.tail_lines(self.out_path, n) if self.out_path.exists() else ""
        if out.strip():
            text += f"\n--- {self.out_path} ---\n{out}"
        return text

    def describe(self) -> str:
        return f"mosquitto {self.url} (pid {self.pid}, {self.workdir})"

    @property
    def needs_cleanup(self) -> bool:
        return self.alive

    def kill_quietly(self) -> None:
        self.kill()

    def __repr__(self) -> str:
        return f"Broker({self.url}, alive={self.alive})"
