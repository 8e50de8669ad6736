"""A PyExpLabSys-style pull server, the baseline for `bench-udp`.

It has the architecture of PyExpLabSys' DateDataPullSocket (a stdlib
socketserver.UDPServer answering each datagram in one thread) and does the
same work per `<codename>#json` request as its PullUDPHandler: strict ASCII
decode, the one-'#' dispatch, the timeout check against time.time(), and
json.dumps of the (x, y) point. Other requests get UNKNOWN_COMMMAND.

Usage: python3 pull_server.py CODENAME VALUE
Prints "listening <port>" once bound to 127.0.0.1 (a free port), then serves
until killed.
"""

import json
import socketserver
import sys
import time

UNKNOWN_COMMAND = "UNKNOWN_COMMMAND"
OLD_DATA = "OLD_DATA"

DATA = {"data": {}, "timeouts": {}, "codenames": []}


class PullUDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        command = self.request[0].decode("ascii")
        sock = self.request[1]
        if command.count("#") == 1:
            name, fmt = command.split("#")
            if fmt == "json" and name in DATA["data"]:
                reply = self._single_json(name)
            else:
                reply = UNKNOWN_COMMAND
        else:
            reply = UNKNOWN_COMMAND
        sock.sendto(reply.encode("ascii"), self.client_address)

    def _old_data(self, codename):
        timeout = DATA["timeouts"].get(codename)
        if timeout is None:
            return False
        point_time = DATA["data"][codename][0]
        return time.time() - point_time > timeout

    def _single_json(self, codename):
        if self._old_data(codename):
            return json.dumps(OLD_DATA)
        return json.dumps(DATA["data"][codename])


def main():
    codename, value = sys.argv[1], float(sys.argv[2])
    DATA["codenames"].append(codename)
    DATA["data"][codename] = (time.time(), value)
    DATA["timeouts"][codename] = 3600.0
    server = socketserver.UDPServer(("127.0.0.1", 0), PullUDPHandler)
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
