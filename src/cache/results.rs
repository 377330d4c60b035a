//! The result cache: results of statements, bounded in (estimated) bytes, evicting the least
//! recently used first. An entry is keyed by the statement's identity (its SQL, parameters and
//! count query) and remembers the refresh-key values it was fetched under, so a request can
//! tell a fresh entry from a stale one and still serve the stale one when Cube would.

use super::Identity;
use crate::exec::{Cell, ResultSet};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Rows as the database returned them, and when.
#[derive(Debug)]
pub struct Fetched {
    pub rows: ResultSet,
    /// The `total` count query's rows.
    pub total: Option<ResultSet>,
    /// When the rows came back (Cube's `lastRefreshTime`).
    pub at: SystemTime,
    /// For age checks, on a clock that never goes back.
    pub at_instant: Instant,
    /// The refresh-key values the query ran under.
    pub key_values: Vec<Value>,
    pub bytes: usize,
}

impl Fetched {
    pub fn new(rows: ResultSet, total: Option<ResultSet>, key_values: Vec<Value>) -> Fetched {
        let bytes = size_of_rows(&rows) + total.as_ref().map(size_of_rows).unwrap_or(0);
        Fetched { rows, total, at: SystemTime::now(), at_instant: Instant::now(), key_values, bytes }
    }
}

/// The heap an allocation of `bytes` takes: the allocator's header and its size classes
/// (at least 32 bytes, in steps of 16), which for many small strings and rows is most of it.
fn heap(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes + 16).max(32).next_multiple_of(16)
    }
}

/// What a result takes in memory, estimated from its allocations: the row list, each row's
/// cells, each string's bytes, the column names, and a fixed cost for the entry.
fn size_of_rows(rows: &ResultSet) -> usize {
    let strings = |s: &String| heap(s.capacity());
    let columns =
        heap(rows.columns.capacity() * std::mem::size_of::<String>()) + rows.columns.iter().map(strings).sum::<usize>();
    let cells: usize = rows
        .rows
        .iter()
        .map(|r| {
            heap(r.capacity() * std::mem::size_of::<Cell>())
                + r.iter()
                    .map(|c| match c {
                        Cell::Text(s) | Cell::Decimal(s) => strings(s),
                        _ => 0,
                    })
                    .sum::<usize>()
        })
        .sum();
    512 + heap(rows.rows.capacity() * std::mem::size_of::<Vec<Cell>>()) + columns + cells
}

pub struct Results {
    entries: lru::LruCache<Identity, Arc<Fetched>>,
    bytes: usize,
    max_bytes: usize,
}

/// What an insert did, for the metrics.
#[derive(Debug, Default, PartialEq)]
pub struct Inserted {
    /// Whether the result was kept (not when it is too large for the cache).
    pub kept: bool,
    pub evicted: usize,
}

impl Results {
    pub fn new(max_bytes: usize) -> Results {
        Results { entries: lru::LruCache::unbounded(), bytes: 0, max_bytes }
    }

    /// The entry for `id`, marked as just used.
    pub fn get(&mut self, id: &Identity) -> Option<Arc<Fetched>> {
        self.entries.get(id).cloned()
    }

    /// Keeps `fetched` under `id` (replacing an older result), then evicts the least recently
    /// used entries until the cache is under its bound. A result larger than a quarter of the
    /// bound is not kept: it would push out everything else for one query.
    pub fn insert(&mut self, id: Identity, fetched: Arc<Fetched>) -> Inserted {
        let mut out = Inserted::default();
        if fetched.bytes > self.max_bytes / 4 {
            if let Some(old) = self.entries.pop(&id) {
                self.bytes -= old.bytes;
            }
            return out;
        }
        out.kept = true;
        self.bytes += fetched.bytes;
        if let Some(old) = self.entries.put(id, fetched) {
            self.bytes -= old.bytes;
        }
        while self.bytes > self.max_bytes {
            match self.entries.pop_lru() {
                Some((_, old)) => {
                    self.bytes -= old.bytes;
                    out.evicted += 1;
                }
                None => break,
            }
        }
        out
    }

    /// Drops the entry for `id` (a failed refresh of it: Cube drops the cached result too).
    pub fn remove(&mut self, id: &Identity) {
        if let Some(old) = self.entries.pop(id) {
            self.bytes -= old.bytes;
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(text: &str, rows: usize) -> Arc<Fetched> {
        let rs = ResultSet {
            columns: vec!["a".into()],
            rows: (0..rows).map(|_| vec![Cell::Text(text.to_string())]).collect(),
        };
        Arc::new(Fetched::new(rs, None, Vec::new()))
    }

    fn id(n: u8) -> Identity {
        [n; 32]
    }

    #[test]
    fn the_bound_holds_and_the_least_recently_used_go_first() {
        let one = result("x", 10).bytes;
        let bound = one * 4 + one / 2;
        let mut r = Results::new(bound);
        for n in 1..=4 {
            assert!(r.insert(id(n), result("x", 10)).kept);
        }
        assert!(r.get(&id(1)).is_some()); // 1 is now the most recently used
        let ins = r.insert(id(5), result("x", 10));
        assert_eq!(ins.evicted, 1);
        assert!(r.get(&id(2)).is_none(), "2 was the least recently used");
        assert!([1, 3, 4, 5].iter().all(|n| r.get(&id(*n)).is_some()));
        assert_eq!(r.bytes(), one * 4);
        // Replacing an entry counts its bytes once.
        r.insert(id(5), result("x", 10));
        assert_eq!(r.bytes(), one * 4);
        // A result over a quarter of the bound is not kept, and drops the one it replaces.
        assert!(!r.insert(id(5), result("x", 20)).kept);
        assert!(r.get(&id(5)).is_none());
        assert_eq!((r.len(), r.bytes()), (3, one * 3));
        r.remove(&id(1));
        assert_eq!(r.bytes(), one * 2);
    }
}
