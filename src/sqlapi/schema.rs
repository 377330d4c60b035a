//! The data model as the SQL API shows it: one table per public cube and view, one column per
//! member the caller may see. Built from the caller's `/v1/meta` body, so access policies and
//! `public: false` hide exactly what they hide from the REST API. Also the PostgreSQL types
//! columns and results carry, and [`ResultTable`], rows typed by them.

use crate::exec::Cell;
use serde_json::Value;

/// Rows with their column names and types.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    pub columns: Vec<(String, PgType)>,
    pub rows: Vec<Vec<Cell>>,
}

/// PostgreSQL types a column or a result value can have: the catalog and the wire agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgType {
    Bool,
    Int4,
    Int8,
    Float8,
    Numeric,
    Text,
    Date,
    Timestamp,
}

impl PgType {
    pub fn oid(self) -> u32 {
        match self {
            PgType::Bool => 16,
            PgType::Int4 => 23,
            PgType::Int8 => 20,
            PgType::Float8 => 701,
            PgType::Numeric => 1700,
            PgType::Text => 25,
            PgType::Date => 1082,
            PgType::Timestamp => 1114,
        }
    }

    /// The name `format_type` and `information_schema.columns.data_type` give.
    pub fn sql_name(self) -> &'static str {
        match self {
            PgType::Bool => "boolean",
            PgType::Int4 => "integer",
            PgType::Int8 => "bigint",
            PgType::Float8 => "double precision",
            PgType::Numeric => "numeric",
            PgType::Text => "text",
            PgType::Date => "date",
            PgType::Timestamp => "timestamp without time zone",
        }
    }

    /// `pg_type.typname` (the udt name).
    pub fn typname(self) -> &'static str {
        match self {
            PgType::Bool => "bool",
            PgType::Int4 => "int4",
            PgType::Int8 => "int8",
            PgType::Float8 => "float8",
            PgType::Numeric => "numeric",
            PgType::Text => "text",
            PgType::Date => "date",
            PgType::Timestamp => "timestamp",
        }
    }

    pub fn typlen(self) -> i32 {
        match self {
            PgType::Bool => 1,
            PgType::Int4 => 4,
            PgType::Int8 | PgType::Float8 | PgType::Timestamp => 8,
            PgType::Date => 4,
            PgType::Numeric | PgType::Text => -1,
        }
    }
}

/// The type of a result column from its values (pushdown results carry no declared types):
/// the first non-NULL value's, `text` when all are NULL.
pub fn type_of_cells<'c>(cells: impl Iterator<Item = Option<&'c Cell>>) -> PgType {
    for c in cells.flatten() {
        return match c {
            Cell::Null => continue,
            Cell::Bool(_) => PgType::Bool,
            Cell::Int(_) => PgType::Int8,
            Cell::Float(_) => PgType::Float8,
            Cell::Decimal(_) => PgType::Numeric,
            Cell::Text(_) => PgType::Text,
            Cell::Timestamp(_) => PgType::Timestamp,
        };
    }
    PgType::Text
}

#[derive(Clone, Debug, PartialEq)]
pub enum ColumnKind {
    /// `agg` is the measure's aggregation as `/v1/meta` names it (`count`, `sum`,
    /// `countDistinct`, `number`, ...); `value_type` its result type.
    Measure {
        agg: String,
        value_type: String,
    },
    Dimension {
        value_type: String,
    },
    Segment,
    /// `__user`: switches the security context for one query.
    User,
    /// `__cubeJoinField`: joins two cube tables by the model's join path.
    JoinField,
}

#[derive(Clone, Debug)]
pub struct Column {
    /// The member's short name (`count`), as the column is named.
    pub name: String,
    /// The full member name (`orders.count`); empty for the virtual columns.
    pub member: String,
    pub kind: ColumnKind,
    pub description: Option<String>,
    /// A primary key dimension (`primaryKey` in `/v1/meta`).
    pub primary_key: bool,
}

impl Column {
    pub fn pg_type(&self) -> PgType {
        match &self.kind {
            ColumnKind::Measure { agg, value_type } => match (agg.as_str(), value_type.as_str()) {
                ("count" | "countDistinct" | "countDistinctApprox", _) => PgType::Int8,
                (_, "string") => PgType::Text,
                (_, "time") => PgType::Timestamp,
                (_, "boolean") => PgType::Bool,
                _ => PgType::Numeric,
            },
            ColumnKind::Dimension { value_type } => match value_type.as_str() {
                "number" => PgType::Numeric,
                "time" => PgType::Timestamp,
                "boolean" => PgType::Bool,
                _ => PgType::Text,
            },
            ColumnKind::Segment => PgType::Bool,
            ColumnKind::User | ColumnKind::JoinField => PgType::Text,
        }
    }

