//! A blocking UDP client for the PyExpLabSys sockets: one request datagram, one reply.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crate::WAIT;

/// A UDP client bound to a free loopback port, talking to one server socket.
pub struct UdpClient {
    socket: UdpSocket,
    server: SocketAddr,
}

impl UdpClient {
    pub fn new(server: SocketAddr) -> UdpClient {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a free loopback port");
        socket.set_read_timeout(Some(WAIT)).unwrap();
        UdpClient { socket, server }
    }

    /// Sends `request` and returns the reply bytes, panicking after [`WAIT`].
    pub fn request_bytes(&self, request: &[u8]) -> Vec<u8> {
        self.socket.send_to(request, self.server).expect("send");
        let mut buffer = vec![0u8; 65_536];
        let (length, from) = self.socket.recv_from(&mut buffer).unwrap_or_else(|err| {
            panic!(
                "no reply to {:?} within {WAIT:?}: {err}",
                String::from_utf8_lossy(request)
            )
        });
        assert_eq!(from, self.server, "reply from the wrong address");
        buffer.truncate(length);
        buffer
    }

    /// Sends `request` and returns the reply as text.
    pub fn request(&self, request: &str) -> String {
        String::from_utf8(self.request_bytes(request.as_bytes())).expect("reply is UTF-8")
    }

    /// Sends `request` and asserts that no reply arrives within `quiet`.
    pub fn expect_no_reply(&self, request: &[u8], quiet: Duration) {
        self.socket.send_to(request, self.server).expect("send");
        self.socket.set_read_timeout(Some(quiet)).unwrap();
        let mut buffer = [0u8; 65_536];
        let received = self.socket.recv_from(&mut buffer);
        self.socket.set_read_timeout(Some(WAIT)).unwrap();
        if let Ok((length, _)) = received {
            panic!(
                "expected no reply to {:?}, got {:?}",
                String::from_utf8_lossy(request),
                String::from_utf8_lossy(&buffer[..length])
            );
        }
    }
}

/// A UDP listener standing in for a live server: collects the datagrams sent to it.
pub struct UdpListener {
    socket: UdpSocket,
}

impl UdpListener {
    pub fn new() -> UdpListener {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a free loopback port");
        socket.set_read_timeout(Some(WAIT)).unwrap();
        UdpListener { socket }
    }

    pub fn address(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// The next datagram as text, panicking after [`WAIT`].
    pub fn next(&self) -> String {
        let mut buffer = vec![0u8; 65_536];
        let (length, _) = self
            .socket
            .recv_from(&mut buffer)
            .unwrap_or_else(|err| panic!("no datagram within {WAIT:?}: {err}"));
        String::from_utf8(buffer[..length].to_vec()).expect("datagram is UTF-8")
    }
}

impl Default for UdpListener {
    fn default() -> Self {
        Self::new()
    }
}
