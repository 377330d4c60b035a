//! What the stores hold, as routing needs it: the built partitions of each rollup (structure,
//! time zone, security context), with their tables, ranges and row counts. Loaded from the
//! manifests, and loaded again after every build (and, under `cubec serve`, every few seconds,
//! so that one replica serves what another built).

use super::matcher::Built;
use super::store::{Entry, Store, Stores};
use crate::exec::Database;
use chrono::NaiveDateTime;
use std::collections::HashMap;

/// A built partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub partition: String,
    pub range: Option<(NaiveDateTime, NaiveDateTime)>,
    /// `schema.table`, quoted for its store.
    pub table: String,
    pub table_name: String,
    pub rows: i64,
    /// UTC.
    pub built_at: Option<NaiveDateTime>,
    pub key_value: String,
    pub covers_all: bool,
}

type Key = (String, String, String, String);

#[derive(Debug, Clone, Default)]
pub struct Available {
    parts: HashMap<Key, Vec<Part>>,
}

impl Available {
    /// What both stores hold (a store without a manifest yet holds nothing).
    pub fn load(stores: &Stores, source: Option<&mut Database>, embedded: Option<&mut Database>) -> Available {
        let mut out = Available::default();
        if let Some(db) = source {
            out.add(&stores.source, stores.source.manifest(db).unwrap_or_default());
        }
        if let Some(db) = embedded {
            out.add(&stores.embedded, stores.embedded.manifest(db).unwrap_or_default());
        }
        out
    }

    /// Adds the built entries of a store's manifest.
    pub fn add(&mut self, store: &Store, entries: Vec<Entry>) {
        for e in entries {
            let Some(table_name) = e.table.clone().filter(|t| !t.is_empty()) else { continue };
            let key = (e.key.rollup, e.key.structure, e.key.timezone, e.key.context);
            self.parts.entry(key).or_default().push(Part {
                partition: e.key.partition,
                range: e.range,
                table: store.table(&table_name),
                table_name,
                rows: e.rows,
                built_at: e.built_at,
                key_value: e.key_value,
                covers_all: e.covers_all,
            });
        }
        for parts in self.parts.values_mut() {
            parts.sort_by(|a, b| a.range.map(|r| r.0).cmp(&b.range.map(|r| r.0)).then(a.partition.cmp(&b.partition)));
        }
    }

    /// Adds what another store holds.
    pub fn merge(&mut self, other: Available) {
        for (k, v) in other.parts {
            self.parts.entry(k).or_default().extend(v);
        }
    }

    pub fn parts(&self, rollup: &str, structure: &str, timezone: &str, context: &str) -> &[Part] {
        self.parts
            .get(&(rollup.to_string(), structure.to_string(), timezone.to_string(), context.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// What the matcher needs to know of the built partitions.
    pub fn built(&self, rollup: &str, structure: &str, timezone: &str, context: &str) -> Option<Built> {
        let parts = self.parts(rollup, structure, timezone, context);
        if parts.is_empty() {
            return None;
        }
        let ranges = parts.iter().map(|p| p.range.unwrap_or((NaiveDateTime::MIN, NaiveDateTime::MAX))).collect();
        Some(Built {
            ranges,
            covers_all: parts.iter().all(|p| p.covers_all),
            rows: parts.iter().map(|p| p.rows.max(0) as u64).sum(),
        })
    }
}
