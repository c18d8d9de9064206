//! Cross-site request forgery defence for every write.
//!
//! The session cookie is `SameSite=Strict`, and on top of that each write must
//! (a) come from this origin when the browser says where it came from, and
//! (b) once signed in, echo the session's token in `X-CSRF-Token`. The sign-in
//! itself only accepts `application/json`, which a cross-site form cannot send.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::extract::{lang_of, SESSION_CSRF};

pub const CSRF_HEADER: &str = "x-csrf-token";

pub async fn guard(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let lang = lang_of(&parts);
    let refuse = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            lang.pick(
                "请求来源校验失败，请刷新页面后重试",
                "The request failed the cross-site check; reload the page and try again",
            ),
        )
        .into_response()
    };

    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| {
                o.split_once("://")
                    .map(|(_, rest)| rest.trim_end_matches('/'))
            })
            .unwrap_or("");
        if origin_host.is_empty() || origin_host != host {
            return refuse();
        }
    }

    if let Some(session) = parts.extensions.get::<Session>() {
        let expected: Option<String> = session.get(SESSION_CSRF).await.ok().flatten();
        if let Some(expected) = expected {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
                return refuse();
            }
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
