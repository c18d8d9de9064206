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
    /// Try again after this many seconds (429 or 503 with `Retry-After`).
    Retry(StatusCode, u64, ErrorBody),
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

    /// 503 with `Retry-After`: the server is busy with this kind of work.
    pub fn busy(lang: Lang, seconds: u64) -> Self {
        ApiError::Retry(
            StatusCode::SERVICE_UNAVAILABLE,
            seconds,
            ErrorBody::new(
                ErrorCode::Unavailable,
                lang.pick(
                    "服务器繁忙，请稍后重试",
                    "The server is busy; try again shortly",
                ),
            ),
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
            ApiError::Client(status, _) | ApiError::Retry(status, _, _) => *status,
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

/// A database refusal that is the client's doing or a lost race, never a
/// fault: a unique or foreign-key violation, a bad value (PostgreSQL's data
/// exceptions, class 22, such as a NUL byte in text), or a serialization
/// failure or deadlock the client may retry.
fn refusal(e: &sqlx::Error) -> Option<ApiError> {
    use sqlx::error::ErrorKind;
    if matches!(e, sqlx::Error::RowNotFound) {
        // A row read under lock that a concurrent write removed.
        return Some(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "记录不存在或刚被删除，请刷新 (not found, or just removed; reload)",
        ));
    }
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let conflict = |zh: &str, en: &str| Some(ApiError::conflict(format!("{zh} ({en})")));
    match db.kind() {
        ErrorKind::UniqueViolation => {
            return conflict("该记录已存在或刚被他人创建，请刷新后重试", "already exists; reload and retry")
        }
        ErrorKind::ForeignKeyViolation | ErrorKind::NotNullViolation | ErrorKind::CheckViolation => {
            return Some(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Validation,
                "提交的数据引用了不存在的记录或不符合要求 (the data refers to a missing record or breaks a rule)",
            ))
        }
        _ => {}
    }
    // SQLite's busy and locked codes (5, 6 and their extended forms): the
    // writer queue did not move within the busy timeout. Retry later.
    if matches!(code.as_str(), "5" | "6" | "261" | "517" | "262") {
        return Some(ApiError::Retry(
            StatusCode::SERVICE_UNAVAILABLE,
            2,
            ErrorBody::new(
                ErrorCode::Unavailable,
                "服务器繁忙，请稍后重试 (the server is busy; try again shortly)",
            ),
        ));
    }
    if code == "40001" || code == "40P01" {
        return conflict(
            "数据正被他人同时修改，未保存；请重试",
            "changed concurrently; nothing saved, retry",
        );
    }
    if code.starts_with("22") {
        return Some(ApiError::bad_request(
            "提交的文本或数值无法保存（例如含有空字符） (a text or number cannot be stored, e.g. a NUL character)",
        ));
    }
    None
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if unreachable(&e) {
            ApiError::Unavailable(e.to_string())
        } else if let Some(refused) = refusal(&e) {
            tracing::info!(error = %e, "database refused a write");
            refused
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
            ApiError::Retry(_, seconds, body) => {
                let mut response = (status, Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.max(1).into());
                return response;
            }
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
