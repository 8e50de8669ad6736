"""Clients for PyExpLabSys-style UDP sockets: :class:`PullClient` and :func:`push`.

Same semantics as PyExpLabSys' ``DateDataPullClient`` (the socket name is checked, then
``get_field``/``get_all_fields``/``status``; ``OLD_DATA`` raises), against labsocket's pull
sockets or original PyExpLabSys ones: nothing changes on the wire. Differences that only
make it sturdier: every request has a timeout (default 2 s), a whole datagram is read at
once (PyExpLabSys reads 1024-byte chunks and can truncate or hang on longer replies), and
a late reply to an earlier, timed-out request is never taken for the answer to the next.
"""

from __future__ import annotations

import ast
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from .errors import CallbackError, OldData, ProtocolError, PushError, Timeout, UnknownCommand, WrongSocket

OLD_DATA = "OLD_DATA"
#: PyExpLabSys' spelling, three M's included: it is what the sockets send.
UNKNOWN_COMMAND = "UNKNOWN_COMMMAND"

#: Largest UDP payload on IPv4; a reply is read whole.
MAX_DATAGRAM = 65_507

Point = Tuple[float, Any]


class _UdpRequester:
    """Sends one datagram and waits for the reply from the same address."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address = (socket.gethostbyname(host), port)
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._lock = threading.Lock()

    def request(self, text: str) -> str:
        payload = text.encode("ascii")
        with self._lock:
            self._drain()
            self._sock.settimeout(self.timeout)
            self._sock.sendto(payload, self.address)
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    reply, sender = self._sock.recvfrom(MAX_DATAGRAM)
                except socket.timeout:
                    raise Timeout(
                        f"no reply to {text[:60]!r} from {self.address[0]}:{self.address[1]}"
                        f" within {self.timeout} s"
                    ) from None
                except ConnectionRefusedError:
                    # Linux reports an ICMP "port unreachable" from the earlier send here.
                    raise Timeout(
                        f"nothing listens on UDP {self.address[0]}:{self.address[1]}"
                    ) from None
                if sender == self.address:
                    return reply.decode("utf-8", errors="replace")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"no reply to {text[:60]!r} within {self.timeout} s")
                self._sock.settimeout(left)

    def _drain(self) -> None:
        """Drops replies that arrived after their request timed out."""
        self._sock.setblocking(False)
        try:
            while True:
                self._sock.recvfrom(MAX_DATAGRAM)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        finally:
            self._sock.setblocking(True)

    def close(self) -> None:
        self._sock.close()


class PullClient:
    """Reads a pull socket (``DateDataPullSocket`` or ``DataPullSocket``).

    :param expected_socket_name: when given, the socket's ``name`` must be exactly this,
        or :class:`WrongSocket` is raised (so a script never reads the wrong machine).
    :param exception_on_old_data: raise :class:`OldData` for an ``OLD_DATA`` value
        (default); with False the string ``"OLD_DATA"`` is returned in its place.
    :param timeout: seconds to wait for each reply.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        expected_socket_name: Optional[str] = None,
        port: int = 9000,
        exception_on_old_data: bool = True,
        timeout: float = 2.0,
    ) -> None:
        self.host = host
        self.port = port
        self.exception_on_old_data = exception_on_old_data
        self._udp = _UdpRequester(host, port, timeout)
        try:
            self.name = self._udp.request("name")
            if expected_socket_name is not None and self.name != expected_socket_name:
                raise WrongSocket(
                    f"the socket at {host}:{port} is named {self.name!r},"
                    f" not {expected_socket_name!r}"
                )
            codenames = self._json("codenames_json")
            if not isinstance(codenames, list):
                raise ProtocolError(f"codenames_json answered {codenames!r}")
            self.codenames: List[str] = codenames
        except BaseException:
            self._udp.close()
            raise

    def get_field(self, codename: str) -> Union[Point, str]:
        """The latest ``(x, y)`` of ``codename`` (``codename#json``).

        :raises OldData: when the value is too old (unless ``exception_on_old_data`` is off).
        :raises UnknownCommand: when the socket has no such codename.
        """
        value = self._json(f"{codename}#json", codename)
        if value == OLD_DATA:
            if self.exception_on_old_data:
                raise OldData(f"{codename!r} is OLD_DATA (older than its timeout)", [codename])
            return OLD_DATA
        return _point(value, codename)

    def get_all_fields(self) -> Dict[str, Union[Point, str]]:
        """Every codename's ``(x, y)`` in one request (``json_wn``).

        :raises OldData: listing every old codename (unless ``exception_on_old_data``).
        """
        values = self._json("json_wn")
        if not isinstance(values, dict):
            raise ProtocolError(f"json_wn answered {values!r}")
        old = [name for name, value in values.items() if value == OLD_DATA]
        if old and self.exception_on_old_data:
            raise OldData(f"OLD_DATA for {', '.join(map(repr, old))}", old)
        return {
            name: OLD_DATA if value == OLD_DATA else _point(value, name)
            for name, value in values.items()
        }

    def status(self) -> Dict[str, Any]:
        """The socket's ``status``: ``system_status`` and ``socket_server_status``."""
        status = self._json("status")
        if not isinstance(status, dict):
            raise ProtocolError(f"status answered {status!r}")
        return status

    get_status = status  # PyExpLabSys' name

    def close(self) -> None:
        self._udp.close()

    def __enter__(self) -> "PullClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, command: str, codename: Optional[str] = None) -> Any:
        reply = self._udp.request(command)
        if reply == UNKNOWN_COMMAND:
            what = f"no codename {codename!r}" if codename is not None else f"no {command!r} command"
            raise UnknownCommand(f"the socket at {self.host}:{self.port} has {what}")
        try:
            return json.loads(reply)
        except ValueError:
            raise ProtocolError(f"{command!r} answered {reply[:200]!r}, which is not JSON") from None


