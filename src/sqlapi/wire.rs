//! Results and errors as pgwire messages: column descriptions with real type OIDs, values
//! encoded per column (text or binary, as the client asked), SQLSTATE errors.

use super::engine::{Outcome, Param};
use super::error::SqlError;
use super::schema::PgType;
use super::schema::ResultTable;
use crate::exec::Cell;
use chrono::{NaiveDate, NaiveDateTime};
use futures::stream;
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::Type;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

pub fn pg_wire_type(t: PgType) -> Type {
    match t {
        PgType::Bool => Type::BOOL,
        PgType::Int4 => Type::INT4,
        PgType::Int8 => Type::INT8,
        PgType::Float8 => Type::FLOAT8,
        PgType::Numeric => Type::NUMERIC,
        PgType::Text => Type::TEXT,
        PgType::Date => Type::DATE,
        PgType::Timestamp => Type::TIMESTAMP,
    }
}

pub fn error_info(e: &SqlError) -> ErrorInfo {
    ErrorInfo::new("ERROR".to_string(), e.code.to_string(), e.message.clone())
}

pub fn to_pgwire_error(e: &SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

pub fn fields(columns: &[(String, PgType)], format: &Format) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, t))| FieldInfo::new(name.clone(), None, None, pg_wire_type(*t), format.format_for(i)))
        .collect()
}

fn text_of(c: &Cell) -> Option<String> {
    match c {
        Cell::Null => None,
        Cell::Timestamp(t) => Some(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        Cell::Bool(b) => Some(if *b { "t" } else { "f" }.to_string()),
        other => Some(other.to_text()),
    }
}

fn as_f64(c: &Cell) -> Option<f64> {
    match c {
        Cell::Int(i) => Some(*i as f64),
        Cell::Float(f) => Some(*f),
        Cell::Decimal(d) | Cell::Text(d) => d.parse().ok(),
        Cell::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn as_decimal(c: &Cell) -> Option<Decimal> {
    match c {
        Cell::Int(i) => Some(Decimal::from(*i)),
        Cell::Decimal(d) | Cell::Text(d) => Decimal::from_str(d)
            .or_else(|_| Decimal::from_scientific(d))
            .ok()
            .or_else(|| d.parse::<f64>().ok().and_then(Decimal::from_f64)),
        Cell::Float(f) => Decimal::from_f64(*f),
        _ => None,
    }
}

fn as_timestamp(c: &Cell) -> Option<NaiveDateTime> {
    match c {
        Cell::Timestamp(t) => Some(*t),
        Cell::Text(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
            .ok(),
        _ => None,
    }
}

/// One value, typed as its column.
fn encode(enc: &mut DataRowEncoder, t: PgType, c: &Cell) -> PgWireResult<()> {
    if *c == Cell::Null {
        return enc.encode_field(&None::<i64>);
    }
    match t {
        PgType::Bool => enc.encode_field(&match c {
            Cell::Bool(b) => Some(*b),
            other => text_of(other).map(|s| matches!(s.as_str(), "t" | "true" | "1")),
        }),
        PgType::Int4 => enc.encode_field(&as_f64(c).map(|f| f as i32)),
        PgType::Int8 => enc.encode_field(&match c {
            Cell::Int(i) => Some(*i),
            other => as_f64(other).map(|f| f as i64),
        }),
        PgType::Float8 => enc.encode_field(&as_f64(c)),
        PgType::Numeric => enc.encode_field(&as_decimal(c)),
        PgType::Text => enc.encode_field(&text_of(c)),
        PgType::Date => enc.encode_field(&as_timestamp(c).map(|t| t.date()).or_else(|| match c {
            Cell::Text(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            _ => None,
        })),
        PgType::Timestamp => enc.encode_field(&as_timestamp(c)),
    }
}

pub fn query_response(table: &ResultTable, format: &Format) -> PgWireResult<QueryResponse> {
    let schema = Arc::new(fields(&table.columns, format));
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut enc = DataRowEncoder::new(Arc::clone(&schema));
    for r in &table.rows {
        for (i, (_, t)) in table.columns.iter().enumerate() {
            encode(&mut enc, *t, r.get(i).unwrap_or(&Cell::Null))?;
        }
        rows.push(Ok(enc.take_row()));
    }
    Ok(QueryResponse::new(schema, stream::iter(rows)))
}

pub fn response(outcome: &Outcome, format: &Format) -> PgWireResult<Response> {
    Ok(match outcome {
        Outcome::Rows(t) => Response::Query(query_response(t, format)?),
        Outcome::Command(tag) => Response::Execution(Tag::new(tag)),
        Outcome::Begin => Response::TransactionStart(Tag::new("BEGIN")),
        Outcome::Commit(tag) => Response::TransactionEnd(Tag::new(tag)),
        Outcome::Fetched(t) => {
            let mut q = query_response(t, format)?;
            q.set_command_tag("FETCH");
            Response::Query(q)
        }
    })
}

/// A bound parameter as a literal, by its type and format.
pub fn param(
    portal: &pgwire::api::portal::Portal<String>,
    i: usize,
    declared: Option<&Type>,
) -> PgWireResult<Option<Param>> {
    let Some(Some(bytes)) = portal.parameters.get(i) else { return Ok(None) };
    let ty = declared.cloned().unwrap_or(Type::UNKNOWN);
    if portal.parameter_format.is_text(i) {
        let s = String::from_utf8(bytes.to_vec()).map_err(|_| {
            PgWireError::UserError(Box::new(ErrorInfo::new(
                "ERROR".into(),
                "22021".into(),
                "a parameter is not valid UTF-8".into(),
            )))
        })?;
        let numeric = matches!(
            ty,
            Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC | Type::OID
        );
        if numeric && s.trim().parse::<f64>().is_ok() {
            return Ok(Some(Param::Number(s.trim().to_string())));
        }
        if ty == Type::BOOL {
            return Ok(Some(Param::Bool(matches!(s.as_str(), "t" | "true" | "1" | "on" | "yes"))));
        }
        return Ok(Some(Param::Text(s)));
    }
    let p = match ty {
        Type::INT2 => portal.parameter::<i16>(i, &ty)?.map(|v| Param::Number(v.to_string())),
        Type::INT4 => portal.parameter::<i32>(i, &ty)?.map(|v| Param::Number(v.to_string())),
        Type::INT8 => portal.parameter::<i64>(i, &ty)?.map(|v| Param::Number(v.to_string())),
        Type::FLOAT4 => portal.parameter::<f32>(i, &ty)?.map(|v| Param::Number(v.to_string())),
        Type::FLOAT8 => portal.parameter::<f64>(i, &ty)?.map(|v| Param::Number(v.to_string())),
        Type::NUMERIC => portal.parameter::<Decimal>(i, &ty)?.map(|v| Param::Number(v.to_string())),
        Type::BOOL => portal.parameter::<bool>(i, &ty)?.map(Param::Bool),
        Type::DATE => portal.parameter::<NaiveDate>(i, &ty)?.map(|v| Param::Text(v.to_string())),
        Type::TIMESTAMP => portal
            .parameter::<NaiveDateTime>(i, &ty)?
            .map(|v| Param::Text(v.format("%Y-%m-%d %H:%M:%S%.f").to_string())),
        _ => portal.parameter::<String>(i, &Type::TEXT)?.map(Param::Text),
    };
    Ok(p)
}
