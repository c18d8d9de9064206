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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection, lang)),
        }
    }
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

    /// Answers 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
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
        let lang = lang_of(parts);
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unauthenticated(lang))?;
        let user_id: Option<i64> = session.get(SESSION_USER).await.map_err(ApiError::from)?;
        let Some(user_id) = user_id else {
            return Err(ApiError::unauthenticated(lang));
        };
        match users::by_id(&state.db.pool, user_id).await? {
            Some(user) if user.active => Ok(CurrentUser { user, lang }),
            _ => {
                session.flush().await.map_err(ApiError::from)?;
                Err(ApiError::unauthenticated(lang))
            }
        }
    }
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
/// closed instead.
const DRAIN_MAX: usize = 32 * 1024 * 1024;

/// Answers 413 to a body declared larger than `limit`. The body is read and
/// dropped first (up to [`DRAIN_MAX`]): answering mid-upload makes the
/// server close the connection while the client is still sending, and the
/// client (a browser uploading a big workbook) sees a network error instead
/// of the message.
pub async fn refuse_oversized(
    limit: usize,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(length) if length > limit => {
            let lang = lang_of_headers(request.headers());
            if length <= DRAIN_MAX {
                let _ = axum::body::to_bytes(request.into_body(), DRAIN_MAX).await;
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
