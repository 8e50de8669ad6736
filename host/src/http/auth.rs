//! Bearer tokens on the HTTP front end (SPEC §10): with `[[auth.token]]` configured,
//! `/api/*`, `/metrics` and `/ws` answer `401 Unauthorized` without a valid token.
//!
//! The token comes in `Authorization: Bearer <token>`, or for `/ws` also as
//! `?access_token=<token>`, since a browser cannot set headers on a WebSocket. Reads (GET)
//! need the read role, which every token has; anything else would need write (the API
//! has no writes today). The page itself (`/`, `/assets/*`) stays open: it has to load to
//! ask for the token, and holds no data.
//!
//! A config with only the legacy `[native] auth_token*` does not install this check:
//! HTTP stays as it was (the caller passes no tokens).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::access::{Role, Tokens};
use crate::failure_log::FailureLog;

/// What the check needs: the tokens, and a bounded log of refusals (wrong tokens, roles
/// too low): a client looping on one must not fill the log.
pub struct Guard {
    tokens: Arc<Tokens>,
    refusals: Mutex<FailureLog>,
}

impl Guard {
    pub fn new(tokens: Arc<Tokens>) -> Arc<Self> {
        Arc::new(Self {
            tokens,
            refusals: Mutex::default(),
        })
    }

    fn log(&self, message: &str) {
        let logged = self
            .refusals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed(Instant::now(), message);
        if let Some(line) = logged {
            tracing::warn!("{line}");
        }
    }
}

/// Whether `path` holds data and so needs a token.
fn protected(path: &str) -> bool {
    path.starts_with("/api/") || path == "/api" || path == "/metrics" || path == "/ws"
}

/// The middleware: passes a request with a token whose role allows it, answers 401
/// (missing or wrong token) or 403 (a role too low) otherwise.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !protected(path) {
        return next.run(request).await;
    }
    let Some(guess) = presented_token(&request) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"labsocket\"",
            "a token is required: send Authorization: Bearer <token> (or ?access_token= on /ws)",
        );
    };
    let Some(token) = guard.tokens.find(&guess) else {
        guard.log(&format!(
            "http: wrong token for {} {path}",
            request.method()
        ));
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"labsocket\", error=\"invalid_token\"",
            "wrong token",
        );
    };
    let needed = match *request.method() {
        Method::GET | Method::HEAD => Role::Read,
        _ => Role::Write,
    };
    if token.role < needed {
        guard.log(&format!(
            "http: token '{}' (role {}) refused {} {path}: it needs the {} role",
            token.name,
            token.role.as_str(),
            request.method(),
            needed.as_str()
        ));
        let message = format!(
            "permission denied: this needs a token with the {} role",
            needed.as_str()
        );
        return refuse(
            StatusCode::FORBIDDEN,
            "Bearer realm=\"labsocket\", error=\"insufficient_scope\"",
            &message,
        );
    }
    next.run(request).await
}

/// The bearer token of `request`: its `Authorization` header, else (on `/ws`) its
/// `access_token` query parameter.
fn presented_token(request: &Request) -> Option<String> {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        });
    if from_header.is_some() || request.uri().path() != "/ws" {
        return from_header;
    }
    let Query(mut query) = Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok()?;
    query.remove("access_token")
}

/// A refusal in the API's JSON error form, with its `WWW-Authenticate` challenge.
fn refuse(status: StatusCode, challenge: &'static str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": labsocket_plugin_api::codes::AUTH_REQUIRED, "message": message}});
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_paths_are_protected_and_the_page_is_not() {
        for path in ["/api/status", "/api/history", "/metrics", "/ws"] {
            assert!(protected(path), "{path}");
        }
        for path in ["/", "/assets/app.js", "/favicon.ico", "/apix"] {
            assert!(!protected(path), "{path}");
        }
    }

    #[test]
    fn tokens_come_from_the_header_or_the_ws_query() {
        let request = |uri: &str, auth: Option<&str>| {
            let mut builder = Request::builder().uri(uri);
            if let Some(auth) = auth {
                builder = builder.header(header::AUTHORIZATION, auth);
            }
            builder.body(axum::body::Body::empty()).unwrap()
        };
        let token = |uri, auth| presented_token(&request(uri, auth));
        assert_eq!(token("/api/status", Some("Bearer abc")), Some("abc".into()));
        assert_eq!(
            token("/api/status", Some("bearer  abc ")),
            Some("abc".into())
        );
        assert_eq!(token("/api/status", Some("Basic abc")), None);
        assert_eq!(token("/api/status?access_token=abc", None), None);
        assert_eq!(
            token("/ws?topics=*&access_token=a%2Bb", None),
            Some("a+b".into())
        );
        assert_eq!(token("/ws", None), None);
    }
}
