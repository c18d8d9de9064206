//! One service per feature: each owns its transactions and the
//! compare-and-set rules of its writes. Handlers extract, call one service
//! function and answer.

pub mod accounts;
pub mod allocation;
pub mod analysis;
pub mod audit_log;
pub mod auth;
pub mod baselines;
pub mod forecast;
pub mod imports;
pub mod masterdata;
pub mod order_flow;
pub mod reach;
pub mod replenishment;
pub mod reports;
pub mod review;
