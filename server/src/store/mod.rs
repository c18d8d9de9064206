//! Queries, one module per feature. Functions take a pool or a connection so a
//! caller can run several in one transaction.

pub mod accounts;
pub mod allocation;
pub mod analysis;
pub mod audit;
pub mod baselines;
pub mod forecast;
pub mod home;
pub mod imports;
pub mod login_attempts;
pub mod order_flow;
pub mod org;
pub mod replenishment;
pub mod review;
pub mod settings;
pub mod specs;
pub mod summary;
pub mod users;
