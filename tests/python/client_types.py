"""What `labsocket.Client` writes, PyMiner's type filters find (issue 11). Run by
tests/tests/pyminer_types.rs:

    python client_types.py PYMINER_PORT NATIVE_PORT

Writes with the Python client, lists by type with the real PyMiner G2 BaseClient
(pmgwidgets 0.9.4), and prints `OK client_types` at the end; any failure raises.
"""

import sys

import numpy as np
import pandas as pd

import labsocket
import pmgwidgets_compat

PYMINER_PORT, NATIVE_PORT = int(sys.argv[1]), int(sys.argv[2])
network = pmgwidgets_compat.load(PYMINER_PORT)

with labsocket.Client(port=NATIVE_PORT, reconnect=False) as lab:
    lab.set("gain", 2.5)
    lab.set("count", 3)
    lab.set("sample_id", "S-17")
    lab.set("spectrum", np.arange(3.0), encoding="pickle")
    lab.set("raw_spectrum", np.arange(3.0))  # npy: typed, but PyMiner cannot load it
    lab.set("runs", pd.DataFrame({"a": [1, 2]}), encoding="pickle")
    lab.set("tags", ["a", "b"])
    hints = {meta.name: meta.type_hint for meta in lab.variables()}

assert hints == {
    "gain": "numeric", "count": "numeric", "sample_id": "string", "spectrum": "array",
    "raw_spectrum": "array", "runs": "table", "tags": "other",
}, hints

client = network.BaseClient()
found = {kind: client.get_all_var_names_of_type(kind) for kind in ("numeric", "string", "array", "table")}
assert found == {
    "numeric": ["gain", "count"], "string": ["sample_id"],
    "array": ["spectrum", "raw_spectrum"], "table": ["runs"],
}, found
# The pickled array is what a PyMiner console gets back.
np.testing.assert_array_equal(client.get_vars(["spectrum"])["spectrum"], np.arange(3.0))
print("OK client_types")
