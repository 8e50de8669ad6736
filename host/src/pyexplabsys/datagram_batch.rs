//! Receiving and answering UDP datagrams in batches.
//!
//! A pull socket's thread spent most of its time in the kernel: one `recvfrom` and one
//! `sendto` per request. On Linux a [`Batch`] takes every datagram already queued with
//! one `recvmmsg` (blocking only for the first) and sends all their replies with one
//! `sendmmsg`, so with several clients in flight the syscalls per request drop to a
//! fraction, while a lone client still gets its reply the moment it is rendered (the
//! batch is then one datagram). Elsewhere a batch is one datagram with `recv_from` and
//! `send_to`, as before.
//!
//! Each request is still answered in arrival order, and each reply goes to the address
//! its request came from, exactly as one-at-a-time serving does.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;

/// Datagrams taken per receive call (a batch is as large as what is queued, up to this).
#[cfg(target_os = "linux")]
pub const CAPACITY: usize = 16;
#[cfg(not(target_os = "linux"))]
pub const CAPACITY: usize = 1;

/// Received datagrams and the replies to them.
pub struct Batch {
    /// One receive buffer per datagram, each one byte longer than the largest request
    /// accepted, so an oversized request shows as longer than the limit.
    buffers: Vec<Vec<u8>>,
    /// `(buffer, length, sender)` of each datagram taken by the last receive.
    received: Vec<(usize, usize, SocketAddr)>,
    reply_bytes: Vec<u8>,
    replies: Vec<(Range<usize>, SocketAddr)>,
}

impl Batch {
    pub fn new(max_datagram: usize) -> Self {
        Self {
            buffers: (0..CAPACITY).map(|_| vec![0u8; max_datagram + 1]).collect(),
            received: Vec::with_capacity(CAPACITY),
            reply_bytes: Vec::new(),
            replies: Vec::with_capacity(CAPACITY),
        }
    }

    /// Waits (up to the socket's read timeout) for a datagram, then takes every other
    /// one already queued; how many were taken.
    pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.received.clear();
        self.reply_bytes.clear();
        self.replies.clear();
        receive_into(socket, &mut self.buffers, &mut self.received)?;
        Ok(self.received.len())
    }

    /// Datagram `i` of the last receive (its length may exceed the limit by one byte:
    /// the request was longer than the limit) and where it came from.
    pub fn datagram(&self, i: usize) -> (&[u8], SocketAddr) {
        let (buffer, length, peer) = self.received[i];
        (&self.buffers[buffer][..length], peer)
    }

    /// Queues `reply` for `peer`; sent by [`Batch::send_replies`].
    pub fn queue_reply(&mut self, reply: &[u8], peer: SocketAddr) {
        let start = self.reply_bytes.len();
        self.reply_bytes.extend_from_slice(reply);
        self.replies.push((start..self.reply_bytes.len(), peer));
    }

    /// Sends every queued reply. A reply that cannot be sent is logged and skipped (UDP
    /// promises nothing more, and the next requests must still be answered).
    pub fn send_replies(&mut self, socket: &UdpSocket) {
        send_all(socket, &self.reply_bytes, &self.replies);
        self.replies.clear();
        self.reply_bytes.clear();
    }
}

