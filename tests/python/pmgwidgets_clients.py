"""End-to-end scenarios with the real PyMiner G2 clients of pmgwidgets 0.9.4 against a
running labsocket. Run by tests/tests/pyminer_clients.rs:

    python pmgwidgets_clients.py SCENARIO PYMINER_PORT NATIVE_PORT

Each scenario asserts what a PyMiner user relies on and prints `OK SCENARIO` at the end;
any failure raises (non-zero exit with a traceback).
"""

import json
import queue
import socket
import sys
import threading
import time

import cloudpickle
import numpy as np

import pmgwidgets_compat

SCENARIO, PYMINER_PORT, NATIVE_PORT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
network = pmgwidgets_compat.load(PYMINER_PORT)
BaseClient, GeneralClient = network.BaseClient, network.GeneralClient
WAIT = 20.0

BUILTINS = ["Type", "Complex", "Matrix", "Vector", "TimeSeries", "StateSpace", "DataFrame", "Series"]


def native_call(method, params):
    """One JSON-RPC call on labsocket's native protocol."""
    with socket.create_connection(("127.0.0.1", NATIVE_PORT), timeout=WAIT) as sock:
        request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = json.loads(sock.makefile().readline())
    assert "result" in reply, reply
    return reply["result"]


class RecordingClient(GeneralClient):
    """A GeneralClient that queues every packet the server pushes."""

    def __init__(self, name):
        self.packets = queue.Queue()
        super().__init__(name)

    def on_server_message_received(self, packet):
        if packet:
            self.packets.put(json.loads(packet))

    def next_message(self, message, timeout=WAIT):
        deadline = time.time() + timeout
        while True:
            packet = self.packets.get(timeout=max(0.0, deadline - time.time()))
            if packet.get("message") == message:
                return packet

    def close(self):
        # shut_down() alone sends no FIN while the reader thread is blocked (reference).
        self.client.shutdown(socket.SHUT_RDWR)
        self.shut_down()


def base_client():
    client = BaseClient()
    values = {
        "x": 42,
        "f": 1.5,
        "s": "é text",
        "arr": np.arange(12, dtype=np.float64).reshape(3, 4),
        "d": {"k": [1, 2, (3, 4)]},
    }
    for name, value in values.items():
        assert client.set_var(name, value) == {"message": "succeeded"}, name
    assert client.get_var("x") == 42
    assert client.get_var("s") == "é text"
    np.testing.assert_array_equal(client.get_var("arr"), values["arr"])
    assert client.get_var("d") == values["d"]
    try:
        client.get_var("missing")
        raise AssertionError("get_var of a missing name must raise")
    except ValueError as err:
        assert str(err) == "variable missing not found!", err
    # None is not stored; the reply says so instead of "success".
    reply = client.set_var("none", None)
    assert reply["message"] == "failed" and "None" in reply["content"], reply
    # set_var_dic / get_all_vars / get_vars: the double-pickled dict round trip.
    assert client.set_var_dic({"a": 1, "b": [1, 2], "arr2": np.ones(3)}, "py") == {"message": "succeeded"}
    everything = client.get_all_vars()
    assert list(everything) == ["x", "f", "s", "arr", "d", "a", "b", "arr2"], list(everything)
    assert everything["b"] == [1, 2]
    np.testing.assert_array_equal(everything["arr2"], np.ones(3))
    assert client.get_vars(["a", "f", "missing"]) == {"a": 1, "f": 1.5}
    names = client.get_all_var_names()
    assert names == BUILTINS + ["x", "f", "s", "arr", "d", "a", "b", "arr2"], names
    assert client.get_all_public_var_names() == names[len(BUILTINS):]
    assert client.get_all_var_names_of_type("numeric") == ["x", "f", "a"]
    assert client.get_all_var_names_of_type("array") == ["arr", "arr2"]
    assert client.get_all_var_names_of_type("string") == ["s"]
    assert client.get_all_var_names_of_type("table") == []
    # Metadata of what the client wrote, over the native protocol.
    meta = native_call("workspace.meta", {"name": "arr"})
    assert (meta["encoding"], meta["type_hint"], meta["provider"]) == ("pickle", "array", "server"), meta
    assert client.delete_var("x", "py") == "x"
    assert "x" not in client.get_all_public_var_names()
    settings = client.get_settings()
    assert settings["message"] == "succeeded" and settings["settings"]["theme"] == "Fusion", settings
    reply = client.set_settings_param("theme", "Qdarkstyle")
    assert reply["message"] == "succeeded", reply
    assert client.get_settings()["settings"]["theme"] == "Qdarkstyle"
    assert "QMainWindow" in client.get_style_sheet()
    assert "QMainWindow" in network.get_style_sheet()


