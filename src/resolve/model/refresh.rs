//! `refresh_key`, resolved: when the results of a cube's queries (and a rollup's rows) are out
//! of date. Read by [`crate::resolve::refresh`]; evaluated by the query cache.

use super::sql::SqlTemplate;
use chrono::{DateTime, Utc};

/// A resolved `refresh_key`.
#[derive(Debug, Clone)]
pub struct RefreshKey {
    pub every: Option<Every>,
    /// Run on the source; the rows it returns are the key's value.
    pub sql: Option<SqlTemplate>,
    /// `immutable: true`: the data never changes, so the key never does.
    pub immutable: bool,
    /// Pre-aggregations: only the partitions inside `update_window` are rebuilt.
    pub incremental: bool,
    /// Pre-aggregations: how far back an incremental refresh reaches, in seconds.
    pub update_window: Option<u64>,
}

/// `every`: fixed intervals from the Unix epoch, or the fire times of a cron schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Every {
    /// `N second|minute|hour|day|week`, in seconds.
    Interval(u64),
    /// A cron string (5 fields, or 6 with seconds), read in `timezone`.
    Cron { cron: Box<croner::Cron>, text: String, timezone: chrono_tz::Tz },
}

impl Every {
    /// The bucket `now` falls in, as a value that changes exactly when the schedule fires:
    /// `floor(epoch seconds / N)` for an interval (what Cube's SQL computes), the Unix time of
    /// the latest fire time at or before `now` for a cron schedule (DST-exact in its zone).
    pub fn bucket(&self, now: DateTime<Utc>) -> String {
        match self {
            Every::Interval(n) => (now.timestamp().div_euclid((*n).max(1) as i64)).to_string(),
            Every::Cron { cron, timezone, .. } => {
                match cron.find_previous_occurrence(&now.with_timezone(timezone), true) {
                    Ok(t) => t.timestamp().to_string(),
                    Err(_) => "none".to_string(),
                }
            }
        }
    }

    /// The interval in seconds (`None` for a cron schedule).
    pub fn seconds(&self) -> Option<u64> {
        match self {
            Every::Interval(n) => Some(*n),
            Every::Cron { .. } => None,
        }
    }

    /// As written in the model (`10 second`, `0 * * * *`).
    pub fn text(&self) -> String {
        match self {
            Every::Interval(n) => format!("{n} second"),
            Every::Cron { text, .. } => text.clone(),
        }
    }
}

/// `N unit` with unit second to week (plural allowed), in seconds; what Cube accepts.
pub fn interval_seconds(s: &str) -> Option<u64> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let [n, unit] = words.as_slice() else { return None };
    let n: u64 = n.parse().ok()?;
    let unit = match unit.strip_suffix('s').unwrap_or(unit) {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return None,
    };
    n.checked_mul(unit).filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn intervals_as_cube_writes_them() {
        assert_eq!(interval_seconds("10 second"), Some(10));
        assert_eq!(interval_seconds("2 minutes"), Some(120));
        assert_eq!(interval_seconds("1 week"), Some(604_800));
        assert_eq!(interval_seconds("0 hour"), None);
        assert_eq!(interval_seconds("1 month"), None);
        assert_eq!(interval_seconds("99999999999999999 week"), None);
        let hourly = Every::Interval(3600);
        assert_eq!(hourly.bucket(at("2024-01-01T10:59:59Z")), hourly.bucket(at("2024-01-01T10:00:00Z")));
        assert_ne!(hourly.bucket(at("2024-01-01T11:00:00Z")), hourly.bucket(at("2024-01-01T10:59:59Z")));
    }

    #[test]
    fn cron_buckets_change_at_fire_times_in_their_zone() {
        let la: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
        let cron = "0 10 * * *".parse::<croner::Cron>().unwrap();
        let daily = Every::Cron { cron: Box::new(cron), text: "0 10 * * *".into(), timezone: la };
        // 10:00 in Los Angeles is 18:00 UTC in winter and 17:00 UTC in summer.
        assert_eq!(daily.bucket(at("2024-01-10T17:59:00Z")), daily.bucket(at("2024-01-09T18:00:00Z")));
        assert_ne!(daily.bucket(at("2024-01-10T18:00:00Z")), daily.bucket(at("2024-01-10T17:59:00Z")));
        assert_ne!(daily.bucket(at("2024-07-10T17:00:00Z")), daily.bucket(at("2024-07-10T16:59:00Z")));
    }
}
