"""systemd's notify protocol, without a dependency: READY, STATUS, WATCHDOG and STOPPING datagrams.

The watchdog is fed only from the audio loop, after a block of audio has gone through the gate,
so a microphone that stalls or is unplugged stops the keep-alives and systemd restarts the service
(PortAudio cannot find a re-plugged device without a fresh start anyway). While muted there is no
audio by design; then a timer stands in for the loop, since the loop is waiting on purpose.
Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger("wakegate")


class SystemdNotifier:
    def __init__(self, environ=os.environ):
        address = environ.get("NOTIFY_SOCKET", "")
        # '@' names a socket in the abstract namespace: a leading NUL byte on the wire.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) if self._address else None
        self.watchdog_interval_s = _watchdog_interval(environ) if self._socket else None
        self._last_watchdog = float("-inf")
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *assignments: str) -> None:
        if self._socket is None:
            return
        try:
            with self._lock:
                self._socket.sendto("\n".join(assignments).encode(), self._address)
        except OSError as exc:  # systemd gone (shutdown) or a wrong address: the gate keeps working
            log.info("cannot notify systemd at %r: %s", self._address, exc)

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def alive(self) -> None:
        """A keep-alive, at most a few per watchdog period however often the audio loop calls."""
        if self.watchdog_interval_s is None:
            return
        now = time.monotonic()
        if now - self._last_watchdog >= self.watchdog_interval_s:
            self._last_watchdog = now
            self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_interval(environ) -> float | None:
    """A third of WATCHDOG_USEC (sd_watchdog_enabled(3) asks for at least every half), or None if no
    watchdog is set up for this process (WATCHDOG_PID names another one if the variable was inherited)."""
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 3 / 1e6


class ServiceHooks:
    """What ``wakegate run`` tells systemd: ready once listening, alive while audio flows or muted."""

    def __init__(self, runtime, controller, notifier: SystemdNotifier | None = None):
        self.notifier = notifier or SystemdNotifier()
        self._controller = controller
        self._stopped = threading.Event()
        if self.notifier.enabled:
            runtime.on_block = self.notifier.alive
            if self.notifier.watchdog_interval_s is not None:
                threading.Thread(target=self._alive_while_muted, name="wakegate-watchdog-mute", daemon=True).start()

    def _alive_while_muted(self) -> None:
        while not self._stopped.wait(self.notifier.watchdog_interval_s):
            if self._controller.muted:
                self.notifier.alive()

    def ready(self, status: str) -> None:
        self.notifier.ready(status)

    def stopping(self) -> None:
        self._stopped.set()
        self.notifier.stopping()
        self.notifier.close()
