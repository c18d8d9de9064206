//! Shared components.

pub mod error;
pub mod layout;
