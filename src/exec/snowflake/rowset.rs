//! Snowflake result rows to [`Cell`]s. Snowflake answers in one of two formats, chosen by the
//! account and the client: JSON (every value a string, read by the column's `rowtype`) or Arrow
//! IPC streams (base64 in the first response, binary in later chunks). Both describe the same
//! types:
//!
//! | Snowflake type | JSON value | Arrow value | cell |
//! |---|---|---|---|
//! | FIXED(p, 0) | `"42"` | Int8..Int64 or Decimal128 | integer (decimal text past i64) |
//! | FIXED(p, s>0) | `"4.20"` | integer scaled by 10^s or Decimal128 | exact decimal text |
//! | REAL | `"1.5"` | Float64 | float |
//! | TEXT, VARIANT, ... | text | Utf8 | text |
//! | BOOLEAN | `"1"`/`"0"` or `"true"` | Boolean | boolean |
//! | DATE | days since 1970 | Date32 | midnight |
//! | TIMESTAMP_NTZ/LTZ | `"secs.fraction"` | struct{epoch, fraction} or Int64 scaled | time (UTC) |
//! | TIMESTAMP_TZ | `"secs.fraction offset"` | struct{epoch, fraction, timezone} | time (UTC) |
//! | TIME | `"secs.fraction"` | Int64 scaled | text `HH:MM:SS[.fff]` |

use super::super::shape::normalize_decimal;
use super::super::Cell;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use chrono::{DateTime, NaiveDateTime, NaiveTime};
use serde_json::Value;

/// One column's description from `rowtype`.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// Lower case: `fixed`, `real`, `text`, `timestamp_ntz`, ...
    pub kind: String,
    pub scale: u32,
}

impl Column {
    pub fn from_rowtype(v: &Value) -> Column {
        Column {
            name: v["name"].as_str().unwrap_or("").to_string(),
            kind: v["type"].as_str().unwrap_or("text").to_ascii_lowercase(),
            scale: v["scale"].as_u64().unwrap_or(0).min(38) as u32,
        }
    }

    fn is_timestamp(&self) -> bool {
        self.kind.starts_with("timestamp")
    }
}

/// A JSON rowset (`[[...], ...]`, values strings or null) as cells.
pub fn json_rows(columns: &[Column], rows: &Value) -> Result<Vec<Vec<Cell>>, String> {
    let rows = rows.as_array().ok_or("the rowset is not a list")?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let values = row.as_array().ok_or("a row of the rowset is not a list")?;
        if values.len() != columns.len() {
            return Err(format!("a row has {} values for {} columns", values.len(), columns.len()));
        }
        let mut cells = Vec::with_capacity(values.len());
        for (col, v) in columns.iter().zip(values) {
            cells.push(match v {
                Value::Null => Cell::Null,
                Value::String(s) => json_cell(col, s)?,
                Value::Bool(b) => Cell::Bool(*b),
                other => json_cell(col, &other.to_string())?,
            });
        }
        out.push(cells);
    }
    Ok(out)
}

/// A JSON result chunk: rows without the enclosing brackets (`[..],[..]`).
pub fn json_chunk(columns: &[Column], body: &[u8]) -> Result<Vec<Vec<Cell>>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("a result chunk is not UTF-8: {e}"))?;
    let rows: Value =
        serde_json::from_str(&format!("[{text}]")).map_err(|e| format!("a result chunk is not JSON: {e}"))?;
    json_rows(columns, &rows)
}

fn json_cell(col: &Column, s: &str) -> Result<Cell, String> {
    let bad = || format!("column `{}` ({}): cannot read `{s}`", col.name, col.kind);
    Ok(match col.kind.as_str() {
        "fixed" if col.scale == 0 => s.parse::<i64>().map(Cell::Int).unwrap_or_else(|_| Cell::Decimal(s.to_string())),
        "fixed" => Cell::Decimal(normalize_decimal(s)),
        "real" | "float" | "double" => Cell::Float(s.parse().map_err(|_| bad())?),
        "boolean" => Cell::Bool(matches!(s, "1" | "true" | "TRUE" | "True")),
        "date" => Cell::Timestamp(days(s.parse().map_err(|_| bad())?).ok_or_else(bad)?),
        "time" => Cell::Text(time_text(seconds_fraction(s.split(' ').next().unwrap_or(s)).ok_or_else(bad)?)),
        k if k.starts_with("timestamp") => {
            // TIMESTAMP_TZ adds the offset (minutes + 1440) after a space; the epoch is UTC.
            let (secs, nanos) = seconds_fraction(s.split(' ').next().unwrap_or(s)).ok_or_else(bad)?;
            Cell::Timestamp(epoch(secs, nanos).ok_or_else(bad)?)
        }
        _ => Cell::Text(s.to_string()),
    })
}

/// `"1704067200.123000000"` as seconds and nanoseconds.
fn seconds_fraction(s: &str) -> Option<(i64, u32)> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = whole.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let mut nanos: u32 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    for _ in digits.len()..9 {
        nanos *= 10;
    }
    // A negative time before 1970 keeps its fraction counted forward from the whole second.
    if whole.starts_with('-') && nanos > 0 {
        return Some((secs - 1, 1_000_000_000 - nanos));
    }
    Some((secs, nanos))
}