#[cfg(target_os = "linux")]
fn receive_into(
    socket: &UdpSocket,
    buffers: &mut [Vec<u8>],
    received: &mut Vec<(usize, usize, SocketAddr)>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;

    // SAFETY: all-zero is a valid value for these plain C structs.
    let mut addresses: [libc::sockaddr_storage; CAPACITY] = unsafe { std::mem::zeroed() };
    let mut iovecs: Vec<libc::iovec> = buffers
        .iter_mut()
        .map(|buffer| libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        })
        .collect();
    // SAFETY: as above.
    let mut messages: [libc::mmsghdr; CAPACITY] = unsafe { std::mem::zeroed() };
    for (i, message) in messages.iter_mut().enumerate() {
        message.msg_hdr.msg_name = (&mut addresses[i] as *mut libc::sockaddr_storage).cast();
        message.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        message.msg_hdr.msg_iov = &mut iovecs[i];
        message.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: every message points at a live address slot and a live buffer of the
    // stated length, all outliving the call; MSG_WAITFORONE blocks only for the first.
    let count = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            messages.as_mut_ptr(),
            CAPACITY as u32,
            libc::MSG_WAITFORONE as _,
            std::ptr::null_mut(),
        )
    };
    if count < 0 {
        return Err(io::Error::last_os_error());
    }
    for (i, (message, address)) in messages.iter().zip(&addresses).enumerate() {
        if i == count as usize {
            break;
        }
        // A sender that is not an IP address cannot be answered (nor occur on an IP
        // socket): skipped.
        if let Some(peer) = socket_address(address) {
            received.push((i, message.msg_len as usize, peer));
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn receive_into(
    socket: &UdpSocket,
    buffers: &mut [Vec<u8>],
    received: &mut Vec<(usize, usize, SocketAddr)>,
) -> io::Result<()> {
    let (length, peer) = socket.recv_from(&mut buffers[0])?;
    received.push((0, length, peer));
    Ok(())
}

#[cfg(target_os = "linux")]
fn send_all(socket: &UdpSocket, bytes: &[u8], replies: &[(Range<usize>, SocketAddr)]) {
    use std::os::fd::AsRawFd;

    let mut addresses: Vec<(libc::sockaddr_storage, libc::socklen_t)> =
        replies.iter().map(|(_, peer)| c_address(peer)).collect();
    let mut iovecs: Vec<libc::iovec> = replies
        .iter()
        .map(|(range, _)| libc::iovec {
            iov_base: bytes[range.clone()].as_ptr() as *mut libc::c_void,
            iov_len: range.len(),
        })
        .collect();
    let mut messages: Vec<libc::mmsghdr> = addresses
        .iter_mut()
        .zip(iovecs.iter_mut())
        .map(|((address, length), iovec)| {
            // SAFETY: all-zero is a valid value for this plain C struct.
            let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
            message.msg_hdr.msg_name = (address as *mut libc::sockaddr_storage).cast();
            message.msg_hdr.msg_namelen = *length;
            message.msg_hdr.msg_iov = iovec;
            message.msg_hdr.msg_iovlen = 1;
            message
        })
        .collect();
    let mut next = 0;
    while next < messages.len() {
        let rest = &mut messages[next..];
        // SAFETY: every message points at a live address and a live slice of `bytes`,
        // all outliving the call; the kernel only reads them.
        let sent =
            unsafe { libc::sendmmsg(socket.as_raw_fd(), rest.as_mut_ptr(), rest.len() as u32, 0) };
        if sent <= 0 {
            let err = io::Error::last_os_error();
            tracing::debug!(peer = %replies[next].1, "udp: send failed: {err}");
            next += 1;
        } else {
            next += sent as usize;
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn send_all(socket: &UdpSocket, bytes: &[u8], replies: &[(Range<usize>, SocketAddr)]) {
    for (range, peer) in replies {
        if let Err(err) = socket.send_to(&bytes[range.clone()], peer) {
            tracing::debug!(%peer, "udp: send failed: {err}");
        }
    }
}

/// The Rust address of a C socket address (IPv4 or IPv6).
#[cfg(target_os = "linux")]
fn socket_address(address: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match address.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let v4 =
                unsafe { &*(address as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let v6 = unsafe {
                &*(address as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = std::net::Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The C socket address of `peer`, and its length.
#[cfg(target_os = "linux")]
fn c_address(peer: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let length = match peer {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            let c = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            c.sin_family = libc::AF_INET as libc::sa_family_t;
            c.sin_port = v4.port().to_be();
            c.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above.
            let c = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            c.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            c.sin6_port = v6.port().to_be();
            c.sin6_addr.s6_addr = v6.ip().octets();
            c.sin6_flowinfo = v6.flowinfo();
            c.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, length as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_queued_datagram_is_taken_and_answered_to_its_sender() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let clients: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for (i, client) in clients.iter().enumerate() {
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            client
                .send_to(
                    format!("request {i}").as_bytes(),
                    server.local_addr().unwrap(),
                )
                .unwrap();
        }
        let mut batch = Batch::new(64);
        let mut answered = 0;
        while answered < clients.len() {
            let count = batch.receive(&server).unwrap();
            assert!(count >= 1);
            for i in 0..count {
                let (request, peer) = batch.datagram(i);
                let reply = [b"reply to ", request].concat();
                batch.queue_reply(&reply, peer);
            }
            batch.send_replies(&server);
            answered += count;
        }
        for (i, client) in clients.iter().enumerate() {
            let mut buffer = [0u8; 64];
            let length = client.recv(&mut buffer).unwrap();
            assert_eq!(
                &buffer[..length],
                format!("reply to request {i}").as_bytes()
            );
        }
    }

    #[test]
    fn an_oversized_datagram_shows_as_longer_than_the_limit() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .send_to(&[b'x'; 100], server.local_addr().unwrap())
            .unwrap();
        let mut batch = Batch::new(10);
        assert_eq!(batch.receive(&server).unwrap(), 1);
        assert_eq!(batch.datagram(0).0.len(), 11);
    }
}
