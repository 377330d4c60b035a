//! Reading Cube's REST query JSON (`measures`, `dimensions`, `timeDimensions`, `filters`,
//! `segments`, `order`, `limit`, `offset`, `timezone`, `ungrouped`, `total`, `joinHints`).

use super::dates::{self, DateRange};
use super::*;
use crate::diag::{Code, Diagnostic};
use crate::resolve::{DimensionType, Model};
use crate::util::did_you_mean;
use chrono::NaiveDateTime;
use serde_json::Value;

const FIELDS: &[&str] = &[
    "measures",
    "dimensions",
    "timeDimensions",
    "filters",
    "segments",
    "order",
    "limit",
    "offset",
    "timezone",
    "ungrouped",
    "total",
    "renewQuery",
    "responseFormat",
    "joinHints",
    "rowLimit",
    "queryType",
];

const MAX_FILTER_DEPTH: usize = 64;
/// Filters and and/or groups in one query: far above what a BI tool sends, far below what
/// would make compiling slow.
const MAX_FILTERS: usize = 10_000;
/// Filter values in one query, all filters together.
const MAX_FILTER_VALUES: usize = 100_000;
const MAX_MEMBERS: usize = 2_000;

fn err(code: Code, msg: impl Into<String>) -> Diagnostic {
    Diagnostic::error(code, msg)
}

/// Parses one query object against `model`.
pub fn parse_query(json: &Value, model: &Model, opts: &QueryOptions) -> Result<Query, Vec<Diagnostic>> {
    parse_query_as(json, model, opts, None)
}

/// [`parse_query`] for a caller under access control: "did you mean" suggestions name only
/// cubes and members the caller may see.
pub fn parse_query_as(
    json: &Value,
    model: &Model,
    opts: &QueryOptions,
    caller: Option<&dyn Visibility>,
) -> Result<Query, Vec<Diagnostic>> {
    let mut p = Parser { model, diags: Vec::new(), filters: 0, values: 0, caller };
    let q = p.query(json, opts);
    if p.diags.is_empty() {
        q.ok_or_else(|| vec![err(Code::QueryJson, "the query is not valid")])
    } else {
        Err(p.diags)
    }
}

/// Reads one filter in the REST shape against `model`; `now_local` is the query's "now" in its
/// timezone. Access policies build their row filters this way, so they mean what a user's
/// filter means.
pub fn parse_filter(
    json: &Value,
    model: &Model,
    field: &str,
    now_local: NaiveDateTime,
) -> Result<FilterNode, Vec<Diagnostic>> {
    let mut p = Parser { model, diags: Vec::new(), filters: 0, values: 0, caller: None };
    match p.filter(json, field, 0, now_local) {
        Some(f) if p.diags.is_empty() => Ok(f),
        _ => Err(p.diags),
    }
}

struct Parser<'a> {
    caller: Option<&'a dyn Visibility>,
    model: &'a Model,
    diags: Vec<Diagnostic>,
    /// Filters and groups read so far, and their values, against the limits.
    filters: usize,
    values: usize,
}

