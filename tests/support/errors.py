"""Collect exceptions that background code logged or that killed a thread.

A sync daemon thread that catches, logs and carries on (as it should) would
otherwise let a test pass while the thing under test is broken. The pytest
plugin fails such tests unless they are marked ``allow_logged_errors``.
"""

from __future__ import annotations

import logging
import threading

FORMAT = "%(levelname)s %(name)s [%(threadName)s] %(message)s"

# Records for uncaught thread exceptions are logged under this name.
THREAD_LOGGER = "uncaught-thread-exception"


class _Handler(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(level=logging.ERROR)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self._sink.append(record)


class ErrorCollector:
    """Root-logger handler (ERROR and above, with exc_info) plus a threading.excepthook.

    While installed, uncaught thread exceptions are only recorded here, not
    passed on to the previous hook, so pytest does not report them a second
    time as a warning.
    """

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []
        self._handler = _Handler(self.records)
        self._prev_hook = threading.excepthook
        self._lock = threading.Lock()

    def install(self) -> None:
        logging.getLogger().addHandler(self._handler)
        self._prev_hook = threading.excepthook
        threading.excepthook = self._excepthook

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self._handler)
        if threading.excepthook == self._excepthook:
            threading.excepthook = self._prev_hook

    def _excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "<unknown>"
        exc_value = args.exc_value or args.exc_type()
        record = logging.LogRecord(
            name=THREAD_LOGGER,
            level=logging.CRITICAL,
            pathname=__file__,
            lineno=0,
            msg="thread %s died with an uncaught exception",
            args=(name,),
            exc_info=(args.exc_type, exc_value, args.exc_traceback),
        )
        record.threadName = name
        with self._lock:
            self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        """Return the records collected so far and forget them."""
        with self._lock:
            taken = list(self.records)
            self.records.clear()
        return taken

    @staticmethod
    def format(records: list[logging.LogRecord]) -> str:
        formatter = logging.Formatter(FORMAT)  # appends the formatted traceback
        return "\n\n".join(formatter.format(record) for record in records)
