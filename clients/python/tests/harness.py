"""The real ``labsocket serve`` process for a test, on free loopback ports.

The binary is ``$LABSOCKET_BIN`` (the Rust test runner sets it), else the workspace's
``target/debug/labsocket``. Nothing sleeps and hopes: a start waits for the ``ready`` line,
and every ``listening <front end> <address>`` line before it is recorded (``native``,
``pull.<i>``, ``push.<i>``, ...: UDP sockets configured with port 0 are found there).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

#: How long any single wait in a test may take.
WAIT = 20.0

REPO = Path(__file__).resolve().parents[3]


def labsocket_bin() -> str:
    configured = os.environ.get("LABSOCKET_BIN")
    if configured:
        return configured
    return str(REPO / "target" / "debug" / "labsocket")


_SERVE_FLAGS: Optional[str] = None


def _serve_help() -> str:
    global _SERVE_FLAGS
    if _SERVE_FLAGS is None:
        _SERVE_FLAGS = subprocess.run(
            [labsocket_bin(), "serve", "--help"], capture_output=True, text=True, timeout=WAIT
        ).stdout
    return _SERVE_FLAGS


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """A running server in ``folder``; ``native_port`` 0 picks a free port."""

    def __init__(self, folder: Path, config: str = "", native_port: int = 0) -> None:
        self.folder = folder
        self.config = config
        self.process: Optional[subprocess.Popen] = None
        self.listening: Dict[str, Tuple[str, int]] = {}
        self.start(native_port)

    def start(self, native_port: int = 0) -> None:
        """Starts (or restarts) the server and waits until it is ready."""
        self.folder.mkdir(parents=True, exist_ok=True)
        config_path = self.folder / "labsocket.toml"
        config_path.write_text(self.config)
        args = [labsocket_bin(), "serve", "--config", str(config_path),
                "--native-port", str(native_port)]
        # Front ends with fixed default ports would collide between parallel tests.
        for option in ("--pyminer-port", "--http-port", "--live-server-port"):
            if option in _serve_help():
                args += [option, "0"]
        stderr = open(self.folder / "stderr.log", "ab")
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "info"},
        )
        stderr.close()
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def pump() -> None:
            for raw in stdout:
                lines.put(raw.decode().rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.listening = {}
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line == "ready":
                return
            if line is None:
                self.kill()
                raise RuntimeError(f"the server did not start:\n{self.stderr()}")
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "listening":
                host, _, port = parts[2].rpartition(":")
                self.listening[parts[1]] = (host, int(port))

    @property
    def native_port(self) -> int:
        return self.address("native")[1]

    def address(self, front_end: str) -> Tuple[str, int]:
        """The ``(host, port)`` front end ``front_end`` listens on (``native``, ``pull.0``,
        ...), from its ``listening`` line."""
        try:
            return self.listening[front_end]
        except KeyError:
            raise KeyError(f"no {front_end!r} front end; have {sorted(self.listening)}") from None

    def pull_address(self, index: int) -> Tuple[str, int]:
        """The ``index``-th ``[[pull_socket]]`` (``listening pull.<index> ...``)."""
        return self.address(f"pull.{index}")

    def push_address(self, index: int) -> Tuple[str, int]:
        """The ``index``-th ``[[push_socket]]`` (``listening push.<index> ...``)."""
        return self.address(f"push.{index}")

    def stderr(self) -> str:
        path = self.folder / "stderr.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pause(self) -> None:
        """SIGSTOP: the server stops answering but its sockets stay open."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL (a crash) and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=WAIT)

    def restart(self) -> None:
        """Kills the server and starts a new one on the same native port."""
        port = self.native_port
        self.kill()  # the listening socket is closed with the process: the port is free
        self.start(port)


def wait_until(predicate, what: str, timeout: float = WAIT, step: float = 0.02) -> None:
    """Polls ``predicate`` until it is true; fails with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)
