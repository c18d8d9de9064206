//! Shared components.

pub mod charts;
pub mod error;
pub mod layout;
