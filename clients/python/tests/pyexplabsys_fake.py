"""Stand-ins for PyExpLabSys' UDP sockets, answering byte for byte like the reference.

They serve the pull/push client tests until labsocket's own UDP front end is merged; the
``pull_socket`` and ``push_socket`` fixtures in ``conftest.py`` are the only users, so
switching those fixtures to the real server switches every test.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

UNKNOWN_COMMAND = "UNKNOWN_COMMMAND"
OLD_DATA = "OLD_DATA"


class _Server(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, handler: type, state: Any) -> None:
        self.state = state
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> "_Server":
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class PullState:
    """A ``DateDataPullSocket``: points dated by their x, with per-codename timeouts."""

    def __init__(self, name: str, codenames: List[str], timeouts: Dict[str, float]) -> None:
        self.name = name
        self.codenames = codenames
        self.timeouts = timeouts
        self.points: Dict[str, Tuple[float, Any]] = {c: (0.0, 0.0) for c in codenames}

    def value(self, codename: str) -> Any:
        x, y = self.points[codename]
        timeout = self.timeouts.get(codename)
        if timeout is not None and time.time() - x > timeout:
            return OLD_DATA
        return [x, y]

    def reply(self, cmd: str) -> str:
        if cmd.count("#") == 1:
            name, fmt = cmd.split("#")
            if name in self.points and fmt == "json":
                return json.dumps(self.value(name))
            if name in self.points and fmt == "raw":
                value = self.value(name)
                return value if value == OLD_DATA else "{},{}".format(*value)
            return UNKNOWN_COMMAND
        if cmd == "name":
            return self.name
        if cmd == "codenames_json":
            return json.dumps(self.codenames)
        if cmd == "codenames_raw":
            return ",".join(self.codenames)
        if cmd == "json":
            return json.dumps([self.value(c) for c in self.codenames])
        if cmd == "json_wn":
            return json.dumps({c: self.value(c) for c in self.points})
        if cmd == "status":
            return json.dumps({
                "system_status": {"python_version": "3.11.7"},
                "socket_server_status": {str(0): {"name": self.name, "type": "date",
                                                  "status": "OK", "since_last_activity": 0.0}},
            })
        return UNKNOWN_COMMAND


class _PullHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.state.reply(data.decode("ascii"))
        sock.sendto(reply.encode("ascii"), self.client_address)


def pull_socket(name: str, codenames: List[str], timeouts: Dict[str, float]) -> _Server:
    return _Server(_PullHandler, PullState(name, codenames, timeouts))


class PushState:
    """A ``DataPushSocket`` with ``store_last``, or a ``callback_direct`` returning JSON."""

    def __init__(self, callback: Optional[Any] = None) -> None:
        self.callback = callback
        self.last: Optional[Dict[str, Any]] = None

    def reply(self, req: str) -> str:
        if req.count("#") != 1:
            return "ERROR#" + UNKNOWN_COMMAND
        command, data = req.split("#")
        if command != "json_wn":
            return "ERROR#" + UNKNOWN_COMMAND
        try:
            value = json.loads(data)
        except ValueError:
            return f"ERROR#The string '{data}' could not be decoded as JSON"
        if not isinstance(value, dict):
            return (f"ERROR#The object '{value}' returned after decoding the JSON string"
                    " is not a dict")
        self.last = value
        if self.callback is None:
            return f"ACK#{value}"
        try:
            return "RET#" + json.dumps(self.callback(value))
        except Exception as err:  # what PyExpLabSys does with a callback's exception
            return f"EXCEP#{err}"


def push_socket(callback: Optional[Any] = None) -> _Server:
    return _Server(_PullHandler, PushState(callback))
