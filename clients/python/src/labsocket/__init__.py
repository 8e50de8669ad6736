"""labsocket: the Python client for a labsocket server.

- :class:`Client`: the native protocol (JSON-RPC over TCP): calls, workspace variables
  (JSON, numpy ``.npy``, Arrow/Parquet DataFrames, opt-in pickle), points, and events
  that survive server restarts.
- :class:`PullClient` and :func:`push`: PyExpLabSys-style UDP pull and push sockets.

Every error is a :class:`LabsocketError`, itself a :class:`ConnectionError`.
"""

from .client import DEFAULT_PORT, Client, VariableMeta
from .encodings import Encoded
from .errors import (
    AuthenticationFailed,
    CallbackError,
    ClientClosed,
    ConnectionLost,
    EncodingError,
    InvalidParams,
    LabsocketError,
    MethodNotFound,
    NotFound,
    OldData,
    PickleRefused,
    ProtocolError,
    PullError,
    PushError,
    ServerError,
    ServerUnavailable,
    Timeout,
    UnknownCommand,
    WrongSocket,
)
from .events import Event, Subscription
from .pull import OLD_DATA, PullClient, PushReply, push

__version__ = "0.1.0"

__all__ = [
    "AuthenticationFailed",
    "DEFAULT_PORT",
    "OLD_DATA",
    "CallbackError",
    "Client",
    "ClientClosed",
    "ConnectionLost",
    "Encoded",
    "EncodingError",
    "Event",
    "InvalidParams",
    "LabsocketError",
    "MethodNotFound",
    "NotFound",
    "OldData",
    "PickleRefused",
    "ProtocolError",
    "PullClient",
    "PullError",
    "PushError",
    "PushReply",
    "ServerError",
    "ServerUnavailable",
    "Subscription",
    "Timeout",
    "UnknownCommand",
    "VariableMeta",
    "WrongSocket",
    "push",
]
