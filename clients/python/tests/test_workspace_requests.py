"""The workspace methods' requests and reply handling, against a recording stand-in that
answers with the shapes the workspace plugin specifies (``workspace.set/get/delete/list/
meta``; not found is -32004). ``test_workspace.py`` runs the same methods against the real
plugin."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from typing import Any, Dict, Iterator, List

import numpy
import pytest

import labsocket


class _Workspace:
    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.variables: Dict[str, Dict[str, Any]] = {}

    def answer(self, method: str, params: Any) -> Any:
        if method == "workspace.set":
            old = self.variables.get(params["name"], {}).get("meta", {})
            stored = {k: v for k, v in params.items() if k in ("value", "data")}
            meta = {
                "name": params["name"], "encoding": params.get("encoding", "json"),
                "type_hint": params.get("type_hint"), "size": len(json.dumps(stored)),
                "version": old.get("version", 0) + 1,
                "provider": params.get("provider", "native"),
                "created": old.get("created", time.time()), "modified": time.time(),
            }
            self.variables[params["name"]] = {"meta": meta, **stored}
            return meta
        if method in ("workspace.get", "workspace.meta", "workspace.delete"):
            variable = self.variables.get(params["name"])
            if method == "workspace.delete":
                self.variables.pop(params["name"], None)
                return {"name": params["name"], "deleted": variable is not None}
            if variable is None:
                raise LookupError(f"no variable '{params['name']}'")
            if method == "workspace.meta":
                return variable["meta"]
            reply = {"name": params["name"], "encoding": variable["meta"]["encoding"]}
            reply.update({k: variable[k] for k in ("value", "data") if k in variable})
            reply["meta"] = variable["meta"]
            return reply
        if method == "workspace.list":
            return [variable["meta"] for variable in self.variables.values()]
        raise NotImplementedError(method)


@pytest.fixture
def workspace() -> Iterator[tuple]:
    state = _Workspace()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for line in self.rfile:
                request = json.loads(line)
                if request["method"] == "status":
                    # Asked on connecting, for the heartbeat period: this server has none.
                    reply = {"jsonrpc": "2.0", "id": request["id"], "result": {}}
                    self.wfile.write(json.dumps(reply).encode() + b"\n")
                    continue
                state.requests.append(request)
                try:
                    reply = {"result": state.answer(request["method"], request.get("params"))}
                except LookupError as err:
                    reply = {"error": {"code": -32004, "message": str(err)}}
                reply.update(jsonrpc="2.0", id=request["id"])
                self.wfile.write(json.dumps(reply).encode() + b"\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield server.server_address[1], state
    server.shutdown()
    server.server_close()


def test_set_sends_the_specified_params(workspace: tuple) -> None:
    port, state = workspace
    with labsocket.Client(port=port) as lab:
        meta = lab.set("gain", 2.5)
        assert meta == labsocket.VariableMeta(**{**state.variables["gain"]["meta"]})
        lab.set("spectrum", numpy.arange(3.0), provider="acquisition")
        lab.set("blob", labsocket.Encoded("image/png", b"\x89PNG"))
        lab.set("picture", labsocket.Encoded("image/png", b"\x89PNG"), type_hint="array")
    gain, spectrum, blob, picture = (r["params"] for r in state.requests)
    # The server derives the type hint from the value: the client sends none of its own.
    assert gain == {"name": "gain", "value": 2.5}
    assert spectrum["encoding"] == "npy" and spectrum["provider"] == "acquisition"
    assert set(spectrum) == {"name", "encoding", "data", "provider"}
    assert blob == {"name": "blob", "encoding": "image/png", "data": "iVBORw=="}
    assert picture == {**blob, "name": "picture", "type_hint": "array"}


def test_get_meta_list_delete_and_not_found(workspace: tuple) -> None:
    port, state = workspace
    with labsocket.Client(port=port) as lab:
        lab.set("spectrum", numpy.arange(4, dtype="int16"))
        lab.set("settings", {"on": True})
        array = lab.get("spectrum")
        assert array.dtype == numpy.int16 and array.tolist() == [0, 1, 2, 3]
        assert lab.get("settings") == {"on": True}
        assert lab.get_encoded("spectrum").data.startswith(b"\x93NUMPY")
        assert lab.names() == ["spectrum", "settings"]
        assert lab.meta("spectrum").encoding == "npy"
        assert lab.delete("spectrum") is True
        assert lab.delete("spectrum") is False
        with pytest.raises(labsocket.NotFound, match="no variable 'spectrum'"):
            lab.get("spectrum")
    # get always offers to take raw bytes; a server without binary frames (like this
    # stand-in) ignores that and answers base64, which the client decodes the same.
    assert state.requests[-1]["params"] == {"name": "spectrum", "binary": True}
