//! Request extractors: the caller's language, JSON bodies that fail with the
//! project's error body, and the signed-in user with role checks.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use domain::{ErrorBody, ErrorCode, Lang, Role};
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::store::users::{self, UserRow};
use crate::AppState;

/// Session keys.
pub const SESSION_USER: &str = "user_id";
pub const SESSION_CSRF: &str = "csrf";
/// The account's session epoch when this session signed in.
pub const SESSION_EPOCH: &str = "epoch";

/// The client's address as the connection gives it (the accept loop puts
/// it on every request); unspecified where there is none, as in tests that
/// call the router directly.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip()),
        ))
    }
}

/// The language the client asked for (`Accept-Language`); Chinese by default.
#[derive(Debug, Clone, Copy)]
pub struct ReqLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for ReqLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ReqLang(lang_of(parts)))
    }
}

pub fn lang_of(parts: &Parts) -> Lang {
    lang_of_headers(&parts.headers)
}

/// The language asked for in `Accept-Language`; Chinese when absent.
pub fn lang_of_headers(headers: &axum::http::HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// A JSON body whose rejection is the project's error body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of_headers(req.headers());
        let (parts, body) = req.into_parts();
        let head = Request::from_parts(parts.clone(), axum::body::Body::empty());
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| json_rejection(JsonRejection::from(e), lang))?;
        if let Some(at) = nul_escape(&bytes) {
            return Err(nul_refused(lang, at));
        }
        let (parts, _) = head.into_parts();
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection, lang)),
        }
    }
}

/// The byte offset of a JSON `\u0000` escape (a NUL character in a string)
/// that is not itself an escaped backslash followed by `u0000`.
/// PostgreSQL cannot store NUL in text, and no field of this API has a
/// use for it, so such bodies are refused before they reach a handler.
pub fn nul_escape(body: &[u8]) -> Option<usize> {
    let needle = b"\\u0000";
    let mut from = 0;
    while let Some(i) = body[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
    {
        // Count the backslashes before this one: an odd number means the
        // backslash is itself escaped and the text is a literal "u0000".
        let run = body[..i].iter().rev().take_while(|&&b| b == b'\\').count();
        if run % 2 == 0 {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

fn nul_refused(lang: Lang, _at: usize) -> ApiError {
    ApiError::bad_request(lang.pick(
        "提交的文本含有空字符 (NUL)，未保存；请删除后重试",
        "The text contains a NUL character; nothing was saved",
    ))
}

/// Answers 503 at once while the database refuses connections
/// ([`crate::db::Reach`]), and ends a request still waiting for the
/// database when it is seen refusing them, instead of after the pool's
/// 5 s acquire timeout. Such a request can rarely have committed just
/// before the database went away (its answer lost as it would be with the
/// connection): every revisioned write is compare-and-set, so the
/// client's retry meets a 409, never a second write.
pub async fn fail_fast(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let reach = &state.db.reach;
    if reach.is_down() {
        return database_down().into_response();
    }
    tokio::select! {
        response = next.run(request) => response,
        () = reach.went_down() => database_down().into_response(),
    }
}

fn database_down() -> ApiError {
    ApiError::Retry(
        StatusCode::SERVICE_UNAVAILABLE,
        2,
        ErrorBody::new(
            ErrorCode::Unavailable,
            "数据库暂时不可用，请稍后重试 (database unavailable, try again shortly)",
        ),
    )
}

/// Refuses a URL whose path or query carries a NUL byte (`%00`): search
/// terms and names from the query string reach the database as text.
pub async fn refuse_nul_in_uri(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = request.uri();
    let has_nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    };
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        let lang = lang_of_headers(request.headers());
        return nul_refused(lang, 0).into_response();
    }
    next.run(request).await
}

fn json_rejection(rejection: JsonRejection, lang: Lang) -> ApiError {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => {
            let mut body = ErrorBody::new(
                ErrorCode::Validation,
                format!(
                    "{}: {detail}",
                    lang.pick("请求内容不符合要求", "The request body is not valid")
                ),
            );
            if let Some(field) = field_of(&detail) {
                body = body.with_field(
                    field,
                    lang.pick(
                        "取值无效：类型或范围不符合要求（如箱数须为不小于 0 的整数）",
                        "Invalid value: wrong type or out of range (cartons are whole numbers from 0)",
                    ),
                );
            }
            ApiError::validation(body)
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            lang.pick(
                "请求须为 JSON（Content-Type: application/json）",
                "The request must be JSON (Content-Type: application/json)",
            ),
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            lang.pick("请求内容过大", "The request body is too large"),
        ),
        _ => ApiError::bad_request(format!(
            "{}: {detail}",
            lang.pick("无法读取请求内容", "The request body could not be read")
        )),
    }
}

/// The field a JSON data error is about, in the project's `a.0.b` form,
/// from axum's text `…target type: a[0].b: reason at line 1 column 9`.
fn field_of(detail: &str) -> Option<String> {
    let rest = detail.split_once("target type: ")?.1;
    let (path, _) = rest.split_once(": ")?;
    if path.is_empty() || path == "." || path.contains(' ') {
        return None;
    }
    Some(path.replace('[', ".").replace(']', ""))
}

/// The signed-in user. Extracting it answers 401 when nobody is signed in.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserRow,
    pub lang: Lang,
}

