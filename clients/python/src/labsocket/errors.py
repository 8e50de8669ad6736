"""Every error labsocket raises, in one hierarchy.

All of them derive from :class:`LabsocketError`, which is a :class:`ConnectionError`,
so ``except ConnectionError`` in an existing lab script keeps working. Errors the server
sent carry its JSON-RPC ``code``, ``message`` and ``data``.
"""

from __future__ import annotations

from typing import Any, List, Optional


class LabsocketError(ConnectionError):
    """Base class of every labsocket error."""

    def __init__(self, message: str) -> None:
        # One argument only: OSError treats two positional arguments as (errno, strerror).
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ServerUnavailable(LabsocketError):
    """The server cannot be reached (refused, unknown host, or not up yet)."""


class ConnectionLost(LabsocketError):
    """The connection dropped while a call was waiting for its reply.

    The call may or may not have run on the server; it is not retried automatically.
    """


class ClientClosed(LabsocketError):
    """The client was closed (by :meth:`labsocket.Client.close` or its ``with`` block)."""


class Timeout(LabsocketError, TimeoutError):
    """No reply (or no event) within the timeout."""


class ProtocolError(LabsocketError):
    """The peer sent something that is not the expected protocol."""


class ServerError(LabsocketError):
    """The server answered a call with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.server_message = message
        self.data = data


class MethodNotFound(ServerError):
    """The server has no such command (JSON-RPC -32601)."""


class InvalidParams(ServerError):
    """The command refused its parameters (JSON-RPC -32602)."""


class NotFound(ServerError, KeyError):
    """The named thing (variable, point, push socket) does not exist (-32004)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class AuthenticationFailed(ServerError):
    """The server requires a token and got none or a wrong one (-32003).

    Pass ``token=`` to :class:`labsocket.Client` or set ``LABSOCKET_TOKEN``.
    """


_BY_CODE = {
    -32601: MethodNotFound,
    -32602: InvalidParams,
    -32003: AuthenticationFailed,
    -32004: NotFound,
}


def server_error(error: Any) -> ServerError:
    """The exception for a JSON-RPC ``error`` object."""
    if not isinstance(error, dict):
        return ServerError(0, f"malformed error object: {error!r}")
    code = error.get("code")
    code = code if isinstance(code, int) else 0
    message = error.get("message")
    message = message if isinstance(message, str) else "error without a message"
    cls = _BY_CODE.get(code, ServerError)
    return cls(code, message, error.get("data"))


class EncodingError(LabsocketError, ValueError):
    """A value cannot be encoded or decoded with the requested encoding."""


class PickleRefused(EncodingError):
    """A variable is a pickle and the caller did not opt in to unpickling it.

    Unpickling runs arbitrary code chosen by whoever stored the variable; pass
    ``allow_pickle=True`` only for data from people you trust.
    """


class PullError(LabsocketError):
    """A PyExpLabSys-style UDP socket answered with an error."""


class OldData(PullError):
    """The codename's value is older than its timeout (the socket sent ``OLD_DATA``)."""

    def __init__(self, message: str, codenames: Optional[List[str]] = None) -> None:
        super().__init__(message)
        self.codenames = list(codenames or [])


class UnknownCommand(PullError, KeyError):
    """The socket answered ``UNKNOWN_COMMMAND`` (for example: no such codename)."""

    def __str__(self) -> str:
        return self.message


class WrongSocket(PullError, ValueError):
    """The socket's name is not the expected one."""


class PushError(PullError):
    """A push socket refused the data (``ERROR#...``)."""


class CallbackError(PushError):
    """The push socket's callback raised (``EXCEP#...``)."""
