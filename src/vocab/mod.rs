//! The vocabulary that model files and queries share: calendar units and local date-times
//! ([`time`]), and Cube's filter operators ([`Operator`]), which both a query's `filters` and an
//! access policy's `row_level` filters use. It sits below every stage (`load`, `resolve`,
//! `query` and the rest import it) and imports nothing of the pipeline itself.

mod operator;
pub mod time;

pub use operator::Operator;
pub use time::TimeUnit;
