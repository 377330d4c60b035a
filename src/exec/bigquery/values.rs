//! BigQuery's REST values (`rows: [{f: [{v: ...}]}]`, every scalar a string) to [`Cell`]s, by
//! the schema's field type. Timestamps are requested as integer microseconds
//! (`formatOptions.useInt64Timestamp`), so no float rounding touches them; NUMERIC and
//! BIGNUMERIC arrive as exact decimal text and stay text.

use super::super::shape::normalize_decimal;
use super::super::Cell;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::Value;

/// A result column: its name, type (upper case) and mode (`REPEATED` for arrays).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub kind: String,
    pub repeated: bool,
}

impl Field {
    pub fn from_schema(v: &Value) -> Field {
        Field {
            name: v["name"].as_str().unwrap_or("").to_string(),
            kind: v["type"].as_str().unwrap_or("STRING").to_ascii_uppercase(),
            repeated: v["mode"].as_str() == Some("REPEATED"),
        }
    }
}

pub fn rows(fields: &[Field], rows: &Value) -> Result<Vec<Vec<Cell>>, String> {
    let Some(rows) = rows.as_array() else { return Ok(Vec::new()) };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let values = row["f"].as_array().ok_or("a result row has no `f` list")?;
        if values.len() != fields.len() {
            return Err(format!("a row has {} values for {} fields", values.len(), fields.len()));
        }
        let cells: Result<Vec<Cell>, String> = fields.iter().zip(values).map(|(f, v)| cell(f, &v["v"])).collect();
        out.push(cells?);
    }
    Ok(out)
}

pub fn cell(field: &Field, v: &Value) -> Result<Cell, String> {
    let s = match v {
        Value::Null => return Ok(Cell::Null),
        Value::String(s) if !field.repeated => s,
        // Arrays and records have no Cube shape: their JSON as text.
        other => return Ok(Cell::Text(other.to_string())),
    };
    let bad = || format!("field `{}` ({}): cannot read `{s}`", field.name, field.kind);
    Ok(match field.kind.as_str() {
        "INTEGER" | "INT64" => Cell::Int(s.parse().map_err(|_| bad())?),
        "FLOAT" | "FLOAT64" => Cell::Float(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => s.parse().map_err(|_| bad())?,
        }),
        "NUMERIC" | "BIGNUMERIC" | "DECIMAL" | "BIGDECIMAL" => Cell::Decimal(normalize_decimal(s)),
        "BOOLEAN" | "BOOL" => Cell::Bool(s.eq_ignore_ascii_case("true")),
        "TIMESTAMP" => Cell::Timestamp(timestamp(s).ok_or_else(bad)?),
        "DATETIME" => Cell::Timestamp(
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                .map_err(|_| bad())?,
        ),
        "DATE" => Cell::Timestamp(
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?.and_time(chrono::NaiveTime::MIN),
        ),
        _ => Cell::Text(s.clone()),
    })
}

/// Microseconds since 1970 (as requested), or float seconds (`1.7E9`, BigQuery's default).
fn timestamp(s: &str) -> Option<NaiveDateTime> {
    if let Ok(micros) = s.parse::<i64>() {
        return DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc());
    }
    let secs: f64 = s.parse().ok()?;
    let micros = (secs * 1e6).round();
    if !micros.is_finite() || micros.abs() > 9.0e18 {
        return None;
    }
    DateTime::from_timestamp_micros(micros as i64).map(|d| d.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(kind: &str) -> Field {
        Field { name: "c".into(), kind: kind.into(), repeated: false }
    }

    fn ts(s: &str) -> Cell {
        Cell::Timestamp(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap())
    }

    #[test]
    fn every_type_maps_to_cubes_shape() {
        let cases = [
            ("INTEGER", json!("42"), Cell::Int(42)),
            ("INT64", json!("-9223372036854775808"), Cell::Int(i64::MIN)),
            ("FLOAT", json!("1.5"), Cell::Float(1.5)),
            ("FLOAT64", json!("1.0E10"), Cell::Float(1e10)),
            ("NUMERIC", json!("12.340000000"), Cell::Decimal("12.34".into())),
            (
                "BIGNUMERIC",
                json!("123456789012345678901234567890.5"),
                Cell::Decimal("123456789012345678901234567890.5".into()),
            ),
            ("BOOLEAN", json!("true"), Cell::Bool(true)),
            ("BOOL", json!("false"), Cell::Bool(false)),
            ("STRING", json!("x"), Cell::Text("x".into())),
            ("TIMESTAMP", json!("1704164645678000"), ts("2024-01-02 03:04:05.678")),
            ("TIMESTAMP", json!("1.704164645678E9"), ts("2024-01-02 03:04:05.678")),
            ("TIMESTAMP", json!("-1000000"), ts("1969-12-31 23:59:59")),
            ("DATETIME", json!("2024-01-02T03:04:05.123456"), ts("2024-01-02 03:04:05.123456")),
            ("DATETIME", json!("2024-01-02T03:04:05"), ts("2024-01-02 03:04:05")),
            ("DATE", json!("2024-01-02"), ts("2024-01-02 00:00:00")),
            ("TIME", json!("03:04:05"), Cell::Text("03:04:05".into())),
            ("BYTES", json!("AAE="), Cell::Text("AAE=".into())),
            ("JSON", json!("{\"a\":1}"), Cell::Text("{\"a\":1}".into())),
            ("STRING", Value::Null, Cell::Null),
        ];
        for (kind, v, want) in cases {
            assert_eq!(cell(&f(kind), &v).unwrap(), want, "{kind} {v}");
        }
        assert!(matches!(cell(&f("FLOAT"), &json!("NaN")).unwrap(), Cell::Float(x) if x.is_nan()));
        assert!(cell(&f("INTEGER"), &json!("x")).is_err());
        assert!(cell(&f("TIMESTAMP"), &json!("1e300")).is_err());
        let arr = Field { name: "a".into(), kind: "INTEGER".into(), repeated: true };
        assert_eq!(cell(&arr, &json!([{"v": "1"}])).unwrap(), Cell::Text(r#"[{"v":"1"}]"#.into()));
    }

    #[test]
    fn rows_follow_the_schema() {
        let fields = vec![f("INTEGER"), f("STRING")];
        let got = rows(&fields, &json!([{"f": [{"v": "1"}, {"v": null}]}])).unwrap();
        assert_eq!(got, vec![vec![Cell::Int(1), Cell::Null]]);
        assert!(rows(&fields, &json!([{"f": [{"v": "1"}]}])).is_err());
        assert_eq!(rows(&fields, &Value::Null).unwrap(), Vec::<Vec<Cell>>::new());
    }
}