fn epoch(secs: i64, nanos: u32) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(secs, nanos).map(|d| d.naive_utc())
}

fn days(n: i64) -> Option<NaiveDateTime> {
    epoch(n.checked_mul(86_400)?, 0)
}

fn time_text((secs, nanos): (i64, u32)) -> String {
    let t =
        NaiveTime::from_num_seconds_from_midnight_opt(secs.rem_euclid(86_400) as u32, nanos).unwrap_or(NaiveTime::MIN);
    if nanos == 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M:%S%.3f").to_string()
    }
}

/// An Arrow IPC stream (a whole result or one chunk) as cells.
pub fn arrow_rows(columns: &[Column], ipc: &[u8]) -> Result<Vec<Vec<Cell>>, String> {
    if ipc.is_empty() {
        return Ok(Vec::new());
    }
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(ipc), None)
        .map_err(|e| format!("cannot read the Arrow result: {e}"))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| format!("cannot read an Arrow record batch: {e}"))?;
        if batch.num_columns() != columns.len() {
            return Err(format!("an Arrow batch has {} columns for {}", batch.num_columns(), columns.len()));
        }
        let start = out.len();
        out.extend((0..batch.num_rows()).map(|_| Vec::with_capacity(columns.len())));
        for (col, array) in columns.iter().zip(batch.columns()) {
            for row in 0..batch.num_rows() {
                out[start + row].push(arrow_cell(col, array, row)?);
            }
        }
    }
    Ok(out)
}

fn scaled(v: i128, scale: u32) -> Cell {
    if scale == 0 {
        return i64::try_from(v).map(Cell::Int).unwrap_or_else(|_| Cell::Decimal(v.to_string()));
    }
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded =
        if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale + 1 - digits.len())) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if v < 0 { "-" } else { "" };
    Cell::Decimal(normalize_decimal(&format!("{sign}{int}.{frac}")))
}

