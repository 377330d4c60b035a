//! Stage 3, query: Cube REST query JSON to a normalized `Query`.

pub mod dates;
