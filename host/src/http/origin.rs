//! Keeping other web sites out of a loopback server.
//!
//! "Loopback only" does not by itself protect a local HTTP server: any page the user has
//! open can make the browser talk to `127.0.0.1`. Two holes matter here:
//!
//! - **DNS rebinding**: `evil.example` resolves to 127.0.0.1, and its scripts then read
//!   `/api/...` as same-origin. The request still says `Host: evil.example`, so a server
//!   bound to loopback answers only requests whose `Host` is a loopback name or address.
//! - **Cross-site WebSocket hijacking**: WebSockets are not covered by CORS, so a foreign
//!   page can open `ws://127.0.0.1:8080/ws`. The browser always sends `Origin` on a
//!   WebSocket handshake, so [`same_origin`] refuses a handshake whose `Origin` is not the
//!   page's own host. Clients that are not browsers send no `Origin` and are let in.
//!
//! A server bound to another address was exposed on purpose and is reached by names this
//! code cannot know, so there the `Host` check is off (the `Origin` check stays).

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether `Host` must name this machine's loopback.
#[derive(Clone, Copy)]
pub struct HostGuard {
    loopback_only: bool,
}

impl HostGuard {
    /// For a server bound to `bind`.
    pub fn new(bind: IpAddr) -> Self {
        Self {
            loopback_only: bind.is_loopback(),
        }
    }
}

/// Middleware: refuses a request to a loopback server that names another host.
pub async fn check_host(State(guard): State<HostGuard>, request: Request, next: Next) -> Response {
    if guard.loopback_only {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !is_loopback_host(host) {
            return (
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "this server listens on loopback only and answers requests for 127.0.0.1 or localhost, not '{host}'\n"
                ),
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Whether a `Host` header (`name[:port]`, `[v6][:port]`) names the loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host);
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a WebSocket handshake comes from a page served by this server (or from a
/// client that is not a browser: no `Origin`).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    let authority = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, authority)| authority);
    matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
}

/// The name part of `name[:port]` or `[v6][:port]`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:1",
            "LOCALHOST",
            "[::1]:8080",
            "[::1]",
            "127.1.2.3:80",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "",
            "[::2]:1",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn websocket_origin_must_match_host() {
        let headers = |origin: Option<&'static str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
            }
            headers
        };
        assert!(same_origin(&headers(None)));
        assert!(same_origin(&headers(Some("http://127.0.0.1:8080"))));
        assert!(!same_origin(&headers(Some("http://localhost:8080"))));
        assert!(!same_origin(&headers(Some("https://evil.example"))));
        assert!(!same_origin(&headers(Some("null"))));
    }
}