fn arrow_cell(col: &Column, array: &ArrayRef, row: usize) -> Result<Cell, String> {
    if array.is_null(row) {
        return Ok(Cell::Null);
    }
    let bad =
        || format!("column `{}`: cannot read Snowflake type {} from Arrow {}", col.name, col.kind, array.data_type());
    let int: Option<i64> = match array.data_type() {
        DataType::Int8 => Some(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Some(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(row)),
        _ => None,
    };
    if let Some(v) = int {
        let pow = 10i64.checked_pow(col.scale).ok_or_else(bad)?;
        return Ok(match col.kind.as_str() {
            k if k.starts_with("timestamp") => Cell::Timestamp(
                epoch(v.div_euclid(pow), (v.rem_euclid(pow) * (1_000_000_000 / pow)) as u32).ok_or_else(bad)?,
            ),
            "time" => {
                // fakesnow sends nanoseconds with scale 9 metadata; Snowflake scales by `scale`.
                Cell::Text(time_text((v.div_euclid(pow), (v.rem_euclid(pow) * (1_000_000_000 / pow)) as u32)))
            }
            "date" => Cell::Timestamp(days(v).ok_or_else(bad)?),
            "real" => Cell::Float(v as f64),
            _ => scaled(v.into(), col.scale),
        });
    }
    Ok(match array.data_type() {
        DataType::Decimal128(_, s) => {
            let v = array.as_primitive::<arrow_array::types::Decimal128Type>().value(row);
            scaled(v, (*s).max(0) as u32)
        }
        DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => Cell::Float(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Cell::Text(array.as_string::<i64>().value(row).to_string()),
        DataType::Date32 => {
            Cell::Timestamp(days(array.as_primitive::<Date32Type>().value(row).into()).ok_or_else(bad)?)
        }
        DataType::Struct(_) if col.is_timestamp() => {
            let s = array.as_struct();
            let epoch_col = s.column_by_name("epoch").ok_or_else(bad)?;
            let secs = epoch_col.as_primitive_opt::<Int64Type>().ok_or_else(bad)?.value(row);
            let nanos = match s.column_by_name("fraction") {
                Some(f) => f.as_primitive_opt::<Int32Type>().ok_or_else(bad)?.value(row).max(0) as u32,
                None => 0,
            };
            Cell::Timestamp(epoch(secs, nanos).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
        StructArray,
    };
    use arrow_schema::{Field, Schema};
    use std::sync::Arc;

    fn col(name: &str, kind: &str, scale: u32) -> Column {
        Column { name: name.into(), kind: kind.into(), scale }
    }

    fn ts(s: &str) -> Cell {
        Cell::Timestamp(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap())
    }

    #[test]
    fn json_values_by_type() {
        let cols = vec![
            col("n", "fixed", 0),
            col("d", "fixed", 2),
            col("r", "real", 0),
            col("t", "text", 0),
            col("b", "boolean", 0),
            col("day", "date", 0),
            col("ntz", "timestamp_ntz", 9),
            col("tz", "timestamp_tz", 9),
            col("tm", "time", 9),
            col("big", "fixed", 0),
        ];
        let rows = serde_json::json!([
            [
                "42",
                "1234.50",
                "1.5",
                "x",
                "1",
                "19724",
                "1704164645.678000000",
                "1704164645.000000000 1500",
                "3723.500000000",
                "123456789012345678901234567890"
            ],
            [null, "-0.05", "-2", "", "0", "-1", "-0.500000000", "0 1440", "0", null]
        ]);
        let got = json_rows(&cols, &rows).unwrap();
        assert_eq!(
            got[0],
            vec![
                Cell::Int(42),
                Cell::Decimal("1234.5".into()),
                Cell::Float(1.5),
                Cell::Text("x".into()),
                Cell::Bool(true),
                ts("2024-01-02 00:00:00"),
                ts("2024-01-02 03:04:05.678"),
                ts("2024-01-02 03:04:05"),
                Cell::Text("01:02:03.500".into()),
                Cell::Decimal("123456789012345678901234567890".into()),
            ]
        );
        assert_eq!(got[1][0], Cell::Null);
        assert_eq!(got[1][1], Cell::Decimal("-0.05".into()));
        assert_eq!(got[1][4], Cell::Bool(false));
        assert_eq!(got[1][5], ts("1969-12-31 00:00:00"));
        assert_eq!(got[1][6], ts("1969-12-31 23:59:59.5"));
        assert!(json_rows(&cols[..1], &serde_json::json!([["x", "y"]])).is_err());
        assert!(json_rows(&[col("r", "real", 0)], &serde_json::json!([["abc"]])).is_err());
    }

    #[test]
    fn json_chunks_have_no_outer_brackets() {
        let cols = vec![col("n", "fixed", 0), col("t", "text", 0)];
        let got = json_chunk(&cols, br#"["1","a"],["2",null]"#).unwrap();
        assert_eq!(got, vec![vec![Cell::Int(1), Cell::Text("a".into())], vec![Cell::Int(2), Cell::Null]]);
        assert!(json_chunk(&cols, b"[1,").is_err());
    }

    fn ipc(batch: &RecordBatch) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap();
        drop(w);
        buf
    }

    #[test]
    fn arrow_values_by_type() {
        let ts_struct = StructArray::from(vec![
            (
                Arc::new(Field::new("epoch", DataType::Int64, false)),
                Arc::new(Int64Array::from(vec![1704164645, 0])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("fraction", DataType::Int32, false)),
                Arc::new(Int32Array::from(vec![678_000_000, 0])) as ArrayRef,
            ),
        ]);
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("n", Arc::new(Int64Array::from(vec![Some(42), None]))),
            ("scaled", Arc::new(Int64Array::from(vec![Some(123450), Some(-5)]))),
            (
                "dec",
                Arc::new(Decimal128Array::from(vec![Some(1234), Some(-1)]).with_precision_and_scale(38, 3).unwrap()),
            ),
            ("r", Arc::new(Float64Array::from(vec![1.5, 2.0]))),
            ("t", Arc::new(StringArray::from(vec![Some("x"), None]))),
            ("b", Arc::new(BooleanArray::from(vec![true, false]))),
            ("d", Arc::new(Date32Array::from(vec![19724, 0]))),
            ("ts", Arc::new(ts_struct)),
            ("ts_scaled", Arc::new(Int64Array::from(vec![1704164645678, 0]))),
        ];
        let schema =
            Schema::new(columns.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect::<Vec<_>>());
        let batch = RecordBatch::try_new(Arc::new(schema), columns.iter().map(|(_, a)| a.clone()).collect()).unwrap();
        let cols = vec![
            col("n", "fixed", 0),
            col("scaled", "fixed", 4),
            col("dec", "fixed", 3),
            col("r", "real", 0),
            col("t", "text", 0),
            col("b", "boolean", 0),
            col("d", "date", 0),
            col("ts", "timestamp_ntz", 9),
            col("ts_scaled", "timestamp_ltz", 3),
        ];
        let got = arrow_rows(&cols, &ipc(&batch)).unwrap();
        assert_eq!(
            got[0],
            vec![
                Cell::Int(42),
                Cell::Decimal("12.345".into()),
                Cell::Decimal("1.234".into()),
                Cell::Float(1.5),
                Cell::Text("x".into()),
                Cell::Bool(true),
                ts("2024-01-02 00:00:00"),
                ts("2024-01-02 03:04:05.678"),
                ts("2024-01-02 03:04:05.678"),
            ]
        );
        assert_eq!(got[1][0], Cell::Null);
        assert_eq!(got[1][1], Cell::Decimal("-0.0005".into()));
        assert_eq!(got[1][2], Cell::Decimal("-0.001".into()));
        assert_eq!(got[1][4], Cell::Null);
        assert_eq!(got[1][7], ts("1970-01-01 00:00:00"));
        assert!(arrow_rows(&cols, b"not arrow").is_err());
        assert_eq!(arrow_rows(&cols, b"").unwrap(), Vec::<Vec<Cell>>::new());
    }
}
