//! The one error body every API error is answered with, and the codes clients
//! switch on. The browser renders `message` and the per-field messages as they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Stable machine-readable error kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request could not be read (malformed JSON, wrong content type).
    BadRequest,
    /// The request was read but a value broke a rule; see `fields`.
    Validation,
    /// Not signed in, or the session has ended.
    Unauthenticated,
    /// Signed in, but the role or scope does not allow this.
    Forbidden,
    /// Nothing there (or nothing the caller may know about).
    NotFound,
    /// It was there and is no longer served (a handout already downloaded).
    Gone,
    /// Someone else changed the data first, or a uniqueness rule was hit.
    Conflict,
    /// Too many failed sign-ins; the account is locked for a while.
    Locked,
    /// Signed in with a one-time password: choose a new password first.
    PasswordChangeRequired,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// Too many attempts from this client; `Retry-After` says when to try again.
    RateLimited,
    /// The database is unavailable; try again shortly.
    Unavailable,
    /// An unexpected fault on the server; details are in the server log only.
    Internal,
}

/// The JSON body of every non-2xx API answer.
///
/// `fields` maps a field name (as in the request body) to the messages for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    /// Adds a message for one field.
    pub fn with_field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.fields
            .entry(field.into())
            .or_default()
            .push(message.into());
        self
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for (field, messages) in &self.fields {
            write!(f, "; {field}: {}", messages.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_serialises_to_the_documented_shape() {
        let body = ErrorBody::new(ErrorCode::Validation, "输入有误")
            .with_field("upper", "上限不能小于下限");
        let json = serde_json::to_value(&body).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"code": "validation", "message": "输入有误", "fields": {"upper": ["上限不能小于下限"]}})
        );
    }

    #[test]
    fn error_body_without_fields_omits_them() {
        let json =
            serde_json::to_value(ErrorBody::new(ErrorCode::NotFound, "x")).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"code": "not_found", "message": "x"})
        );
    }
}
