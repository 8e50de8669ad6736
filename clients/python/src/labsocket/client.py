"""The native-protocol client: calls, workspace variables and events over one connection.

One TCP connection carries JSON-RPC 2.0, one JSON object per line. A reader thread owns
the receiving side: it hands each reply to the caller waiting for that ``id`` (so any
number of threads can call at once, and their requests pipeline), feeds events to
subscriptions, and watches the connection's health.

The connection repairs itself. When it drops, or when the server goes silent for 2.5
heartbeat periods (a hung or stopped server keeps its socket open, so silence is the
only sign; the period comes from ``status`` on each new connection, or from the
heartbeats of a server whose ``status`` does not give it), the reader reconnects with exponential backoff and jitter (so a restarted
server is not hit by every client at the same instant) and subscribes again to every
open subscription's topics. Calls made meanwhile wait for the new connection, up to
their timeout. A call whose request was already sent when the connection dropped fails
with :class:`ConnectionLost` instead of being resent: it may have run.

Large values travel as binary frames (docs/protocol.md): :meth:`Client.set` sends bytes
of :data:`BINARY_THRESHOLD` or more as ``{"$binary": N}`` followed by the N raw bytes,
and :meth:`Client.get` asks for a binary reply, so a 256 MiB array is neither
base64-encoded nor squeezed into one JSON line.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import json
import logging
import os
import random
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import encodings
from .encodings import Encoded
from .errors import (
    AuthenticationFailed,
    ClientClosed,
    ConnectionLost,
    LabsocketError,
    ProtocolError,
    ServerUnavailable,
    Timeout,
    server_error,
)
from .events import Callback, Event, Subscription

log = logging.getLogger("labsocket")

DEFAULT_PORT = 12307

#: The server's default ``[native] heartbeat_secs``; assumed until the server says (in
#: ``status``) or two heartbeats show otherwise.
DEFAULT_HEARTBEAT_SECS = 10.0

#: Silence, in heartbeat periods, after which the server is taken for dead.
DEAD_AFTER_PERIODS = 2.5

#: Longest line accepted from the server (a workspace value arrives on one line).
MAX_LINE_BYTES = 1 << 30

#: Values of at least this many encoded bytes are sent as binary frames, not base64.
BINARY_THRESHOLD = 64 * 1024

#: The key of the object that stands for raw bytes after a line: ``{"$binary": N}``.
BINARY_MARKER = "$binary"

Params = Union[Sequence[Any], Dict[str, Any], None]


@dataclass(frozen=True)
class VariableMeta:
    """What the server knows about a workspace variable (``workspace.meta``)."""

    name: str
    encoding: str
    type_hint: Optional[str] = None
    size: Optional[int] = None
    version: Optional[int] = None
    provider: Optional[str] = None
    created: Optional[float] = None
    modified: Optional[float] = None

    @classmethod
    def from_reply(cls, reply: Any) -> "VariableMeta":
        if not isinstance(reply, dict) or not isinstance(reply.get("name"), str):
            raise ProtocolError(f"expected variable metadata, got {reply!r}")
        return cls(
            name=reply["name"],
            encoding=str(reply.get("encoding", encodings.JSON)),
            type_hint=reply.get("type_hint"),
            size=reply.get("size"),
            version=reply.get("version"),
            provider=reply.get("provider"),
            created=reply.get("created"),
            modified=reply.get("modified"),
        )


class _Pending:
    """One request waiting for its reply (``binary``: it accepts a binary reply)."""

    __slots__ = ("done", "result", "error", "binary")

    def __init__(self, binary: bool = False) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: Optional[LabsocketError] = None
        self.binary = binary

    def finish(self, result: Any = None, error: Optional[LabsocketError] = None) -> None:
        self.result, self.error = result, error
        self.done.set()


class _HeartbeatLookup(_Pending):
    """The ``status`` request sent on every new connection: the native front end's
    ``heartbeat_secs`` gives the heartbeat period before the first heartbeat arrives.
    A server that does not report it (or has heartbeats off) leaves the period to be
    measured from the heartbeats."""

    __slots__ = ("client",)

    def __init__(self, client: "Client") -> None:
        super().__init__()
        self.client = client

    def finish(self, result: Any = None, error: Optional[LabsocketError] = None) -> None:
        super().finish(result, error)
        front_ends = result.get("front_ends") if isinstance(result, dict) else None
        for front_end in front_ends if isinstance(front_ends, list) else []:
            if not isinstance(front_end, dict) or front_end.get("name") != "native":
                continue
            period = front_end.get("heartbeat_secs")
            if isinstance(period, (int, float)) and period > 0:
                self.client.heartbeat_period = float(period)


class Client:
    """A thread-safe connection to a labsocket server's native front end.

    >>> with Client("127.0.0.1") as lab:
    ...     lab.set("spectrum", numpy.arange(5.0))
    ...     lab.get("spectrum")

    :param timeout: seconds a call waits for its reply (and for a reconnection).
    :param connect_timeout: seconds one connection attempt may take.
    :param reconnect: reconnect by itself when the connection drops (default). With
        ``False``, a lost connection fails calls and ends subscriptions.
    :param heartbeat_timeout: seconds of silence after which the server is taken for
        dead. Default: 2.5 times the heartbeat period, learned from the heartbeats.
    :param backoff: first and largest pause between reconnection attempts, in seconds.
    :param allow_pickle: let :meth:`get` unpickle ``pickle`` variables. Unpickling runs
        code chosen by whoever stored the variable: only for data from people you trust.
    :param on_connection: called with False when the connection is lost and with True
        when it is back (on the reader thread: keep it short, e.g. update a status light).
    :param token: the server's shared secret, sent first on every connection, when it
        requires one (``[native] auth_token_file``). Default: the ``LABSOCKET_TOKEN``
        environment variable, if set.
    :param tls: connect with TLS, to a server with ``[tls]``; the server's certificate
        must name ``host`` (DNS name or IP address) and be signed by a CA in ``cafile``
        (else the system's CAs).
    :param cafile: the CA certificate (PEM) that signed the server's certificate, or the
        server's self-signed certificate itself; implies ``tls=True``.
    :raises ServerUnavailable: when the first connection cannot be made (a TLS
        certificate that does not verify among the reasons).
    :raises AuthenticationFailed: when the server refuses the token (or wants one).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        reconnect: bool = True,
        heartbeat_timeout: Optional[float] = None,
        backoff: Tuple[float, float] = (0.1, 5.0),
        allow_pickle: bool = False,
        on_connection: Optional[Callable[[bool], Any]] = None,
        token: Optional[str] = None,
        tls: bool = False,
        cafile: Optional[str] = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.reconnect = reconnect
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff = backoff
        self.allow_pickle = allow_pickle
        self.on_connection = on_connection
        self._token = token if token is not None else os.environ.get("LABSOCKET_TOKEN")
        self._tls: Optional[ssl.SSLContext] = None
        if tls or cafile is not None:
            # Certificate and host name checks on (the default context's).
            self._tls = ssl.create_default_context(cafile=cafile)
        self.reconnects = 0
        """How many times the connection was re-established."""
        self.heartbeat_period: Optional[float] = None
        """The server's heartbeat period: from ``status`` once connected, else once two
        heartbeats have arrived (from their ``ts``, so a client that fell behind and read
        several at once measures it right)."""

        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._pending: Dict[int, _Pending] = {}
        self._subscriptions: List[Subscription] = []
        self._closed: Optional[LabsocketError] = None
        self._stopping = threading.Event()
        self._sock: Optional[socket.socket] = None
        # The binary reply whose raw bytes the reader is reading (reader thread only).
        self._incoming: Optional[_IncomingBytes] = None
        sock = self._connect()
        try:
            self._install(sock)
        except OSError as err:
            _shut(sock)
            raise ServerUnavailable(
                f"the labsocket server at {host}:{port} closed the connection: {err}"
            ) from None
        self._reader = threading.Thread(
            target=self._read_forever, name=f"labsocket-reader-{host}:{port}", daemon=True
        )
        self._reader.start()

    # ---- calls ----

    def call(self, method: str, params: Params = None, *, timeout: Optional[float] = None) -> Any:
        """Calls ``method`` and returns its result.

        :param params: a list (positional) or dict (named), or None.
        :raises ServerError: (or a subclass such as :class:`NotFound`) for an error reply.
        :raises Timeout: when no reply comes within ``timeout`` (default: the client's).
        :raises ConnectionLost: when the connection dropped after the request was sent.
        """
        return self._call(method, params, timeout)

    def _call(
        self,
        method: str,
        params: Params,
        timeout: Optional[float],
        raw: Optional[List[memoryview]] = None,
        binary_reply: bool = False,
    ) -> Any:
        """:meth:`call`, with the ``raw`` parts sent after the line (the params hold the
        ``{"$binary": N}`` marker, N their total size) and, with ``binary_reply``, raw
        bytes accepted after the reply line (they replace the marker in the result)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if params is not None and not isinstance(params, (list, dict)):
            if isinstance(params, tuple):
                params = list(params)
            else:
                raise TypeError("params must be a list, a tuple, a dict or None")
        request_id = next(self._ids)
        request: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        line = json.dumps(request, separators=(",", ":")).encode("ascii") + b"\n"
        pending = _Pending(binary_reply)
        sock = self._register(request_id, pending, deadline, method)
        try:
            with self._write_lock:
                sock.sendall(line)
                for part in raw or ():
                    sock.sendall(part)
        except OSError as err:
            self._forget(request_id)
            raise ConnectionLost(f"sending {method!r} failed: {err}") from None
        if not pending.done.wait(max(0.0, deadline - time.monotonic())):
            self._forget(request_id)
            raise Timeout(f"no reply to {method!r} within {timeout} s")
        if pending.error is not None:
            raise pending.error
        return pending.result

    def ping(self) -> None:
        """Raises unless the server answers ``ping``."""
        result = self.call("ping")
        if result != "pong":
            raise ProtocolError(f"ping answered {result!r}")

    def status(self) -> Dict[str, Any]:
        """The server's ``status``: version, uptime, front ends, counts."""
        status: Dict[str, Any] = self.call("status")
        return status

    def commands(self) -> List[Dict[str, Any]]:
        """Every command the server offers, with its plugin and description."""
        commands: List[Dict[str, Any]] = self.call("commands")
        return commands

    # ---- points (what the UDP pull sockets serve) ----

    def set_point(
        self, codename: str, point: Tuple[float, Any], *, timestamp: Optional[float] = None
    ) -> None:
        """Sets ``codename`` to ``point = (x, y)``, like PyExpLabSys' ``set_point``."""
        x, y = point
        params: Dict[str, Any] = {"codename": codename, "x": x, "y": y}
        if timestamp is not None:
            params["timestamp"] = timestamp
        self.call("set_point", params)

    def set_point_now(self, codename: str, value: Any) -> float:
        """Sets ``codename`` to ``(now, value)``; returns the x (Unix time) used."""
        x: float = self.call("set_point_now", [codename, value])
        return x

    def get_point(self, codename: str) -> Tuple[float, Any]:
        """The latest ``(x, y)`` of ``codename``; :class:`NotFound` if never set."""
        reply = self.call("get_point", [codename])
        return reply["x"], reply["y"]

    def history(
        self,
        codenames: Union[str, Sequence[str]],
        start: Union[float, "datetime.datetime"] = -3600.0,
        end: Union[None, float, "datetime.datetime"] = None,
        *,
        max_points: Optional[int] = None,
    ) -> Dict[str, Dict[str, List[Any]]]:
        """Recorded points of ``codenames`` between ``start`` and ``end`` (``history.query``).

        Returns ``{codename: {"time": [...], "x": [...], "y": [...]}}``, each column in
        time order, ready for ``numpy.asarray`` or ``pandas.DataFrame(columns)``.
        ``start``/``end`` are Unix seconds, :class:`datetime.datetime` objects, or a
        negative number of seconds before now (the default start is one hour ago; the
        default end is now). With ``max_points`` (at least 4) the server keeps each time
        bucket's first, last, lowest and highest rows, so a plot still shows every spike.
        """
        names = [codenames] if isinstance(codenames, str) else list(codenames)
        params: Dict[str, Any] = {"codenames": names, "from": _unix_time(start)}
        if end is not None:
            params["to"] = _unix_time(end)
        if max_points is not None:
            params["max_points"] = max_points
        result: Dict[str, Dict[str, List[Any]]] = self.call("history.query", params)
        return result

    def history_frame(
        self,
        codenames: Union[str, Sequence[str]],
        start: Union[float, "datetime.datetime"] = -3600.0,
        end: Union[None, float, "datetime.datetime"] = None,
        *,
        max_points: Optional[int] = None,
    ) -> Any:
        """:meth:`history` as one pandas DataFrame with columns ``codename, time, x, y``
        (``time`` as UTC datetimes); needs pandas."""
        import pandas

        columns = self.history(codenames, start, end, max_points=max_points)
        frames = [
            pandas.DataFrame({"codename": name, "time": rows["time"], "x": rows["x"], "y": rows["y"]})
            for name, rows in columns.items()
        ]
        if not frames:
            return pandas.DataFrame(columns=["codename", "time", "x", "y"])
        frame = pandas.concat(frames, ignore_index=True)
        frame["time"] = pandas.to_datetime(frame["time"], unit="s", utc=True)
        return frame

    # ---- workspace variables ----

    def set(
        self,
        name: str,
        value: Any,
        *,
        encoding: Optional[str] = None,
        type_hint: Optional[str] = None,
        provider: Optional[str] = None,
    ) -> VariableMeta:
        """Stores ``value`` as workspace variable ``name``; returns its new metadata.

        ``encoding`` defaults to ``npy`` for numpy arrays, ``arrow`` for DataFrames and
        ``json`` for everything JSON can hold; ``"pickle"`` stores any picklable object
        for Python readers (and is the one PyMiner consoles can load), ``"parquet"`` a
        DataFrame as Parquet. An :class:`Encoded` value is stored as its bytes with its
        own tag.

        The server derives the variable's ``type_hint`` (``string``, ``numeric``,
        ``array``, ``table`` or ``other``, the categories PyMiner's type filters use) from
        the value; give ``type_hint``, one of those words, only where it cannot tell (an
        :class:`Encoded` value in an encoding of your own, a list meant as an array).
        """
        tag, fields, parts = encodings.encode_parts(value, encoding)
        params: Dict[str, Any] = {"name": name}
        if tag != encodings.JSON:
            params["encoding"] = tag
        size = sum(part.nbytes for part in parts or ())
        if parts is not None and size >= BINARY_THRESHOLD:
            params["data"] = {BINARY_MARKER: size}
        elif parts is not None:
            params["data"] = base64.b64encode(b"".join(parts)).decode("ascii")
            parts = None
        else:
            params.update(fields)
        if type_hint is not None:
            params["type_hint"] = type_hint
        if provider is not None:
            params["provider"] = provider
        return VariableMeta.from_reply(self._call("workspace.set", params, None, parts))

    def get(self, name: str, *, allow_pickle: Optional[bool] = None) -> Any:
        """The value of workspace variable ``name``, decoded.

        :raises NotFound: when there is no such variable.
        :raises PickleRefused: for a pickle, unless ``allow_pickle`` (here or on the client).
        """
        reply = self._get_reply(name)
        allow = self.allow_pickle if allow_pickle is None else allow_pickle
        return encodings.decode(reply, allow_pickle=allow)

    def get_encoded(self, name: str) -> Encoded:
        """The variable's bytes and tag, not decoded (JSON values come as JSON text)."""
        reply = self._get_reply(name)
        encoding = reply.get("encoding", encodings.JSON)
        if encoding == encodings.JSON:
            return Encoded(encoding, json.dumps(reply.get("value")).encode("ascii"))
        data = reply.get("data", "")
        return Encoded(encoding, bytes(data) if isinstance(data, bytearray) else base64.b64decode(data))

    def _get_reply(self, name: str) -> Dict[str, Any]:
        """``workspace.get``, with the value's bytes as a binary frame (a server without
        them answers base64, which decodes the same)."""
        return self._call("workspace.get", {"name": name, "binary": True}, None, binary_reply=True)

    def delete(self, name: str, *, provider: Optional[str] = None) -> bool:
        """Deletes variable ``name``; False if there was none."""
        params: Dict[str, Any] = {"name": name}
        if provider is not None:
            params["provider"] = provider
        return bool(self.call("workspace.delete", params).get("deleted"))

    def meta(self, name: str) -> VariableMeta:
        """The metadata of variable ``name`` (:class:`NotFound` if none)."""
        return VariableMeta.from_reply(self.call("workspace.meta", {"name": name}))

    def variables(self) -> List[VariableMeta]:
        """The metadata of every variable."""
        return [VariableMeta.from_reply(meta) for meta in self.call("workspace.list", {})]

    def names(self) -> List[str]:
        """The names of every variable."""
        return [meta.name for meta in self.variables()]

    # ---- events ----

    def subscribe(
        self,
        topics: Union[str, Iterable[str]],
        callback: Optional[Callback] = None,
        *,
        maxsize: int = 10_000,
    ) -> Subscription:
        """Subscribes to ``topics`` (``"*"`` for all).

        Without ``callback``, iterate over the returned :class:`Subscription` (or call
        its ``get(timeout)``). With one, it is called with each :class:`Event` on the
        subscription's own thread. The subscription survives reconnections; close it
        (or leave its ``with`` block) to unsubscribe.
        """
        topic_list = (topics,) if isinstance(topics, str) else tuple(topics)
        if not topic_list or not all(isinstance(t, str) and t for t in topic_list):
            raise ValueError("topics must be non-empty strings")
        subscription = Subscription(self, topic_list, callback, maxsize)
        with self._cond:
            self._subscriptions.append(subscription)
        try:
            self.call("subscribe", {"topics": list(topic_list)})
        except BaseException:
            subscription.close()
            raise
        return subscription

    # ---- lifetime ----

    @property
    def connected(self) -> bool:
        """Whether the client has a working connection right now."""
        with self._cond:
            return self._sock is not None

    def close(self) -> None:
        """Closes the connection; waiting calls fail with :class:`ClientClosed`."""
        error = ClientClosed("the client is closed")
        with self._cond:
            if self._closed is not None:
                return
            self._closed = error
            sock, self._sock = self._sock, None
            subscriptions = list(self._subscriptions)
            self._cond.notify_all()
        self._stopping.set()
        if sock is not None:
            _shut(sock)
        self._fail_pending(error)
        for subscription in subscriptions:
            subscription._end(error)
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=5)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self.connected else "reconnecting"
        return f"<labsocket.Client {self.host}:{self.port} {state}>"

    # ---- internals: connection ----

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as err:
            raise ServerUnavailable(
                f"cannot reach the labsocket server at {self.host}:{self.port}: {err}"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self._tls is not None:
            try:
                # Under the connect timeout: a server that never answers the handshake
                # (a plain-text port) fails like an unreachable one.
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except (OSError, ValueError) as err:
                _shut(sock)
                raise ServerUnavailable(
                    f"TLS handshake with the labsocket server at {self.host}:{self.port} "
                    f"failed: {err}"
                ) from None
        if self._token is not None:
            try:
                self._authenticate(sock)
            except BaseException:
                _shut(sock)
                raise
        sock.settimeout(None)
        return sock

    def _authenticate(self, sock: socket.socket) -> None:
        """Sends ``auth`` and waits for its reply, before the reader thread owns ``sock``."""
        request_id = next(self._ids)
        line = {"jsonrpc": "2.0", "id": request_id, "method": "auth",
                "params": {"token": self._token}}
        buffer = bytearray()
        try:
            sock.sendall(json.dumps(line, separators=(",", ":")).encode("utf-8") + b"\n")
            while True:
                end = buffer.find(b"\n")
                if end < 0:
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise ServerUnavailable(
                            f"{self.host}:{self.port} closed the connection during auth"
                        )
                    buffer += chunk
                    continue
                reply = json.loads(bytes(buffer[:end]))
                del buffer[: end + 1]
                if not isinstance(reply, dict) or reply.get("id") != request_id:
                    continue  # a heartbeat sent before the reply
                if "error" in reply:
                    raise server_error(reply["error"])
                return
        except LabsocketError:  # an OSError too: must not be reworded below
            raise
        except (OSError, ValueError) as err:
            raise ServerUnavailable(
                f"cannot authenticate with {self.host}:{self.port}: {err}"
            ) from None

    def _install(self, sock: socket.socket) -> None:
        """Makes ``sock`` the connection, subscribes it to every open topic and asks the
        heartbeat period."""
        with self._cond:
            topics = sorted({t for s in self._subscriptions for t in s.topics})
        # Replies are not awaited (this may be the reader thread): the subscribe reply is
        # dropped, the status reply is handled when the reader gets it.
        if topics:
            _send_request(sock, next(self._ids), "subscribe", {"topics": topics})
        lookup_id = next(self._ids)
        _send_request(sock, lookup_id, "status")
        # Registered after sending is still in time: nobody reads ``sock`` before it is
        # installed below.
        with self._cond:
            self._pending[lookup_id] = _HeartbeatLookup(self)
        with self._cond:
            self._sock = sock
            self._cond.notify_all()

    def _register(
        self, request_id: int, pending: _Pending, deadline: float, method: str
    ) -> socket.socket:
        """Waits for a connection and registers ``pending`` on it."""
        with self._cond:
            while self._sock is None:
                if self._closed is not None:
                    raise self._closed
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(
                        f"{method!r}: no connection to {self.host}:{self.port} "
                        "(the client is reconnecting)"
                    )
                self._cond.wait(left)
            self._pending[request_id] = pending
            return self._sock

    def _forget(self, request_id: int) -> None:
        with self._cond:
            pending = self._pending.get(request_id)
            # A request that accepts a binary reply stays registered: raw bytes may still
            # follow its reply line, and the reader must know to take them off the stream.
            if pending is not None and not pending.binary:
                del self._pending[request_id]

    def _fail_pending(self, error: LabsocketError) -> None:
        with self._cond:
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.finish(error=error)

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._cond:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
            still = {t for s in self._subscriptions for t in s.topics}
            gone = [t for t in subscription.topics if t not in still]
            idle = self._closed is not None or self._sock is None
        if gone and not idle:
            try:
                self.call("unsubscribe", {"topics": gone}, timeout=min(self.timeout, 2.0))
            except LabsocketError:
                pass  # the connection is going away anyway; nothing left to undo

    # ---- internals: the reader thread ----

    def _read_forever(self) -> None:
        while True:
            with self._cond:
                sock = self._sock
            if sock is None:
                return
            reason = self._read_until_broken(sock)
            with self._cond:
                if self._closed is not None:
                    return
                if self._sock is sock:
                    self._sock = None
            _shut(sock)
            log.warning("labsocket: connection to %s:%s lost: %s", self.host, self.port, reason)
            lost = ConnectionLost(f"connection to {self.host}:{self.port} lost: {reason}")
            self._fail_pending(lost)
            self._tell(False)
            if not self.reconnect:
                self._give_up(lost)
                return
            if not self._reconnect():
                return

    def _give_up(self, error: LabsocketError) -> None:
        with self._cond:
            if self._closed is None:
                self._closed = error
            subscriptions = list(self._subscriptions)
            self._cond.notify_all()
        for subscription in subscriptions:
            subscription._end(error)

    def _reconnect(self) -> bool:
        """Reconnects with exponential backoff and jitter; False once closed."""
        first, largest = self.backoff
        attempt = 0
        while True:
            delay = min(largest, first * (2 ** attempt))
            # "Equal jitter": never less than half the delay, spread over the other half.
            if self._stopping.wait(delay / 2 + random.uniform(0, delay / 2)):
                return False
            attempt += 1
            try:
                sock = self._connect()
            except ServerUnavailable as err:
                log.debug("labsocket: reconnect attempt %d failed: %s", attempt, err)
                continue
            except AuthenticationFailed as err:  # retrying cannot fix a wrong token
                self._give_up(err)
                return False
            try:
                self._install(sock)
            except OSError:
                _shut(sock)
                continue
            with self._cond:
                if self._closed is not None:
                    _shut(sock)
                    self._sock = None
                    return False
            self.reconnects += 1
            log.warning("labsocket: reconnected to %s:%s", self.host, self.port)
            self._tell(True)
            return True

    def _tell(self, connected: bool) -> None:
        if self.on_connection is None:
            return
        try:
            self.on_connection(connected)
        except Exception:  # a broken hook must not stop the reader
            log.exception("labsocket: on_connection raised")

    def _dead_after(self) -> float:
        if self.heartbeat_timeout is not None:
            return self.heartbeat_timeout
        period = self.heartbeat_period or DEFAULT_HEARTBEAT_SECS
        return DEAD_AFTER_PERIODS * period

    def _read_until_broken(self, sock: socket.socket) -> str:
        """Reads and dispatches until the connection breaks; returns why."""
        # A binary reply cut off by the previous connection's end is gone with it.
        self._incoming = None
        buffer = bytearray()
        scanned = 0
        last_traffic = time.monotonic()
        last_heartbeat: Optional[float] = None  # the server's ts of the latest one
        probe_sent = False
        while not self._stopping.is_set():
            dead_after = self._dead_after()
            incoming = self._incoming
            try:
                # TLS may hold decrypted bytes the socket no longer signals.
                buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
                readable = buffered
                if not buffered:
                    readable, _, _ = select.select([sock], [], [], min(0.25, dead_after / 5))
                if readable and incoming is not None and not buffer:
                    # A binary reply's raw bytes go straight into their buffer.
                    received = sock.recv_into(incoming.rest())
                    chunk = b"" if received == 0 else None
                    if received:
                        last_traffic, probe_sent = time.monotonic(), False
                        self._take_bytes(received)
                        continue
                else:
                    chunk = sock.recv(1 << 20) if readable else None
            except ssl.SSLWantReadError:
                # TLS: the record read held no application data (e.g. a post-handshake
                # message); nothing to take yet, the connection is fine.
                chunk = None
            except (OSError, ValueError) as err:  # ValueError: the socket was closed
                return f"read failed: {err}"
            now = time.monotonic()
            if chunk is None:
                if now - last_traffic <= dead_after:
                    continue
                if last_heartbeat is not None or probe_sent:
                    return f"the server sent nothing for {now - last_traffic:.1f} s"
                # No heartbeat seen on this connection (the server may have them off):
                # ask once before giving up on it.
                if not self._probe(sock):
                    return "the connection does not accept data"
                probe_sent, last_traffic = True, now
                continue
            if not chunk:
                return "the server closed the connection"
            last_traffic, probe_sent = now, False
            buffer += chunk
            while True:
                incoming = self._incoming
                if incoming is not None:
                    # Raw bytes of a binary reply come before any further line.
                    take = min(len(buffer), len(incoming.rest()))
                    incoming.rest()[:take] = buffer[:take]
                    del buffer[:take]
                    self._take_bytes(take)
                    if self._incoming is not None:
                        break
                end = buffer.find(b"\n", scanned)
                if end < 0:
                    scanned = len(buffer)
                    break
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                scanned = 0
                heartbeat = self._handle_line(line)
                if heartbeat is not None:
                    if last_heartbeat is not None and heartbeat > last_heartbeat:
                        self.heartbeat_period = heartbeat - last_heartbeat
                    last_heartbeat = heartbeat
            if len(buffer) > MAX_LINE_BYTES:
                return f"the server sent a line longer than {MAX_LINE_BYTES} bytes"
        return "the client is closed"

    def _probe(self, sock: socket.socket) -> bool:
        line = {"jsonrpc": "2.0", "id": next(self._ids), "method": "ping"}
        try:
            with self._write_lock:
                sock.sendall(json.dumps(line).encode("ascii") + b"\n")
        except OSError:
            return False
        return True

    def _handle_line(self, line: bytes) -> Optional[float]:
        """Dispatches one line; returns a heartbeat's ``ts`` (None for anything else)."""
        if not line.strip():
            return None
        try:
            message = json.loads(line)
        except ValueError:
            log.warning("labsocket: ignoring a line that is not JSON: %.200r", line)
            return None
        heartbeat = None
        for item in message if isinstance(message, list) else [message]:
            if not isinstance(item, dict):
                continue
            if "method" in item:
                ts = self._handle_notification(item)
                heartbeat = heartbeat if ts is None else ts
            else:
                self._handle_reply(item)
        return heartbeat

    def _handle_notification(self, message: Dict[str, Any]) -> Optional[float]:
        method = message.get("method")
        params = message.get("params")
        if method == "heartbeat":
            ts = params.get("ts") if isinstance(params, dict) else None
            # Without a server time, the arrival time is the next best thing.
            return float(ts) if isinstance(ts, (int, float)) else time.time()
        if method != "event" or not isinstance(params, dict):
            return None
        fields = dict(params)
        topic = fields.pop("topic", None)
        if not isinstance(topic, str):
            return False
        event = Event(topic, fields)
        with self._cond:
            subscriptions = [s for s in self._subscriptions if s.wants(topic)]
        for subscription in subscriptions:
            subscription._deliver(event)
        return None

    def _handle_reply(self, message: Dict[str, Any]) -> None:
        request_id = message.get("id")
        with self._cond:
            waiter = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if waiter is None:
            if request_id is None and "error" in message:
                # A refusal for the connection as a whole (busy, line too long).
                log.warning("labsocket: the server says: %s", server_error(message["error"]))
            return
        if "error" in message:
            waiter.finish(error=server_error(message["error"]))
            return
        result = message.get("result")
        key, size = _binary_marker(result) if waiter.binary else (None, None)
        if size is None:
            waiter.finish(result=result)
            return
        self._incoming = _IncomingBytes(waiter, result, key, size)
        self._take_bytes(0)

    def _take_bytes(self, count: int) -> None:
        """Counts ``count`` raw bytes received into the binary reply being read, and
        finishes its call once they are all there."""
        incoming = self._incoming
        if incoming is None:
            return
        incoming.filled += count
        if incoming.filled == len(incoming.data):
            self._incoming = None
            incoming.result[incoming.key] = incoming.data
            incoming.waiter.finish(result=incoming.result)


class _IncomingBytes:
    """The raw bytes of a binary reply, read after its line into one buffer."""

    __slots__ = ("waiter", "result", "key", "data", "view", "filled")

    def __init__(self, waiter: _Pending, result: Dict[str, Any], key: str, size: int) -> None:
        self.waiter, self.result, self.key = waiter, result, key
        self.data = bytearray(size)
        self.view = memoryview(self.data)
        self.filled = 0

    def rest(self) -> memoryview:
        """Where the next bytes go."""
        return self.view[self.filled :]


def _binary_marker(result: Any) -> Tuple[Optional[str], Optional[int]]:
    """The key and N of a top-level ``{"$binary": N}`` member of a result object."""
    if not isinstance(result, dict):
        return None, None
    for key, value in result.items():
        if isinstance(value, dict) and len(value) == 1:
            size = value.get(BINARY_MARKER)
            if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                return key, size
    return None, None


def _send_request(sock: socket.socket, request_id: int, method: str, params: Params = None) -> None:
    line: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        line["params"] = params
    sock.sendall(json.dumps(line, separators=(",", ":")).encode("ascii") + b"\n")


def _shut(sock: socket.socket) -> None:
    # shutdown() first: it wakes a thread blocked in sendall() on this socket.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _unix_time(value: Any) -> float:
    """Unix seconds from a number (negative: seconds before now) or a datetime (naive ones
    are local time, as Python's ``datetime.timestamp`` takes them)."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    seconds = float(value)
    return time.time() + seconds if seconds < 0 else seconds