impl CurrentUser {
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Answers 403 unless the policy lets the user's role call at all
    /// (scope is checked by the service against the object).
    pub fn require(&self, access: domain::policy::Access) -> Result<(), ApiError> {
        if access.permits(self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(self.lang))
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Loaded once per request: the role check in front of the route
        // (`require_role`) leaves it here for the handler.
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let lang = lang_of(parts);
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unauthenticated(lang))?;
        let user_id: Option<i64> = session.get(SESSION_USER).await.map_err(ApiError::from)?;
        let Some(user_id) = user_id else {
            return Err(ApiError::unauthenticated(lang));
        };
        let epoch: i64 = session
            .get(SESSION_EPOCH)
            .await
            .map_err(ApiError::from)?
            .unwrap_or(0);
        match users::by_id(&state.db.pool, user_id).await? {
            Some(user) if user.active && user.session_epoch == epoch => {
                if user.must_change_password && !may_call_before_password_change(parts) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        ErrorCode::PasswordChangeRequired,
                        lang.pick(
                            "您正在使用一次性密码，请先设置自己的新密码",
                            "You signed in with a one-time password; choose your own password first",
                        ),
                    ));
                }
                Ok(CurrentUser { user, lang })
            }
            _ => {
                session.flush().await.map_err(ApiError::from)?;
                Err(ApiError::unauthenticated(lang))
            }
        }
    }
}

/// Checks the caller's role against the route's row in the one policy
/// table before anything of the request is read: a role that may not call
/// a route gets 403 whatever its body or parameters hold (a bad body no
/// longer answers 422 first). The signed-in user is left in the request
/// for the handler's `CurrentUser`. Scope (which objects) is the
/// service's, checked against the object.
pub async fn require_role(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = request.into_parts();
    let access = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .and_then(|m| domain::policy::route(parts.method.as_str(), m.as_str()));
    match access {
        // Public routes, and any route missing from the table (the
        // authorization test fails on those).
        None | Some(domain::policy::Access::Public) => {}
        Some(access) => match CurrentUser::from_request_parts(&mut parts, &state).await {
            Ok(user) if access.permits(user.role()) => {
                parts.extensions.insert(user);
            }
            Ok(user) => return ApiError::forbidden(user.lang).into_response(),
            Err(e) => return e.into_response(),
        },
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Whether the route being called is one the policy allows an account
/// holding a one-time password to call.
fn may_call_before_password_change(parts: &Parts) -> bool {
    let path = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| parts.uri.path(), |m| m.as_str());
    domain::policy::allowed_before_password_change(parts.method.as_str(), path)
}

#[cfg(test)]
mod field_tests {
    use super::field_of;

    #[test]
    fn a_json_data_error_names_its_field() {
        let detail = "Failed to deserialize the JSON body into the target type: settings[0].stock: invalid value: integer `-1` at line 1 column 60";
        assert_eq!(field_of(detail).as_deref(), Some("settings.0.stock"));
        let root = "Failed to deserialize the JSON body into the target type: missing field `login` at line 1 column 2";
        assert_eq!(field_of(root), None);
    }
}

/// Bodies larger than this are not read before the 413: the connection is
/// closed instead. Twice the largest route limit (the actual-orders
/// import's 32 MiB), so a file somewhat over it still gets the message.
const DRAIN_MAX: usize = 64 * 1024 * 1024;

/// Answers 413 to a body declared larger than `limit` (or than the route's
/// own larger limit, see [`crate::untrusted::body_limit`]). The body is
/// read and dropped first (up to [`DRAIN_MAX`]): answering mid-upload makes
/// the server close the connection while the client is still sending, and
/// the client (a browser uploading a big workbook) sees a network error
/// instead of the message.
pub async fn refuse_oversized(
    limit: usize,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = crate::untrusted::body_limit(&request, limit);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(length) if length > limit => {
            let lang = lang_of_headers(request.headers());
            if length <= DRAIN_MAX {
                drain(request.into_body()).await;
            }
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                lang.pick("请求内容过大", "The request body is too large"),
            )
            .into_response()
        }
        _ => next.run(request).await,
    }
}

/// Reads a body to its end (at most [`DRAIN_MAX`] bytes) and drops each
/// chunk as it comes, holding none of it.
async fn drain(mut body: axum::body::Body) {
    use axum::body::HttpBody;
    let mut read = 0;
    while read <= DRAIN_MAX {
        match std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len()),
            _ => break,
        }
    }
}

/// Gives every API error answer the project's error body. Extractor
/// rejections that handlers never see (a path segment that is not a
/// number, a malformed query, a method the route lacks, a timeout) come
/// from axum and tower as plain text; clients parse one shape.
pub async fn error_body_everywhere(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let lang = lang_of_headers(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, zh, en) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "未找到", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::BadRequest,
            "不支持该请求方法",
            "Method not allowed",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "请求内容过大",
            "The request body is too large",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::BadRequest,
            "请求超时，请重试",
            "The request timed out; try again",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::BadRequest,
            "请求内容类型不正确",
            "Unsupported content type",
        ),
        s if s.is_server_error() => (
            ErrorCode::Internal,
            "服务器内部错误",
            "Internal server error",
        ),
        _ => (
            ErrorCode::BadRequest,
            "请求参数有误",
            "The request is not valid",
        ),
    };
    let message = if detail.is_empty() || status.is_server_error() {
        lang.pick(zh, en).to_string()
    } else {
        format!("{}: {detail}", lang.pick(zh, en))
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
