//! The API's one error type. Every failure becomes the shared [`ErrorBody`];
//! database and unexpected errors are logged and answered opaquely.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{ErrorBody, ErrorCode, Lang};

/// An error answered to an API client.
#[derive(Debug)]
pub enum ApiError {
    /// A client mistake with a ready body (400, 401, 403, 404, 409, 413, 422, 423).
    Client(StatusCode, ErrorBody),
    /// The database could not be reached: 503.
    Unavailable(String),
    /// Anything else: logged, answered with an opaque 500.
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Field errors listed at most in one answer.
pub const MAX_FIELD_ERRORS: usize = 300;

fn with_fields(body: ErrorBody, errors: impl IntoIterator<Item = (String, String)>) -> ErrorBody {
    errors
        .into_iter()
        .take(MAX_FIELD_ERRORS)
        .fold(body, |b, (f, m)| b.with_field(f, m))
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Client(status, ErrorBody::new(code, message))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// A validation failure carrying its per-field messages.
    pub fn validation(body: ErrorBody) -> Self {
        ApiError::Client(StatusCode::UNPROCESSABLE_ENTITY, body)
    }

    pub fn unauthenticated(lang: Lang) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            lang.pick("请先登录", "Please sign in"),
        )
    }

    pub fn forbidden(lang: Lang) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            lang.pick("您没有权限执行此操作", "You are not allowed to do this"),
        )
    }

    pub fn not_found(lang: Lang) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            lang.pick("未找到", "Not found"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// 422 with a message and a message per field, at most
    /// [`MAX_FIELD_ERRORS`] of them (the message gives the count).
    pub fn invalid_fields(
        message: impl Into<String>,
        errors: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        Self::validation(with_fields(
            ErrorBody::new(ErrorCode::Validation, message),
            errors,
        ))
    }

    /// 409 naming the fields someone else changed first.
    pub fn conflict_fields(
        message: impl Into<String>,
        errors: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        ApiError::Client(
            StatusCode::CONFLICT,
            with_fields(ErrorBody::new(ErrorCode::Conflict, message), errors),
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client(status, _) => *status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Whether a database error means the database cannot be reached (a 503
/// the client may retry) rather than a fault: no connection, a pool that
/// waited too long, or PostgreSQL's connection-exception (08) and
/// shutdown (57P) codes on a connection it is closing.
pub fn unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// How the session store marks an unreachable database in its errors,
/// which carry only text.
pub const UNREACHABLE_MARK: &str = "database unreachable: ";

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if unreachable(&e) {
            ApiError::Unavailable(e.to_string())
        } else {
            ApiError::Internal(e.into())
        }
    }
}

impl From<tower_sessions::session::Error> for ApiError {
    fn from(e: tower_sessions::session::Error) -> Self {
        let text = e.to_string();
        if text.contains(UNREACHABLE_MARK) {
            ApiError::Unavailable(text)
        } else {
            ApiError::Internal(anyhow::anyhow!("session: {text}"))
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::Client(_, body) => body,
            ApiError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                ErrorBody::new(
                    ErrorCode::Unavailable,
                    "数据库暂时不可用，请稍后重试 (database unavailable, try again shortly)",
                )
            }
            ApiError::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                ErrorBody::new(
                    ErrorCode::Internal,
                    "服务器内部错误 (internal server error)",
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
