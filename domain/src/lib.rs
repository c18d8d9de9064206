//! Pure business types and rules of the product, shared by the browser app and the
//! API server. No I/O lives here: everything is a value in, a value out.

pub mod accounts;
pub mod analysis;
pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod error;
pub mod forecast;
pub mod home;
pub mod i18n;
pub mod masterdata;
pub mod month;
pub mod org;
pub mod policy;
pub mod quantity;
pub mod replenishment;
pub mod role;

pub use error::{ErrorBody, ErrorCode};
pub use i18n::Lang;
pub use role::Role;
