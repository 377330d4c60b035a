//! Refresh-key values, as Cube evaluates them, one per cube a query reads:
//!
//! - `every` (an interval or a cron schedule): the bucket of the clock it is in, computed here
//!   without a query (Cube runs `FLOOR(EXTRACT(EPOCH FROM NOW()) / N)` on the database, or,
//!   with `CUBEJS_REFRESH_KEY_LOCAL_TIME`, the same on its own clock);
//! - `sql`: the rows the statement returns on the source, compared as they are. It runs again
//!   once its renewal interval has passed (`every` beside it, else the dialect's default),
//!   concurrent requests share one run, and `must-revalidate` / `renewQuery` run it at once;
//! - `immutable`: a constant.
//!
//! Values have Cube's shape, a list of rows per key (`[{"refresh_key": "2890517"}]`), which is
//! what `/v1/load` shows as `refreshKeyValues`. The pre-aggregation refresher reuses them.

use super::{lock, wait_for, Identity, QueryCache};
use crate::sql::{CompiledSql, RefreshCheck, RefreshKeyQuery};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The values of `sql` keys, with when they were read. Bounded: the oldest go first.
pub struct KeyMemo {
    values: lru::LruCache<Identity, (Value, Instant)>,
}

impl Default for KeyMemo {
    fn default() -> Self {
        KeyMemo {
            values: lru::LruCache::new(std::num::NonZeroUsize::new(10_000).unwrap_or(std::num::NonZeroUsize::MIN)),
        }
    }
}

/// The value of each key of a query, in order. A `sql` key that fails gives an error value,
/// which no cached result matches, so the query itself runs (and reports the database's error).
pub async fn evaluate(cache: &Arc<QueryCache>, keys: &[RefreshKeyQuery], force: bool) -> Vec<Value> {
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        out.push(match &key.check {
            RefreshCheck::Every(every) => json!([{ "refresh_key": every.bucket(now) }]),
            RefreshCheck::Immutable => json!([{ "refresh_key": "immutable" }]),
            RefreshCheck::Sql { sql, params, renewal } => sql_value(cache, sql, params, *renewal, force).await,
        });
    }
    out
}

async fn sql_value(cache: &Arc<QueryCache>, sql: &str, params: &[String], renewal: Duration, force: bool) -> Value {
    let compiled = Arc::new(CompiledSql { sql: sql.to_string(), params: params.to_vec(), ..Default::default() });
    let id = super::identity(&compiled);
    if !force {
        if let Some((value, at)) = lock(&cache.key_values).values.get(&id) {
            if at.elapsed() < renewal {
                return value.clone();
            }
        }
    }
    let (_, done) = cache.start(&compiled, id, Vec::new(), !force, false, None);
    match wait_for(done, None).await {
        Some(Ok(fetched)) => {
            let rows = &fetched.rows;
            let value = Value::Array(
                rows.rows
                    .iter()
                    .map(|row| {
                        let obj: Map<String, Value> =
                            rows.columns.iter().cloned().zip(row.iter().map(|c| c.to_cube_json())).collect();
                        Value::Object(obj)
                    })
                    .collect(),
            );
            lock(&cache.key_values).values.put(id, (value.clone(), Instant::now()));
            value
        }
        Some(Err(e)) => json!({ "error": format!("{e:?}") }),
        None => json!({ "error": "no answer" }),
    }
}
