"""The Python half of bench-large (tests/src/bin/bench-large.rs).

Usage: ``bench_large.py HOST PORT REDIS_PORT RUNS MIB [MIB ...]``; prints one JSON object
per line, one per size:
``{"mib", "bytes", "set_secs": [...], "get_secs": [...], "redis_set_secs": [...],
"redis_get_secs": [...]}``.

labsocket: ``Client.set(name, array)`` of a float64 numpy array and ``Client.get(name)``
(binary frames; the array checked once). Redis: redis-py ``SET``/``GET`` of the same
bytes (the array's ``.npy`` encoding, which is what labsocket stores), on one connection.
The two are interleaved run by run, so a noisy moment hits both.
"""

import io
import json
import sys
import time

import numpy
import redis

from labsocket import Client


def main() -> None:
    host, port, redis_port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    sizes = [int(mib) for mib in sys.argv[5:]]
    peer = redis.Redis(host=host, port=redis_port)
    peer.ping()
    with Client(host, port, timeout=600.0) as lab:
        for mib in sizes:
            array = numpy.arange(mib * (1 << 20) // 8, dtype=numpy.float64) * 1.5
            out = io.BytesIO()
            numpy.save(out, array, allow_pickle=False)
            npy = out.getvalue()
            row = {"mib": mib, "bytes": len(npy), "set_secs": [], "get_secs": [],
                   "redis_set_secs": [], "redis_get_secs": []}
            for run in range(runs):
                start = time.perf_counter()
                meta = lab.set("bench", array)
                row["set_secs"].append(time.perf_counter() - start)
                assert meta.size == len(npy), (meta.size, len(npy))
                start = time.perf_counter()
                back = lab.get("bench")
                row["get_secs"].append(time.perf_counter() - start)
                if run == 0:
                    assert numpy.array_equal(back, array), "labsocket returned another array"
                del back

                start = time.perf_counter()
                peer.set("bench", npy)
                row["redis_set_secs"].append(time.perf_counter() - start)
                start = time.perf_counter()
                fetched = peer.get("bench")
                row["redis_get_secs"].append(time.perf_counter() - start)
                if run == 0:
                    assert fetched == npy, "Redis returned other bytes"
                del fetched
            lab.delete("bench")
            peer.delete("bench")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
