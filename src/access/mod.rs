//! Data access control: Cube's `access_policy` on cubes and views, enforced for every query.
//!
//! Policies are part of the model: the resolve stage reads and checks them
//! ([`crate::resolve::policy`]); this stage takes the resolved model, a query and a caller, and
//! enforces, in two steps:
//! - [`caller`] decides, for one security context, which policies apply to each cube and so
//!   which members the caller may see ([`Caller`]); `/v1/meta` and the query parser use it.
//! - [`enforce`] turns a parsed query into the row filters the caller's policies demand, for
//!   every cube the query reads (named, under a view, joined through, inside a `sub_query`).
//!
//! Where Cube is lax, cubec denies: a missing security-context value, a non-list `groups` claim
//! or a condition that cannot be evaluated never lets rows through (see the README).

pub mod caller;
pub mod enforce;

pub use caller::Caller;
