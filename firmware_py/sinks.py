"""Where a clip goes after the gate released it: sealed into the spool, then to every forwarding sink.

All of it happens on the spool worker's thread (``SinkWorker``), never on the audio loop's:
1. the clip is sealed to the owner's key and stored; the audit log records it;
2. each HTTP sink gets a sealed copy in its outbox, which its own thread delivers (``delivery.py``);
3. each Wyoming satellite gets the clip live, if Home Assistant is connected (``wyoming_satellite.py``).
Retention: with ``keep_days = 0``, the spool copy is deleted once every forwarding sink has the clip.
The privacy indicator stays on from the hand-off until the last sink has finished with the clip.
"""

from __future__ import annotations

import logging
import threading

from .delivery import Deliverer, Outbox, device_key, wait_until_idle
from .errors import WakegateError
from .pipeline import SinkWorker
from .spool import remove_stale_temp

log = logging.getLogger("wakegate")


class Sinks:
    def __init__(self, settings, spool, indicator, models, on_stored=None):
        self._settings = settings
        self.spool = spool
        self._indicator = indicator
        self._lock = threading.Lock()
        self._waiting: dict[str, set[str]] = {}  # clip id → forwarding sinks that do not have it yet
        self.deliverers: list[Deliverer] = []
        self.satellites = []
        self.live_delivered = 0
        for sink in settings.sinks:
            if sink.type == "wyoming":
                from .wyoming_satellite import WyomingSatellite

                preroll = "full" if sink.keeps_preroll else "none"
                self.satellites.append(WyomingSatellite(sink.uri, models, preroll=preroll, name=sink.name).start())
            else:
                seal_to = spool.owner if sink.type == "webhook" else device_key(spool.data_dir)
                outbox = Outbox(spool.data_dir, sink, seal_to)
                self.deliverers.append(Deliverer(outbox, spool.data_dir, spool.audit, indicator,
                                                 on_delivered=lambda clip_id, name=sink.name: self._delivered(clip_id, name)).start())
        for folder in [spool.dir] + [d.outbox.dir for d in self.deliverers]:
            if removed := remove_stale_temp(folder):
                log.warning("removed %d temp file(s) a crash left in %s", removed, folder)
        if self.deliverers and not settings.spool.keep_days:
            self._forget_delivered()
        self.worker = SinkWorker(self._store_and_forward, on_done=on_stored, indicator=indicator, name="spool")

    def _forget_delivered(self) -> None:
        """Spool copies that every sink had before a crash (``kill -9`` between the delivery and the
        spool delete) go now, as they would have then; a clip any outbox still holds stays."""
        names = {d.sink.name for d in self.deliverers} | {s.name for s in self.satellites}
        stored = self.spool.list()
        if not stored:
            return
        got: dict[str, set[str]] = {}
        for entry in self.spool.audit.entries():
            if entry.get("event") == "delivered" and entry.get("clip_id"):
                got.setdefault(entry["clip_id"], set()).add(entry.get("sink"))
        for clip in stored:
            if names <= got.get(clip.clip_id, set()) and not any(
                    d.outbox.dir.joinpath(f"{clip.clip_id}.clip").exists() for d in self.deliverers):
                try:
                    self.spool.delete(clip.clip_id, reason="delivered to every sink")
                except WakegateError:
                    pass

    def submit(self, clip) -> None:
        """Called by the audio loop: returns at once."""
        self.worker.submit(clip)

    @property
    def pending(self) -> int:
        return self.worker.pending + sum(len(d.outbox.pending()) for d in self.deliverers)

    @property
    def delivered(self) -> int:
        return sum(d.delivered for d in self.deliverers) + self.live_delivered

    @property
    def errors(self) -> list[str]:
        return self.worker.errors

    def _store_and_forward(self, clip):
        record = self.spool.store(clip, before_commit=lambda meta: self._queue(clip, meta))
        for deliverer in self.deliverers:
            deliverer.notify()
        for satellite in self.satellites:
            hold = self._indicator.hold(f"sending a clip to {satellite.name}")
            satellite.submit(clip, on_result=lambda c, ok, reason, clip_id=record.clip_id, name=satellite.name, hold=hold:
                             self._live_result(clip_id, name, ok, reason, hold))
        if self._settings.spool.keep_days:
            self.spool.purge(self._settings.spool.keep_days * 86400)
        return record

    def _queue(self, clip, meta: dict) -> None:
        """The outbox copies, written before the spool copy (under the spool's lock, so a delivery that
        finishes first waits for the spool copy before deleting it): a crash between the two leaves a
        clip that a sink still gets, never a stored clip that no sink will get."""
        names = {d.sink.name for d in self.deliverers} | {s.name for s in self.satellites}
        if names:
            with self._lock:
                self._waiting[meta["id"]] = names
        for deliverer in self.deliverers:
            try:
                deliverer.outbox.put(clip, meta, self.spool.audit)
            except (OSError, WakegateError) as exc:  # disk full: this sink never gets it; the spool copy stays
                reason = getattr(exc, "strerror", None) or str(exc)
                self.spool._audit_quietly("dropped", meta["id"], sink=deliverer.sink.name, reason=f"cannot queue the clip: {reason}")
                log.error("clip %s not queued for %s: %s", meta["id"], deliverer.sink.name, reason)

    def _live_result(self, clip_id: str, sink: str, delivered: bool, reason: str, hold: int) -> None:
        self._indicator.release(hold)
        if delivered:
            self.live_delivered += 1
            self.spool.audit.append("delivered", clip_id, sink=sink, status="wyoming")
            self._delivered(clip_id, sink)
        else:  # a voice command is useless later: live sinks are not retried
            self.spool.audit.append("delivery_failed", clip_id, sink=sink, error=reason, will_retry=False)
            log.warning("clip %s not sent to %s: %s", clip_id, sink, reason)

    def _delivered(self, clip_id: str, sink: str) -> None:
        with self._lock:
            waiting = self._waiting.get(clip_id)
            if waiting is not None:
                waiting.discard(sink)
                if waiting:
                    return
                del self._waiting[clip_id]
        if waiting is None and any(d.outbox.dir.joinpath(f"{clip_id}.clip").exists() for d in self.deliverers):
            return  # a clip from before a restart: other outboxes still hold it
        if self._settings.spool.keep_days:
            return
        try:
            self.spool.delete(clip_id, reason="delivered to every sink")
        except WakegateError:
            pass  # deleted already (by the owner, or when the spool was full)

    def close(self, grace_s: float) -> int:
        """Store what the gate handed over, give deliveries ``grace_s`` to finish; returns what is left."""
        self.worker.close()
        for satellite in self.satellites:
            satellite.close()
        left = 0
        if self.deliverers and not wait_until_idle(self.deliverers, grace_s):
            left = sum(len(d.outbox.pending()) for d in self.deliverers)
        for deliverer in self.deliverers:
            deliverer.close()
        return left
