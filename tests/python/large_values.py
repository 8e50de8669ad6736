"""Large workspace values through the Python client, for tests/tests/workspace_large.rs.

Usage: ``large_values.py HOST PORT MODE [MIB]``; prints one JSON object.

- ``round_trip MIB``: stores a float64 numpy array of MIB MiB as ``big``, reads it back,
  checks it element by element, and prints the sizes and times.
- ``check MIB``: reads ``big`` (after a restart) and checks it against the same array.
- ``too_big``: the server's refusals of values over its limits, then a small value on the
  same client (the connection stays usable).
"""

import json
import sys
import time

import numpy

from labsocket import Client, ServerError


def expected(mib: int) -> numpy.ndarray:
    # Not a constant: a shifted or truncated copy would not compare equal.
    return numpy.arange(mib * (1 << 20) // 8, dtype=numpy.float64) * 1.5


def main() -> None:
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with Client(host, port, timeout=300.0) as lab:
        if mode == "round_trip":
            array = expected(int(sys.argv[4]))
            start = time.perf_counter()
            meta = lab.set("big", array)
            stored = time.perf_counter()
            back = lab.get("big")
            read = time.perf_counter()
            assert back.dtype == array.dtype and back.shape == array.shape, (back.dtype, back.shape)
            assert numpy.array_equal(back, array), "the array came back different"
            print(json.dumps({
                "size": meta.size,
                "array_bytes": array.nbytes,
                "encoding": meta.encoding,
                "set_secs": stored - start,
                "get_secs": read - stored,
            }))
        elif mode == "check":
            back = lab.get("big")
            print(json.dumps({"equal": bool(numpy.array_equal(back, expected(int(sys.argv[4]))))}))
        elif mode == "too_big":
            errors = {}
            for name, mib in (("over_variable", 2), ("over_frame", 8)):
                try:
                    lab.set(name, numpy.zeros(mib * (1 << 20) // 8))
                    errors[name] = None
                except ServerError as err:
                    errors[name] = err.server_message
            small = numpy.arange(10.0)
            lab.set("small", small)
            errors["small_back"] = lab.get("small").tolist() == small.tolist()
            errors["names"] = lab.names()
            print(json.dumps(errors))
        else:
            raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
