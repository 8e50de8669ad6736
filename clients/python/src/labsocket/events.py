"""Events and subscriptions: what :meth:`labsocket.Client.subscribe` returns.

A :class:`Subscription` is fed by the client's reader thread. Without a callback it is an
iterator over a bounded queue (when nobody reads it, the oldest events are dropped and
counted in :attr:`Subscription.lost`, so a forgotten subscription cannot eat memory).
With a callback, the subscription runs its own thread that calls it for each event, so a
slow callback delays neither replies nor other subscriptions, and a callback may itself
call the client.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Iterator, Optional, Tuple

from .errors import ClientClosed, LabsocketError, Timeout

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("labsocket")

EVENTS_LOST = "events_lost"
"""The topic the server uses to say it dropped ``count`` events for a slow reader."""


@dataclass(frozen=True)
class Event:
    """One server event: its topic and payload fields.

    ``event["data_name"]`` reads a field; a payload that is not an object is in
    ``event["data"]``.
    """

    topic: str
    fields: Dict[str, Any]
    received: float = field(default_factory=time.time)
    """When the client received it (Unix seconds)."""

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


Callback = Callable[[Event], Any]


class Subscription:
    """Events of some topics; iterate over it, or give :meth:`Client.subscribe` a callback.

    Use it as a context manager, or call :meth:`close`, to unsubscribe. It survives
    reconnections: the client subscribes again on every new connection.
    """

    def __init__(
        self,
        client: "Client",
        topics: Tuple[str, ...],
        callback: Optional[Callback] = None,
        maxsize: int = 10_000,
    ) -> None:
        self.topics = topics
        self.lost = 0
        """Events dropped here because they were not read fast enough."""
        self._client = client
        self._queue: Deque[Event] = collections.deque()
        self._maxsize = max(1, maxsize)
        self._cond = threading.Condition()
        self._ended: Optional[LabsocketError] = None
        self._callback = callback
        self._thread: Optional[threading.Thread] = None
        if callback is not None:
            self._thread = threading.Thread(
                target=self._run_callback, name=f"labsocket-callback-{topics}", daemon=True
            )
            self._thread.start()

    def wants(self, topic: str) -> bool:
        return topic == EVENTS_LOST or "*" in self.topics or topic in self.topics

    def get(self, timeout: Optional[float] = None) -> Event:
        """The next event; raises :class:`Timeout` after ``timeout`` seconds.

        Raises :class:`ClientClosed` once the subscription is closed, or the error that
        ended it (for a client without reconnection, :class:`ConnectionLost`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._queue:
                if self._ended is not None:
                    raise self._ended
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise Timeout(f"no event on {list(self.topics)} within {timeout} s")
                self._cond.wait(left)
            return self._queue.popleft()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        try:
            return self.get()
        except ClientClosed:
            raise StopIteration from None

    def close(self) -> None:
        """Unsubscribes; an iteration in progress ends."""
        if self._end(ClientClosed("the subscription is closed")):
            self._client._unsubscribe(self)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _deliver(self, event: Event) -> None:
        with self._cond:
            if self._ended is not None:
                return
            if len(self._queue) >= self._maxsize:
                self._queue.popleft()
                self.lost += 1
            self._queue.append(event)
            self._cond.notify()

    def _end(self, error: LabsocketError) -> bool:
        """Ends the subscription with ``error``; False if it had already ended."""
        with self._cond:
            if self._ended is not None:
                return False
            self._ended = error
            self._cond.notify_all()
            return True

    def _run_callback(self) -> None:
        assert self._callback is not None
        while True:
            try:
                event = self.get()
            except LabsocketError:
                return
            try:
                self._callback(event)
            except Exception:  # a broken callback must not end the subscription
                log.exception("labsocket: the callback for %s raised", list(self.topics))
