"""The Python side of tests/tests/tls.rs: the labsocket client and urllib over TLS.

Usage: tls_client.py NATIVE_PORT HTTP_PORT CA_FILE WRONG_CA_FILE

Prints one ``ok <what>`` line per check; any failure raises (non-zero exit).
"""

import json
import ssl
import sys
import threading
import urllib.request

import labsocket

native_port, http_port = int(sys.argv[1]), int(sys.argv[2])
ca_file, wrong_ca_file = sys.argv[3], sys.argv[4]

# By name and by address: the certificate names both (subjectAltName DNS and IP).
for host in ("localhost", "127.0.0.1"):
    with labsocket.Client(host, native_port, tls=True, cafile=ca_file, timeout=10) as lab:
        lab.ping()
        lab.set("tls_var", {"over": "tls", "n": [1, 2.5]})
        assert lab.get("tls_var") == {"over": "tls", "n": [1, 2.5]}, lab.get("tls_var")
        print(f"ok client {host}", flush=True)

# Events and heartbeats arrive over TLS (the server sends heartbeats every 0.2 s).
with labsocket.Client("localhost", native_port, tls=True, cafile=ca_file, timeout=10) as lab:
    got = threading.Event()
    seen = []

    def on_event(event):
        seen.append(event)
        got.set()

    lab.subscribe(["data_changed"], on_event)
    lab.set("tls_event", 7)
    assert got.wait(10), "no data_changed event over TLS"
    # Many calls from several threads at once: they pipeline on one TLS connection.
    results = []

    def caller(n):
        for i in range(50):
            results.append(lab.call("echo", [n, i]) == [n, i])

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 200 and all(results), results
    assert lab.heartbeat_period is not None and lab.heartbeat_period < 1, lab.heartbeat_period
    print("ok events pipelining heartbeats", flush=True)

# A CA that did not sign the server's certificate: refused, with the reason.
try:
    labsocket.Client("localhost", native_port, tls=True, cafile=wrong_ca_file, reconnect=False)
except labsocket.ServerUnavailable as err:
    assert "certificate verify failed" in str(err), err
    print("ok wrong CA refused", flush=True)
else:
    raise AssertionError("a client trusting another CA connected")

# The plain client on the TLS port gets no service: the server waits for a TLS
# handshake, sees none, and closes the connection.
try:
    plain = labsocket.Client("127.0.0.1", native_port, reconnect=False, timeout=5)
except labsocket.ServerUnavailable:
    pass
else:
    try:
        plain.ping()
        raise AssertionError("a plain client was served on the TLS port")
    except labsocket.LabsocketError:
        pass
    finally:
        plain.close()
print("ok plain client refused", flush=True)

# The JSON API over HTTPS, with the ssl module's certificate and host name checks.
context = ssl.create_default_context(cafile=ca_file)
with urllib.request.urlopen(
    f"https://localhost:{http_port}/api/points", context=context, timeout=10
) as reply:
    points = json.load(reply)
assert points["points"]["tls_point"]["y"] == 42, points
print("ok https api", flush=True)