def _point(value: Any, codename: str) -> Point:
    if not isinstance(value, list) or len(value) < 2:
        raise ProtocolError(f"{codename!r}: expected [x, y], got {value!r}")
    return value[0], value[1]


@dataclass(frozen=True)
class PushReply:
    """A push socket's answer: ``ACK#...`` (stored) or ``RET#...`` (a callback's return)."""

    kind: str
    """``"ACK"`` or ``"RET"``."""
    text: str
    """The text after ``#``, as sent."""
    value: Any
    """``text`` parsed: the ACK's dict (from its Python repr) or the RET's JSON, when it
    parses; otherwise the text itself."""


def push(
    data: Dict[str, Any], host: str = "127.0.0.1", port: int = 8500, timeout: float = 2.0
) -> PushReply:
    """Sends ``data`` to a push socket (``json_wn#<json>``) and returns its reply.

    :raises PushError: for ``ERROR#...`` (the socket refused the data).
    :raises CallbackError: for ``EXCEP#...`` (the socket's callback raised).
    :raises ValueError: when ``data`` is not a dict or contains ``#``, which the push
        protocol cannot carry.
    """
    if not isinstance(data, dict):
        raise ValueError("push sends a dict of named values")
    body = json.dumps(data)
    if "#" in body:
        raise ValueError("push data cannot contain '#': the protocol has no escape for it")
    requester = _UdpRequester(host, port, timeout)
    try:
        reply = requester.request(f"json_wn#{body}")
    finally:
        requester.close()
    kind, sep, text = reply.partition("#")
    if kind == "ERROR" and sep:
        raise PushError(f"the push socket at {host}:{port} refused the data: {text}")
    if kind == "EXCEP" and sep:
        raise CallbackError(f"the push socket's callback raised: {text}")
    if kind == "ACK" and sep:
        return PushReply(kind, text, _literal(text))
    if kind == "RET" and sep:
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        return PushReply(kind, text, value)
    raise ProtocolError(f"unexpected push reply {reply[:200]!r}")


def _literal(text: str) -> Any:
    """The ACK's Python repr as a value (``nan``/``inf`` have no literal: kept as text)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
