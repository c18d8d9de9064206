//! (issue 18, in progress)
