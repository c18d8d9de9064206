//! Every client-side path, named once.

use domain::Role;

pub const LOGIN: &str = "/login";
pub const ROOT: &str = "/";

/// Where each role lands after signing in.
pub fn home_of(role: Role) -> String {
    format!("/home/{}", role.as_str())
}
