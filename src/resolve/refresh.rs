//! `refresh_key`: when the results of a cube's queries (and, for pre-aggregations, a rollup's
//! rows) are out of date. Read as Cube reads it: `every` (an interval or a cron string, cron in
//! its `timezone`), `sql` (run on the source, its value compared), both (the SQL re-checked
//! every interval), `immutable`, and for pre-aggregations `incremental` and `update_window`.
//! The values ([`RefreshKey`], [`Every`]) are part of the model; they are evaluated by the query
//! cache (`crate::cache`), never here.

use super::model::*;
use super::templates::{Resolver, SqlRole};
use crate::diag::{Code, Diagnostic};
use crate::load::raw::RawRefreshKey;

fn refresh_error(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::RefreshKey, message)
}

/// Reads `every` (with `timezone` for a cron string); errors are reported, `None` returned.
pub fn read_every(raw: &RawRefreshKey, diags: &mut Vec<Diagnostic>) -> Option<Every> {
    let e = raw.every.as_ref()?;
    let timezone = match &raw.timezone {
        None => chrono_tz::UTC,
        Some(tz) => match tz.value.parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                diags.push(
                    refresh_error(format!("refresh_key timezone `{}` is not a known time zone", tz.value))
                        .at(tz.span, "unknown time zone")
                        .with_help("use an IANA name such as `America/Los_Angeles` or `UTC`"),
                );
                return None;
            }
        },
    };
    if let Some(secs) = interval_seconds(&e.value) {
        return Some(Every::Interval(secs));
    }
    match e.value.trim().parse::<croner::Cron>() {
        Ok(cron) if (5..=6).contains(&e.value.split_whitespace().count()) => {
            Some(Every::Cron { cron: Box::new(cron), text: e.value.trim().to_string(), timezone })
        }
        outcome => {
            // Only a string shaped like a cron schedule gets the cron parser's reason.
            let why = match outcome {
                Err(err) if (5..=6).contains(&e.value.split_whitespace().count()) => format!(" ({err})"),
                _ => String::new(),
            };
            diags.push(
                refresh_error(format!(
                    "refresh_key every `{}` is neither an interval nor a cron expression{why}",
                    e.value
                ))
                .at(e.span, "invalid `every`")
                .with_help("write e.g. `1 hour`, `30 minutes` or a cron string such as `0 * * * *`"),
            );
            None
        }
    }
}

/// Resolves a cube's `refresh_key` (its `sql` against the cube, like the cube's own SQL).
/// `for_pre_aggregation` allows `incremental` and `update_window`.
pub fn read(
    res: &Resolver,
    id: CubeId,
    raw: &RawRefreshKey,
    for_pre_aggregation: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<RefreshKey> {
    let before = diags.len();
    let every = read_every(raw, diags);
    let immutable = raw.immutable.as_ref().is_some_and(|b| b.value);
    if raw.every.is_none() && raw.sql.is_none() && !immutable {
        diags.push(
            refresh_error("refresh_key needs `every`, `sql` or `immutable: true`")
                .at(raw.span, "nothing says when this refreshes")
                .with_help("e.g. `every: 1 hour`, or `sql: SELECT MAX(updated_at) FROM orders`"),
        );
    }
    if let (Some(Every::Cron { .. }), Some(e), Some(_)) = (&every, &raw.every, &raw.sql) {
        diags.push(
            refresh_error(format!(
                "with `sql`, `every` says how often the SQL is checked: `{}` is a cron string",
                e.value
            ))
            .at(e.span, "an interval is needed here")
            .with_help("write an interval such as `1 hour`, or use `every` alone for a schedule"),
        );
    }
    let update_window = raw.update_window.as_ref().and_then(|w| {
        let secs = interval_seconds(&w.value);
        if secs.is_none() {
            diags.push(
                refresh_error(format!("update_window `{}` is not an interval", w.value))
                    .at(w.span, "invalid `update_window`")
                    .with_help("write e.g. `7 day` or `1 hour`"),
            );
        }
        secs
    });
    let incremental = raw.incremental.as_ref().is_some_and(|b| b.value);
    if !for_pre_aggregation {
        let keys = [
            ("incremental", raw.incremental.as_ref().map(|b| b.span)),
            ("update_window", raw.update_window.as_ref().map(|w| w.span)),
        ];
        for (key, span) in keys {
            if let Some(span) = span {
                diags.push(
                    Diagnostic::warning(Code::RefreshKey, format!("`{key}` applies to pre-aggregations only"))
                        .at(span, "ignored on a cube")
                        .with_help("move it to the refresh_key of a pre-aggregation"),
                );
            }
        }
    }
    let sql = raw.sql.as_ref().map(|s| res.sql(id, s, SqlRole::Other, diags));
    if diags[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(RefreshKey { every, sql, immutable, incremental, update_window })
}
