//! The command implementations behind `main.rs`'s argument parsing: each calls the library and
//! renders its results and diagnostics for the terminal.

pub mod check;
pub mod common;
pub mod compile;
pub mod config;
pub mod init;
pub mod mcp;
pub mod preagg;
pub mod rollups;
pub mod serve;
pub mod table;
