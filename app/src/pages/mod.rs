//! One module per page.

pub mod admin;
pub mod analysis;
pub mod audit;
pub mod forecast;
pub mod home;
pub mod login;
pub mod masterdata;
pub mod not_found;
pub mod password;
pub mod policy;
pub mod replenishment;
pub mod retailers;
pub mod review;
pub mod rules;
pub mod sheet;
pub mod summary;
pub mod supply;