impl<'a> Parser<'a> {
    fn query(&mut self, json: &Value, opts: &QueryOptions) -> Option<Query> {
        let Some(obj) = json.as_object() else {
            self.diags.push(err(Code::QueryJson, "a query must be a JSON object"));
            return None;
        };
        for key in obj.keys() {
            if !FIELDS.contains(&key.as_str()) {
                let help = did_you_mean(key, FIELDS.iter().copied());
                self.diags.push(
                    err(Code::QueryUnknownField, format!("unknown query field `{}`", truncate(key)))
                        .maybe_help(help.map(|h| format!("did you mean `{h}`?"))),
                );
            }
        }
        let timezone = match obj.get("timezone") {
            None | Some(Value::Null) => chrono_tz::UTC,
            Some(Value::String(s)) => match s.parse::<chrono_tz::Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    self.diags.push(
                        err(Code::QueryTimezone, format!("`timezone`: `{}` is not an IANA time zone", truncate(s)))
                            .with_help("use a name such as UTC, America/Los_Angeles or Europe/Berlin"),
                    );
                    chrono_tz::UTC
                }
            },
            Some(v) => {
                self.diags.push(err(Code::QueryTimezone, format!("`timezone` must be a string, found {}", kind(v))));
                chrono_tz::UTC
            }
        };
        let now_local = opts.now.with_timezone(&timezone).naive_local();

        let measures = self.member_list(obj.get("measures"), "measures", Kind::Measure);
        let mut dimensions = Vec::new();
        let mut time_dimensions = Vec::new();
        for (i, name) in self.strings(obj.get("dimensions"), "dimensions").into_iter().enumerate() {
            let field = format!("dimensions[{i}]");
            let parts: Vec<&str> = name.split('.').collect();
            if parts.len() == 3 {
                let base = format!("{}.{}", parts[0], parts[1]);
                if let Some(m) = self.member(&base, &field, Kind::Dimension) {
                    if self.check_granularity(&m, parts[2], &field) {
                        time_dimensions.push(TimeDimension {
                            member: m,
                            granularity: Some(parts[2].to_string()),
                            date_range: None,
                        });
                    }
                }
            } else if let Some(m) = self.member(&name, &field, Kind::Dimension) {
                dimensions.push(m);
            }
        }
        if let Some(tds) = obj.get("timeDimensions") {
            match tds {
                Value::Array(items) => {
                    for (i, td) in items.iter().enumerate() {
                        if let Some(t) = self.time_dimension(td, i, now_local) {
                            time_dimensions.push(t);
                        }
                    }
                }
                Value::Null => {}
                v => {
                    self.diags.push(err(Code::QueryJson, format!("`timeDimensions` must be a list, found {}", kind(v))))
                }
            }
        }
        let segments = self.member_list(obj.get("segments"), "segments", Kind::Segment);
        let mut filters = Vec::new();
        match obj.get("filters") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, f) in items.iter().enumerate() {
                    if let Some(n) = self.filter(f, &format!("filters[{i}]"), 0, now_local) {
                        filters.push(n);
                    }
                }
            }
            Some(v) => self.diags.push(err(Code::QueryFilter, format!("`filters` must be a list, found {}", kind(v)))),
        }
        let order = self.order(obj.get("order"));
        let limit = match obj.get("limit") {
            None | Some(Value::Null) => DEFAULT_LIMIT,
            Some(v) => match v.as_u64() {
                Some(n) if n > opts.max_limit => {
                    self.diags.push(
                        err(Code::QueryLimit, format!("`limit` {n} is over the maximum of {} rows", opts.max_limit))
                            .with_help("page through results with `offset`"),
                    );
                    DEFAULT_LIMIT
                }
                Some(n) => n,
                None => {
                    self.diags.push(err(
                        Code::QueryLimit,
                        format!("`limit` must be a whole number ≥ 0, found {}", truncate(&v.to_string())),
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let offset = match obj.get("offset") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(0) => None,
                Some(n) => Some(n),
                None => {
                    self.diags.push(err(
                        Code::QueryLimit,
                        format!("`offset` must be a whole number ≥ 0, found {}", truncate(&v.to_string())),
                    ));
                    None
                }
            },
        };
        let ungrouped = self.boolean(obj.get("ungrouped"), "ungrouped");
        let total = self.boolean(obj.get("total"), "total");
        let mut join_hints = Vec::new();
        if let Some(Value::Array(hints)) = obj.get("joinHints") {
            for (i, h) in hints.iter().enumerate() {
                let names: Vec<String> = match h {
                    Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                    _ => Vec::new(),
                };
                let ids: Option<Vec<CubeId>> = names.iter().map(|n| self.model.cube_id(n)).collect();
                match ids {
                    Some(ids) if ids.len() >= 2 => join_hints.push(ids),
                    _ => self
                        .diags
                        .push(err(Code::QueryJoinPath, format!("`joinHints[{i}]` must list two or more cube names"))),
                }
            }
        }
        if measures.is_empty() && dimensions.is_empty() && !time_dimensions.iter().any(|t| t.granularity.is_some()) {
            if self.diags.is_empty() {
                self.diags.push(
                    err(
                        Code::QueryEmpty,
                        "the query has no measures, dimensions or time dimensions with a granularity",
                    )
                    .with_help("add at least one member to select"),
                );
            }
            return None;
        }
        Some(Query {
            measures,
            dimensions,
            time_dimensions,
            segments,
            filters,
            order,
            limit,
            offset,
            timezone,
            ungrouped,
            ungrouped_without_primary_key: opts.ungrouped_without_primary_key,
            total,
            join_hints,
            now: now_local,
            security_context: opts.security_context.clone(),
            sub_query_filters: Vec::new(),
        })
    }

    fn boolean(&mut self, v: Option<&Value>, field: &str) -> bool {
        match v {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.diags.push(err(Code::QueryJson, format!("`{field}` must be true or false, found {}", kind(v))));
                false
            }
        }
    }

    fn strings(&mut self, v: Option<&Value>, field: &str) -> Vec<String> {
        match v {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > MAX_MEMBERS {
                    self.diags.push(err(
                        Code::QueryJson,
                        format!("`{field}` lists {} members; at most {MAX_MEMBERS}", items.len()),
                    ));
                    return Vec::new();
                }
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| match x {
                        Value::String(s) => Some(s.clone()),
                        other => {
                            self.diags.push(err(
                                Code::QueryMemberName,
                                format!("`{field}[{i}]` must be a member name string, found {}", kind(other)),
                            ));
                            None
                        }
                    })
                    .collect()
            }
            Some(other) => {
                self.diags.push(err(
                    Code::QueryJson,
                    format!("`{field}` must be a list of member names, found {}", kind(other)),
                ));
                Vec::new()
            }
        }
    }

    fn member_list(&mut self, v: Option<&Value>, field: &str, want: Kind) -> Vec<QueryMember> {
        self.strings(v, field)
            .into_iter()
            .enumerate()
            .filter_map(|(i, n)| self.member(&n, &format!("{field}[{i}]"), want))
            .collect()
    }

    /// Looks up `cube.member` and checks its kind.
    fn member(&mut self, name: &str, field: &str, want: Kind) -> Option<QueryMember> {
        let Some((cube_name, member_name)) =
            name.split_once('.').filter(|(c, m)| !c.is_empty() && !m.contains('.') && !m.is_empty())
        else {
            self.diags.push(
                err(Code::QueryMemberName, format!("`{field}`: `{}` is not a `cube.member` name", truncate(name)))
                    .with_help("members are named `cube.member`, e.g. `orders.count`"),
            );
            return None;
        };
        let Some(cube) = self.model.cube_id(cube_name) else {
            let caller = self.caller;
            let visible = self
                .model
                .cubes
                .iter()
                .enumerate()
                .filter(|(id, _)| caller.is_none_or(|c| c.cube_visible(*id)))
                .map(|(_, c)| c.name.as_str());
            let help = did_you_mean(cube_name, visible);
            self.diags.push(
                err(
                    Code::QueryUnknownMember,
                    format!("`{field}`: cube `{}` not found for path `{}`", truncate(cube_name), truncate(name)),
                )
                .maybe_help(help.map(|h| format!("did you mean `{h}`?"))),
            );
            return None;
        };
        let c = self.model.cube(cube);
        let Some(member) = c.member(member_name) else {
            let caller = self.caller;
            let visible = c
                .members
                .iter()
                .filter(|(_, r)| caller.is_none_or(|who| who.member_visible(cube, **r)))
                .map(|(n, _)| n.as_str());
            let help = did_you_mean(member_name, visible);
            self.diags.push(
                err(
                    Code::QueryUnknownMember,
                    format!("`{field}`: `{}` not found in `{}`", truncate(member_name), c.name),
                )
                .maybe_help(help.map(|h| format!("did you mean `{cube_name}.{h}`?"))),
            );
            return None;
        };
        let ok = match (want, member) {
            (Kind::Measure, MemberRef::Measure(_))
            | (Kind::Dimension, MemberRef::Dimension(_))
            | (Kind::Segment, MemberRef::Segment(_)) => true,
            (Kind::Any, MemberRef::Measure(_) | MemberRef::Dimension(_)) => true,
            _ => false,
        };
        if !ok {
            self.diags.push(err(
                Code::QueryMemberKind,
                format!("`{field}`: `{name}` is a {}, not a {}", kind_name(member), want.name()),
            ));
            return None;
        }
        let (source_cube, source_member, join_path) = match proxy_of(c, member) {
            Some(p) => (p.cube, p.member, p.join_path.clone()),
            None => (cube, member, Vec::new()),
        };
        Some(QueryMember { name: name.to_string(), cube, member, source_cube, source_member, join_path })
    }

    fn check_granularity(&mut self, m: &QueryMember, gran: &str, field: &str) -> bool {
        let MemberRef::Dimension(d) = m.source_member else { return false };
        let dim = &self.model.cube(m.source_cube).dimensions[d];
        if dim.type_ != DimensionType::Time {
            self.diags.push(err(Code::QueryGranularity, format!("`{field}`: `{}` is not a time dimension", m.name)));
            return false;
        }
        if crate::resolve::templates::BUILTIN_GRANULARITIES.contains(&gran) || dim.granularity(gran).is_some() {
            return true;
        }
        let mut names: Vec<&str> = crate::resolve::templates::BUILTIN_GRANULARITIES.to_vec();
        names.extend(dim.granularities.iter().map(|g| g.name.as_str()));
        self.diags.push(
            err(
                Code::QueryGranularity,
                format!("`{field}`: granularity \"{}\" does not exist in dimension {}", truncate(gran), m.name),
            )
            .with_help(match did_you_mean(gran, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("granularities: {}", names.join(", ")),
            }),
        );
        false
    }

    fn time_dimension(&mut self, td: &Value, i: usize, now: NaiveDateTime) -> Option<TimeDimension> {
        let field = format!("timeDimensions[{i}]");
        let Some(obj) = td.as_object() else {
            self.diags.push(err(Code::QueryJson, format!("`{field}` must be an object with `dimension`")));
            return None;
        };
        for key in obj.keys() {
            if !["dimension", "granularity", "dateRange", "compareDateRange"].contains(&key.as_str()) {
                self.diags.push(err(Code::QueryUnknownField, format!("unknown field `{key}` in `{field}`")));
            }
        }
        if obj.get("compareDateRange").is_some() {
            // The API and the CLI split such a query into one per range (`compare::split`) before
            // it gets here; a caller of the library that did not is told how.
            self.diags.push(
                err(Code::QueryDateRange, format!("`{field}.compareDateRange` makes one query per range"))
                    .with_help("split it with cubec::query::compare::split and compile each part"),
            );
            return None;
        }
        let Some(name) = obj.get("dimension").and_then(Value::as_str) else {
            self.diags.push(err(Code::QueryJson, format!("`{field}.dimension` is required")));
            return None;
        };
        let member = self.member(name, &format!("{field}.dimension"), Kind::Dimension)?;
        let MemberRef::Dimension(d) = member.source_member else { return None };
        if self.model.cube(member.source_cube).dimensions[d].type_ != DimensionType::Time {
            self.diags.push(err(Code::QueryGranularity, format!("`{field}`: `{name}` is not a time dimension")));
            return None;
        }
        let granularity = match obj.get("granularity") {
            None | Some(Value::Null) => None,
            Some(Value::String(g)) => {
                if !self.check_granularity(&member, g, &field) {
                    return None;
                }
                Some(g.clone())
            }
            Some(v) => {
                self.diags.push(err(
                    Code::QueryGranularity,
                    format!("`{field}.granularity` must be a string, found {}", kind(v)),
                ));
                return None;
            }
        };
        let date_range = match obj.get("dateRange") {
            None | Some(Value::Null) => None,
            Some(v) => match self.date_range(v, &format!("{field}.dateRange"), now) {
                Some(r) => Some(r),
                None => return None,
            },
        };
        Some(TimeDimension { member, granularity, date_range })
    }

    fn date_range(&mut self, v: &Value, field: &str, now: NaiveDateTime) -> Option<DateRange> {
        let result = match v {
            Value::String(s) => dates::relative_range(s, now),
            Value::Array(items) => {
                let strs: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                match strs.as_deref() {
                    Some([one]) => dates::absolute_range(one, one),
                    Some([from, to]) => dates::absolute_range(from, to),
                    _ => Err("a date range is `[from, to]`, `[date]` or a relative string".to_string()),
                }
            }
            _ => Err(format!("a date range must be a list or a string, found {}", kind(v))),
        };
        match result {
            Ok(r) => Some(r),
            Err(e) => {
                self.diags.push(err(Code::QueryDateRange, format!("`{field}`: {e}")).with_help(
                    "use [\"2024-01-01\", \"2024-01-31\"], a single date, or: today, yesterday, this week, last month, last 7 days, from 7 days ago to now",
                ));
                None
            }
        }
    }

    fn filter(&mut self, f: &Value, field: &str, depth: usize, now: NaiveDateTime) -> Option<FilterNode> {
        self.filters += 1;
        if self.filters > MAX_FILTERS {
            if self.filters == MAX_FILTERS + 1 {
                self.diags.push(
                    err(Code::QueryFilter, format!("the query has more than {MAX_FILTERS} filters and filter groups"))
                        .with_help("use one filter with many values (`equals` takes a list) instead of many filters"),
                );
            }
            return None;
        }
        if depth > MAX_FILTER_DEPTH {
            self.diags.push(err(
                Code::QueryFilter,
                format!("`{field}`: filters nest more than {MAX_FILTER_DEPTH} levels deep"),
            ));
            return None;
        }
        let Some(obj) = f.as_object() else {
            self.diags.push(err(Code::QueryFilter, format!("`{field}` must be an object, found {}", kind(f))));
            return None;
        };
        for (group, is_and) in [("and", true), ("or", false)] {
            if let Some(list) = obj.get(group) {
                let Some(items) = list.as_array() else {
                    self.diags.push(err(Code::QueryFilter, format!("`{field}.{group}` must be a list")));
                    return None;
                };
                if items.is_empty() {
                    // No condition to render, and no meaning everyone agrees on (`and` of nothing
                    // is true, `or` of nothing is false): refuse it rather than guess.
                    self.diags.push(
                        err(Code::QueryFilter, format!("`{field}.{group}` is an empty list"))
                            .with_help("remove the group, or put at least one filter in it"),
                    );
                    return None;
                }
                let children: Vec<FilterNode> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| self.filter(c, &format!("{field}.{group}[{i}]"), depth + 1, now))
                    .collect();
                if children.len() != items.len() {
                    return None;
                }
                let measures = children.iter().filter(|c| c.is_measure()).count();
                if measures != 0 && measures != children.len() {
                    let name = |measure: bool| {
                        children.iter().find(|c| c.is_measure() == measure).and_then(FilterNode::first_member_name)
                    };
                    self.diags.push(
                        err(
                            Code::QueryFilter,
                            format!(
                                "`{field}`: you cannot use dimension and measure in the same condition: \
                                 `{group}` mixes dimension `{}` with measure `{}`",
                                truncate(name(false).unwrap_or("?")),
                                truncate(name(true).unwrap_or("?"))
                            ),
                        )
                        .with_help("dimension filters go to WHERE and measure filters to HAVING; split them into separate filters"),
                    );
                    return None;
                }
                return Some(if is_and { FilterNode::And(children) } else { FilterNode::Or(children) });
            }
        }
        let member_name = obj.get("member").or_else(|| obj.get("dimension")).and_then(Value::as_str);
        let Some(member_name) = member_name else {
            self.diags.push(err(Code::QueryFilter, format!("`{field}`: member attribute is required for filter")));
            return None;
        };
        let op_name = obj.get("operator").and_then(Value::as_str).unwrap_or("");
        let Some(operator) = Operator::parse(op_name) else {
            let names: Vec<&str> = Operator::ALL.iter().map(|(n, _)| *n).collect();
            self.diags.push(
                err(Code::QueryFilter, format!("`{field}`: `{}` is not a filter operator", truncate(op_name)))
                    .with_help(match did_you_mean(op_name, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("operators: {}", names.join(", ")),
                    }),
            );
            return None;
        };
        let member = self.member(member_name, &format!("{field}.member"), Kind::Any)?;
        let values: Vec<Option<String>> = match obj.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(vs)) => {
                self.values += vs.len();
                if self.values > MAX_FILTER_VALUES {
                    self.diags.push(err(
                        Code::QueryFilter,
                        format!("`{field}.values`: the query has more than {MAX_FILTER_VALUES} filter values in all"),
                    ));
                    return None;
                }
                let mut out = Vec::with_capacity(vs.len());
                for v in vs {
                    match v {
                        Value::Null => out.push(None),
                        Value::String(s) => out.push(Some(s.clone())),
                        Value::Number(n) => out.push(Some(n.to_string())),
                        Value::Bool(b) => out.push(Some(b.to_string())),
                        other => {
                            self.diags.push(err(
                                Code::QueryFilter,
                                format!(
                                    "`{field}.values` may hold strings, numbers, booleans or null, found {}",
                                    kind(other)
                                ),
                            ));
                            return None;
                        }
                    }
                }
                out
            }
            Some(other) => {
                self.diags
                    .push(err(Code::QueryFilter, format!("`{field}.values` must be a list, found {}", kind(other))));
                return None;
            }
        };
        if operator.needs_values() && values.is_empty() {
            self.diags
                .push(err(Code::QueryFilter, format!("`{field}`: values required for filter `{}`", operator.name())));
            return None;
        }
        let mut date_bounds = None;
        if operator.is_date() {
            let strs: Vec<&str> = values.iter().map(|v| v.as_deref().unwrap_or("")).collect();
            let range = match (operator, strs.as_slice()) {
                (Operator::InDateRange | Operator::NotInDateRange | Operator::OnTheDate, [one]) => {
                    dates::relative_range(one, now).or_else(|_| dates::absolute_range(one, one))
                }
                (Operator::InDateRange | Operator::NotInDateRange | Operator::OnTheDate, [from, to]) => {
                    dates::absolute_range(from, to)
                }
                (_, [one]) => dates::absolute_range(one, one),
                _ => Err(format!(
                    "`{}` takes {} date value(s)",
                    operator.name(),
                    if matches!(operator, Operator::InDateRange | Operator::NotInDateRange) {
                        "one or two"
                    } else {
                        "one"
                    }
                )),
            };
            match range {
                Ok(r) => date_bounds = Some(r),
                Err(e) => {
                    self.diags.push(err(Code::QueryDateRange, format!("`{field}`: {e}")));
                    return None;
                }
            }
        }
        Some(FilterNode::Leaf(Filter { member, operator, values, date_bounds }))
    }

    fn order(&mut self, v: Option<&Value>) -> Option<Vec<OrderItem>> {
        let pairs: Vec<(String, Value)> = match v {
            None | Some(Value::Null) => return None,
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_array().map(Vec::as_slice) {
                        Some([Value::String(k), d]) => out.push((k.clone(), d.clone())),
                        _ => self.diags.push(err(
                            Code::QueryOrder,
                            format!("`order[{i}]` must be a [member, \"asc\"|\"desc\"] pair"),
                        )),
                    }
                }
                out
            }
            Some(other) => {
                self.diags.push(err(
                    Code::QueryOrder,
                    format!("`order` must be an object or a list of pairs, found {}", kind(other)),
                ));
                return None;
            }
        };
        let mut items = Vec::new();
        for (id, dir) in pairs {
            let desc = match dir.as_str() {
                Some("asc") => false,
                Some("desc") => true,
                _ => {
                    self.diags.push(err(
                        Code::QueryOrder,
                        format!(
                            "`order` of `{}` must be \"asc\" or \"desc\", found {}",
                            truncate(&id),
                            truncate(&dir.to_string())
                        ),
                    ));
                    continue;
                }
            };
            let base: String = id.split('.').take(2).collect::<Vec<_>>().join(".");
            if self.model.member(&base).is_none() {
                self.diags.push(err(Code::QueryOrder, format!("`order`: `{}` is not a member", truncate(&id))));
                continue;
            }
            items.push(OrderItem { id, desc });
        }
        Some(items)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Measure,
    Dimension,
    Segment,
    Any,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Measure => "measure",
            Kind::Dimension => "dimension",
            Kind::Segment => "segment",
            Kind::Any => "measure or dimension",
        }
    }
}

fn kind_name(r: MemberRef) -> &'static str {
    match r {
        MemberRef::Measure(_) => "measure",
        MemberRef::Dimension(_) => "dimension",
        MemberRef::Segment(_) => "segment",
    }
}

fn proxy_of(c: &crate::resolve::Cube, r: MemberRef) -> Option<&crate::resolve::Proxy> {
    c.proxy(r)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Long user input is cut in messages.
fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}
