//! The targets, one module each.

mod api_json;
mod avatar;
mod cache;
mod config;
mod extract;
mod script;

use crate::Target;

/// Every target, in the order `scripts/fuzz all` runs them.
pub(crate) static ALL: &[Target] = &[
    extract::TARGET,
    config::TARGET,
    api_json::TARGET,
    script::TARGET,
    avatar::TARGET,
    cache::TARGET,
];
