//! Shared components.

pub mod charts;
pub mod confirm;
pub mod error;
pub mod layout;
