"""Import the network clients of PyPI pmgwidgets 0.9.4 (PyMiner's G2 clients) on current
Python, and point them at a test port.

`import pmgwidgets` runs the package's top-level __init__, which imports widget code that
needs PySide2 and fails on current Python, so the two outer packages are registered as bare
modules and only `pmgwidgets.utilities.network` is imported for real (its __init__ imports
the Qt client through qtpy, hence PyQt5). The clients connect to port 12306, hard-coded;
the harness redirects their sockets to the test server's port instead of changing either.
"""

import importlib
import importlib.util
import os
import socket
import sys
import types

PYMINER_PORT = 12306


def _redirecting_socket_module(port):
    """A stand-in for the `socket` module whose sockets connect to `port` instead of
    PyMiner's fixed 12306."""

    class RedirectingSocket(socket.socket):
        def connect(self, address):
            host, requested = address
            return super().connect((host, port if requested == PYMINER_PORT else requested))

    shim = types.ModuleType("socket")
    shim.__dict__.update({k: v for k, v in vars(socket).items() if not k.startswith("__")})
    shim.socket = RedirectingSocket
    return shim


def load(port):
    """Returns the `network` package of pmgwidgets 0.9.4 with its clients talking to
    127.0.0.1:`port`."""
    spec = importlib.util.find_spec("pmgwidgets")
    if spec is None:
        raise ImportError("pmgwidgets is not installed (pip install pmgwidgets==0.9.4)")
    root = os.path.dirname(spec.origin)
    for name, path in (("pmgwidgets", root), ("pmgwidgets.utilities", os.path.join(root, "utilities"))):
        module = types.ModuleType(name)
        module.__path__ = [path]
        sys.modules[name] = module
    network = importlib.import_module("pmgwidgets.utilities.network")
    # Every client (BaseClient, GeneralClient, PMClient) opens its sockets in baseclient.
    network.baseclient.socket = _redirecting_socket_module(port)
    return network