    /// Measures and segments are never NULL in Cube's catalog.
    pub fn not_null(&self) -> bool {
        matches!(self.kind, ColumnKind::Measure { .. } | ColumnKind::Segment)
    }

    pub fn is_measure(&self) -> bool {
        matches!(self.kind, ColumnKind::Measure { .. })
    }
}

#[derive(Clone, Debug)]
pub struct Table {
    pub name: String,
    pub is_view: bool,
    pub description: Option<String>,
    pub columns: Vec<Column>,
}

impl Table {
    /// A column by name: exact first, then case-insensitively when that is unambiguous (Cube's
    /// models use camelCase names, which unquoted SQL identifiers fold to lower case).
    pub fn column(&self, name: &str) -> Option<&Column> {
        by_name(&self.columns, name, |c| &c.name)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub tables: Vec<Table>,
}

impl Schema {
    /// The tables of a `/v1/meta` body, in its order; columns: measures, dimensions, segments,
    /// then `__user` and `__cubeJoinField`, as Cube lists them.
    pub fn from_meta(meta: &Value) -> Schema {
        let empty = Vec::new();
        let cubes = meta.get("cubes").and_then(Value::as_array).unwrap_or(&empty);
        let tables = cubes
            .iter()
            .filter_map(|c| {
                let name = c.get("name")?.as_str()?.to_string();
                let is_view = c.get("type").and_then(Value::as_str) == Some("view");
                let description = c.get("description").and_then(Value::as_str).map(str::to_string);
                let mut columns = Vec::new();
                let list = |key: &str| c.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
                for m in list("measures") {
                    let agg = m.get("aggType").and_then(Value::as_str).unwrap_or("number").to_string();
                    let value_type = m.get("type").and_then(Value::as_str).unwrap_or("number").to_string();
                    push_member(&mut columns, &m, ColumnKind::Measure { agg, value_type });
                }
                for d in list("dimensions") {
                    let value_type = d.get("type").and_then(Value::as_str).unwrap_or("string").to_string();
                    push_member(&mut columns, &d, ColumnKind::Dimension { value_type });
                }
                for s in list("segments") {
                    push_member(&mut columns, &s, ColumnKind::Segment);
                }
                columns.push(Column {
                    name: "__user".into(),
                    member: String::new(),
                    kind: ColumnKind::User,
                    description: Some("Virtual column for security context switching".into()),
                    primary_key: false,
                });
                columns.push(Column {
                    name: "__cubeJoinField".into(),
                    member: String::new(),
                    kind: ColumnKind::JoinField,
                    description: Some("Virtual column for joining cubes".into()),
                    primary_key: false,
                });
                Some(Table { name, is_view, description, columns })
            })
            .collect();
        Schema { tables }
    }

    /// A table by name, exact first, then case-insensitively when unambiguous.
    pub fn table(&self, name: &str) -> Option<&Table> {
        by_name(&self.tables, name, |t| &t.name)
    }
}

/// The item named `name`: exactly, else case-insensitively when only one matches.
fn by_name<'a, T>(items: &'a [T], name: &str, name_of: impl Fn(&T) -> &String) -> Option<&'a T> {
    if let Some(x) = items.iter().find(|x| name_of(x) == name) {
        return Some(x);
    }
    let mut found = items.iter().filter(|x| name_of(x).eq_ignore_ascii_case(name));
    match (found.next(), found.next()) {
        (Some(x), None) => Some(x),
        _ => None,
    }
}

fn push_member(columns: &mut Vec<Column>, m: &Value, kind: ColumnKind) {
    let Some(member) = m.get("name").and_then(Value::as_str) else { return };
    let name = member.split_once('.').map(|(_, n)| n).unwrap_or(member).to_string();
    let description = m.get("description").and_then(Value::as_str).map(str::to_string);
    let primary_key = m.get("primaryKey").and_then(Value::as_bool).unwrap_or(false);
    columns.push(Column { name, member: member.to_string(), kind, description, primary_key });
}