def json_interop():
    native_call("workspace.set", {"name": "cfg", "value": {"gain": 2.5, "tags": ["a", None, True], "n": 2**40}})
    client = BaseClient()
    assert client.get_var("cfg") == {"gain": 2.5, "tags": ["a", None, True], "n": 2**40}
    native_call("workspace.set", {"name": "raw", "encoding": "npy", "data": "AAAA"})
    assert client.get_all_vars() == {"cfg": client.get_var("cfg")}
    reply = client.send_dict_and_get_request_dict({"method": "read_p", "params": ["raw"]})
    assert reply["message"] == "failed" and "npy" in reply["content"], reply
    # And the other way: what a PyMiner client pickled, a native client gets as bytes.
    client.set_var("arr", np.arange(3))
    got = native_call("workspace.get", {"name": "arr"})
    import base64
    np.testing.assert_array_equal(cloudpickle.loads(base64.b64decode(got["data"])), np.arange(3))


def general_client():
    failures = queue.Queue()
    threading.excepthook = lambda args: failures.put(args.exc_value)
    first = RecordingClient("lab-A")
    assert first.next_message("Are you alive?") == {"name": "broadcast", "message": "Are you alive?"}
    other = RecordingClient("lab-B")
    other.next_message("Are you alive?")
    BaseClient().set_var("x", 7, provider="py")
    expected = {"name": "broadcast", "message": "data_changed", "data_name": "x", "data_source": "py"}
    assert first.next_message("data_changed") == expected
    assert other.next_message("data_changed") == expected
    # The same name again is refused: the client's thread raises ConnectionError.
    RecordingClient("lab-A")
    error = failures.get(timeout=WAIT)
    assert isinstance(error, ConnectionError) and str(error) == "socket name 'lab-A' already connected", error
    # Reconnecting after a clean close works at once (the original kept the dead name
    # for two or three heartbeats, 20-30 s). The server frees the name when it reads the
    # FIN, which may take a moment after close() returns here.
    first.close()
    started = time.time()
    while True:
        again = RecordingClient("lab-A")
        try:
            again.next_message("Are you alive?", timeout=1.0)
            break
        except queue.Empty:
            assert isinstance(failures.get_nowait(), ConnectionError)
            assert time.time() - started < 2.0, "the name stayed taken after the client left"
    elapsed = time.time() - started
    assert elapsed < 2.0, elapsed
    again.close()
    other.close()


def pm_client():
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    app = QApplication([])
    client = network.PMClient(name="qt")
    received = []
    client.signal_data_changed.connect(lambda name: (received.append(name), app.quit()))
    messages = []
    client.signal_server_message_received.connect(messages.append)
    writer = BaseClient()
    QTimer.singleShot(300, lambda: writer.set_var("qvar", [1, 2], provider="qt-test"))
    QTimer.singleShot(int(WAIT * 1000), app.quit)
    app.exec_()
    assert received == ["qvar"], (received, messages)
    assert client.get_var("qvar") == [1, 2]
    client.client.shutdown(socket.SHUT_RDWR)
    client.shut_down()


{"base_client": base_client, "json_interop": json_interop, "general_client": general_client, "pm_client": pm_client}[SCENARIO]()
print("OK", SCENARIO)
