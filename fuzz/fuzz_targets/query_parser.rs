//! Any bytes as a query against the shop model: reading it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let opts = cubec::query::QueryOptions::default();
    let _ = cubec::query::parse_query(&json, &common::shop().model, &opts);
});
