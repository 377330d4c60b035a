//! Building cubes: first a skeleton of every cube (members, types, granularities) so that
//! references can be looked up, then the SQL of every member, join and segment.

use super::extends::check_name;
use super::model::*;
use super::templates::{Resolver, SqlRole};
use crate::diag::{Code, Diagnostic, Span};
use crate::load::raw::*;
use crate::util::did_you_mean;
use crate::vocab::TimeUnit;
use std::collections::HashMap;

fn text(s: &Option<SpStr>) -> Option<String> {
    s.as_ref().map(|s| s.value.clone())
}

/// Cube's default title: `users_orders` -> `Users Orders`, `ReferralMessages` -> `Referral Messages`.
pub fn titleize(name: &str) -> String {
    crate::util::underscore(name)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The skeleton of one cube: everything but SQL.
pub fn skeleton(raw: &RawCube, diags: &mut Vec<Diagnostic>) -> Cube {
    let name = text(&raw.name).unwrap_or_default();
    let name_span = raw.name.as_ref().map(|n| n.span).unwrap_or(raw.span);
    match (&raw.sql, &raw.sql_table) {
        (Some(_), Some(t)) => diags.push(
            Diagnostic::error(Code::CubeSqlXor, format!("cube `{name}` has both `sql` and `sql_table`"))
                .at(t.span, "second source")
                .with_help("use either sql or sql_table, not both"),
        ),
        (None, None) => diags.push(
            Diagnostic::error(Code::CubeSqlXor, format!("cube `{name}` has neither `sql` nor `sql_table`"))
                .at(name_span, "this cube reads from nowhere")
                .with_help("add `sql_table: schema.table` or `sql: SELECT ...`"),
        ),
        _ => {}
    }
    let mut cube = Cube {
        title: text(&raw.title).unwrap_or_else(|| titleize(&name)),
        name,
        kind: CubeKind::Cube,
        name_span,
        source: None,
        sql_alias: text(&raw.sql_alias),
        data_source: text(&raw.data_source).unwrap_or_else(|| "default".to_string()),
        description: text(&raw.description),
        meta: raw.meta.clone(),
        public: raw.public.as_ref().map(|p| p.value).unwrap_or(true),
        measures: Vec::new(),
        dimensions: Vec::new(),
        segments: Vec::new(),
        joins: Vec::new(),
        hierarchies: Vec::new(),
        pre_aggregations: Vec::new(),
        folders: Vec::new(),
        refresh_key: None,
        access_policy: Vec::new(),
        members: HashMap::new(),
    };
    if let Some(alias) = &raw.sql_alias {
        check_name(alias, "sql_alias", diags);
    }
    let mut names = MemberNames::default();
    for m in &raw.measures {
        let Some(n) = member_name(&m.name, "measure", &mut names, diags) else {
            continue;
        };
        if let Some(measure) = measure_skeleton(n, m, diags) {
            cube.members.insert(measure.name.clone(), MemberRef::Measure(cube.measures.len()));
            cube.measures.push(measure);
        }
    }
    for d in &raw.dimensions {
        let Some(n) = member_name(&d.name, "dimension", &mut names, diags) else {
            continue;
        };
        if let Some(dim) = dimension_skeleton(n, d, diags) {
            cube.members.insert(dim.name.clone(), MemberRef::Dimension(cube.dimensions.len()));
            cube.dimensions.push(dim);
        }
    }
    for s in &raw.segments {
        let Some(n) = member_name(&s.name, "segment", &mut names, diags) else {
            continue;
        };
        cube.members.insert(n.value.clone(), MemberRef::Segment(cube.segments.len()));
        cube.segments.push(Segment {
            name: n.value.clone(),
            span: n.span,
            sql: SqlTemplate::default(),
            title: text(&s.title),
            description: text(&s.description),
            meta: s.meta.clone(),
            public: s.public.as_ref().map(|p| p.value).unwrap_or(true),
            proxy: None,
        });
    }
    // Names only here (they share the members' namespace); `preagg` reads the rest once every
    // cube's members are known.
    for p in &raw.pre_aggregations {
        member_name(&p.name, "pre-aggregation", &mut names, diags);
    }
    for h in &raw.hierarchies {
        if let Some(n) = member_name(&h.name, "hierarchy", &mut names, diags) {
            cube.hierarchies.push(Hierarchy {
                name: n.value.clone(),
                title: text(&h.title),
                public: h.public.as_ref().map(|p| p.value).unwrap_or(true),
                levels: h.levels.iter().map(|l| l.value.clone()).collect(),
            });
        }
    }
    cube
}

/// Member names seen so far in one cube (measures, dimensions, segments, pre-aggregations and
/// hierarchies share one namespace).
#[derive(Default)]
struct MemberNames(HashMap<String, (Span, &'static str)>);

fn member_name<'a>(
    name: &'a Option<SpStr>,
    what: &'static str,
    names: &mut MemberNames,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'a SpStr> {
    let n = name.as_ref()?;
    if !check_name(n, what, diags) {
        return None;
    }
    if let Some((first, first_what)) = names.0.get(&n.value) {
        diags.push(
            Diagnostic::error(Code::DuplicateMember, format!("`{}` is defined more than once in this cube", n.value))
                .at(n.span, format!("{what} defined again here"))
                .at(*first, format!("first defined as a {first_what} here"))
                .with_help(
                    "measures, dimensions, segments, pre-aggregations and hierarchies share one namespace per cube",
                ),
        );
        return None;
    }
    names.0.insert(n.value.clone(), (n.span, what));
    Some(n)
}

fn measure_skeleton(name: &SpStr, m: &RawMeasure, diags: &mut Vec<Diagnostic>) -> Option<Measure> {
    let type_ = match &m.type_ {
        None => {
            diags.push(
                Diagnostic::error(Code::MissingKey, format!("measure `{}` has no `type`", name.value))
                    .at(name.span, "`type` is required")
                    .with_help(format!("one of: {}", MeasureType::NAMES.join(", "))),
            );
            MeasureType::Number
        }
        Some(t) => match MeasureType::parse(&t.value) {
            Some(ty) => ty,
            None => {
                let help = if t.value == "running_total" || t.value == "runningTotal" {
                    "running_total was removed from Cube; use `type: sum` with `rolling_window: {trailing: unbounded}`"
                        .to_string()
                } else {
                    match did_you_mean(&t.value, MeasureType::NAMES.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("one of: {}", MeasureType::NAMES.join(", ")),
                    }
                };
                diags.push(
                    Diagnostic::error(
                        Code::InvalidMeasureType,
                        format!("measure `{}` has invalid type `{}`", name.value, t.value),
                    )
                    .at(t.span, "not a measure type")
                    .with_help(help),
                );
                // Keep the member (as a number) so references to it do not cascade into errors.
                MeasureType::Number
            }
        },
    };
    if m.sql.is_none() && !matches!(type_, MeasureType::Count | MeasureType::Rank) {
        diags.push(
            Diagnostic::error(
                Code::MissingSql,
                format!(
                    "measure `{}` of type `{}` needs `sql`",
                    name.value,
                    m.type_.as_ref().map(|t| t.value.as_str()).unwrap_or("")
                ),
            )
            .at(name.span, "no `sql` here")
            .with_help(match type_ {
                MeasureType::Number => {
                    "a number measure is an expression over other measures, e.g. `sql: \"{paid} / NULLIF({count}, 0)\"`"
                }
                _ => "give the column or expression to aggregate, e.g. `sql: amount`",
            }),
        );
    }
    if let Some(f) = &m.format {
        check_format(&f.value, f.span, FORMATS_MEASURE, diags);
    }
    let rolling_window = m.rolling_window.as_ref().and_then(|r| rolling_window(r, diags));
    Some(Measure {
        name: name.value.clone(),
        span: name.span,
        type_,
        sql: None,
        filters: Vec::new(),
        title: text(&m.title),
        description: text(&m.description),
        format: text(&m.format),
        meta: m.meta.clone(),
        public: m.public.as_ref().map(|p| p.value).unwrap_or(true),
        rolling_window,
        drill_members: m.drill_members.iter().map(|d| d.value.clone()).collect(),
        multi_stage: m.multi_stage,
        stage: None,
        proxy: None,
    })
}

fn dimension_skeleton(name: &SpStr, d: &RawDimension, diags: &mut Vec<Diagnostic>) -> Option<Dimension> {
    let type_ = match &d.type_ {
        None => {
            diags.push(
                Diagnostic::error(Code::MissingKey, format!("dimension `{}` has no `type`", name.value))
                    .at(name.span, "`type` is required")
                    .with_help(format!("one of: {}", DimensionType::NAMES.join(", "))),
            );
            DimensionType::String
        }
        Some(t) => match DimensionType::parse(&t.value) {
            Some(ty) => ty,
            None => {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidDimensionType,
                        format!("dimension `{}` has invalid type `{}`", name.value, t.value),
                    )
                    .at(t.span, "not a dimension type")
                    .with_help(
                        match did_you_mean(&t.value, DimensionType::NAMES.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("one of: {}", DimensionType::NAMES.join(", ")),
                        },
                    ),
                );
                DimensionType::String
            }
        },
    };
    let has_source = d.sql.is_some()
        || d.case.is_some()
        || (type_ == DimensionType::Geo && d.latitude.is_some() && d.longitude.is_some())
        || (type_ == DimensionType::Switch && !d.switch_values.is_empty());
    if !has_source {
        let help = match type_ {
            DimensionType::Geo => "a geo dimension needs `latitude: {sql: ...}` and `longitude: {sql: ...}`",
            DimensionType::Switch => "a switch dimension needs `values: [...]`",
            _ => "add `sql: column_name` or a `case:` block",
        };
        diags.push(
            Diagnostic::error(Code::MissingSql, format!("dimension `{}` needs `sql`", name.value))
                .at(name.span, "no `sql` here")
                .with_help(help),
        );
    }
    if d.sql.is_some() && d.case.is_some() {
        diags.push(
            Diagnostic::error(Code::KeyConflict, format!("dimension `{}` has both `sql` and `case`", name.value))
                .at(d.case.as_ref().map(|c| c.span).unwrap_or(name.span), "choose one")
                .with_help("a case dimension builds its SQL from `when` branches; remove `sql`"),
        );
    }
    if !d.granularities.is_empty() && type_ != DimensionType::Time {
        diags.push(
            Diagnostic::error(
                Code::Granularity,
                format!("dimension `{}` has granularities but is not a time dimension", name.value),
            )
            .at(name.span, "not `type: time`")
            .with_help("only time dimensions take custom granularities"),
        );
    }
    if let Some(f) = &d.format {
        if let RawFormat::Name(n) = &f.value {
            check_format(n, f.span, FORMATS_DIMENSION, diags);
        }
    }
    let mut granularities: Vec<CustomGranularity> = Vec::new();
    for g in &d.granularities {
        let Some(gn) = &g.name else { continue };
        if !check_name(gn, "granularity", diags) {
            continue;
        }
        if granularities.iter().any(|x| x.name == gn.value) {
            diags.push(
                Diagnostic::error(Code::Granularity, format!("granularity `{}` is defined twice", gn.value))
                    .at(gn.span, "defined again here"),
            );
            continue;
        }
        if let Some(kind) = granularity(gn, g, diags) {
            granularities.push(CustomGranularity { name: gn.value.clone(), title: text(&g.title), kind });
        }
    }
    let primary_key = d.primary_key.as_ref().map(|p| p.value).unwrap_or(false);
    Some(Dimension {
        name: name.value.clone(),
        span: name.span,
        type_,
        sql: None,
        case: None,
        geo: None,
        primary_key,
        sub_query: d.sub_query.as_ref().map(|p| p.value).unwrap_or(false),
        propagate_filters_to_sub_query: d.propagate_filters_to_sub_query.as_ref().map(|p| p.value).unwrap_or(false),
        granularities,
        title: text(&d.title),
        description: text(&d.description),
        format: d.format.as_ref().map(|f| match &f.value {
            RawFormat::Name(n) => n.clone(),
            RawFormat::Link { .. } => "link".to_string(),
        }),
        meta: d.meta.clone(),
        // Primary keys are hidden unless made public explicitly, as in Cube.
        public: d.public.as_ref().map(|p| p.value).unwrap_or(!primary_key),
        proxy: None,
    })
}

const FORMATS_MEASURE: &[&str] = &["percent", "currency", "number", "abbr", "accounting", "decimal"];
const FORMATS_DIMENSION: &[&str] =
    &["imageUrl", "link", "id", "percent", "currency", "number", "abbr", "accounting", "decimal"];

/// Known format names, their `_0`..`_6` precision variants, or a d3-format specifier.
fn check_format(format: &str, span: Span, known: &[&str], diags: &mut Vec<Diagnostic>) {
    if known.contains(&format) {
        return;
    }
    if let Some((base, digits)) = format.rsplit_once('_') {
        if known.contains(&base) && digits.len() == 1 && digits.bytes().all(|b| (b'0'..=b'6').contains(&b)) {
            return;
        }
    }
    if is_d3_format(format) {
        return;
    }
    diags.push(
        Diagnostic::error(Code::InvalidFormat, format!("`{format}` is not a format"))
            .at(span, "unknown format")
            .with_help(match did_you_mean(format, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "use one of {} (optionally with _0.._6 decimals) or a d3 format such as `,.2f`",
                    known.join(", ")
                ),
            }),
    );
}

/// `[[fill]align][sign][symbol][0][width][,][.precision][~][type]`
fn is_d3_format(s: &str) -> bool {
    let b: Vec<char> = s.chars().collect();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    if b.len() > 1 && "<>=^".contains(b[1]) {
        i = 2;
    } else if "<>=^".contains(b[0]) {
        i = 1;
    }
    if i < b.len() && "-+( ".contains(b[i]) {
        i += 1;
    }
    if i < b.len() && "$#".contains(b[i]) {
        i += 1;
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == ',' {
        i += 1;
    }
    if i < b.len() && b[i] == '.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < b.len() && b[i] == '~' {
        i += 1;
    }
    if i < b.len() && "eEfgGrsp%bodxXcn".contains(b[i]) {
        i += 1;
    }
    i == b.len() && s.chars().any(|c| !c.is_ascii_alphabetic() || s.len() == 1)
}

fn window_size(s: &SpStr, key: &str, diags: &mut Vec<Diagnostic>) -> Option<WindowSize> {
    if s.value == "unbounded" {
        return Some(WindowSize::Unbounded);
    }
    match Interval::parse(&s.value, true) {
        Some(iv) if iv.single().is_some() && iv.single().map(|(_, u)| u != TimeUnit::Second).unwrap_or(false) => {
            Some(WindowSize::Interval(iv))
        }
        _ => {
            diags.push(
                Diagnostic::error(Code::RollingWindow, format!("rolling window `{key}: {}` is not an interval", s.value))
                    .at(s.span, "expected `N unit` or `unbounded`")
                    .with_help("write e.g. `7 day`, `3 months`, `1 year` or `unbounded` (units: minute, hour, day, week, month, quarter, year)"),
            );
            None
        }
    }
}

fn rolling_window(r: &RawRollingWindow, diags: &mut Vec<Diagnostic>) -> Option<RollingWindow> {
    let kind = r.type_.as_ref().map(|t| t.value.as_str()).unwrap_or("fixed");
    match kind {
        "fixed" => {
            let trailing = r.trailing.as_ref().and_then(|t| window_size(t, "trailing", diags));
            let leading = r.leading.as_ref().and_then(|t| window_size(t, "leading", diags));
            let offset_start = match r.offset.as_ref().map(|o| o.value.as_str()) {
                None | Some("end") => false,
                Some("start") => true,
                Some(other) => {
                    let o = r.offset.as_ref().map(|o| o.span).unwrap_or(r.span);
                    diags.push(
                        Diagnostic::error(
                            Code::RollingWindow,
                            format!("rolling window offset `{other}` is neither `start` nor `end`"),
                        )
                        .at(o, "invalid offset")
                        .with_help("use `offset: start` or `offset: end` (the default)"),
                    );
                    false
                }
            };
            if r.granularity.is_some() {
                diags.push(
                    Diagnostic::error(Code::RollingWindow, "`granularity` belongs to `type: to_date` rolling windows")
                        .at(r.granularity.as_ref().map(|g| g.span).unwrap_or(r.span), "not used by a fixed window")
                        .with_help("add `type: to_date` or remove `granularity`"),
                );
            }
            Some(RollingWindow::Fixed { trailing, leading, offset_start })
        }
        "to_date" | "year_to_date" | "quarter_to_date" | "month_to_date" => {
            let granularity = match kind {
                "year_to_date" => Some("year".to_string()),
                "quarter_to_date" => Some("quarter".to_string()),
                "month_to_date" => Some("month".to_string()),
                _ => r.granularity.as_ref().map(|g| g.value.clone()),
            };
            match granularity {
                Some(g) => Some(RollingWindow::ToDate { granularity: g }),
                None => {
                    diags.push(
                        Diagnostic::error(Code::RollingWindow, "a `to_date` rolling window needs a `granularity`")
                            .at(r.span, "no granularity")
                            .with_help("add `granularity: year`, `quarter`, `month` or `week`"),
                    );
                    None
                }
            }
        }
        other => {
            let t = r.type_.as_ref().map(|t| t.span).unwrap_or(r.span);
            diags.push(
                Diagnostic::error(Code::RollingWindow, format!("rolling window type `{other}` is not known"))
                    .at(t, "invalid type")
                    .with_help(match did_you_mean(other, ["fixed", "to_date"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "use `fixed` (trailing/leading) or `to_date` (with a granularity)".to_string(),
                    }),
            );
            None
        }
    }
}

/// Checks a custom granularity: `interval` (+ `offset` or `origin`) or `sql`.
fn granularity(name: &SpStr, g: &RawGranularity, diags: &mut Vec<Diagnostic>) -> Option<GranularityKind> {
    if super::templates::BUILTIN_GRANULARITIES.contains(&name.value.as_str()) {
        diags.push(
            Diagnostic::error(
                Code::Granularity,
                format!("custom granularity `{}` shadows the built-in one", name.value),
            )
            .at(name.span, "reserved granularity name")
            .with_help("choose another name, e.g. `fiscal_year`"),
        );
        return None;
    }
    if let Some(sql) = &g.sql {
        let _ = sql;
        return Some(GranularityKind::Sql(SqlTemplate::default()));
    }
    let Some(iv_text) = &g.interval else {
        diags.push(
            Diagnostic::error(Code::Granularity, format!("granularity `{}` needs `interval` or `sql`", name.value))
                .at(name.span, "no interval")
                .with_help("e.g. `interval: 1 year` with `offset: 3 months`"),
        );
        return None;
    };
    let Some(interval) = Interval::parse(&iv_text.value, false).filter(|iv| iv.parts.iter().all(|(n, _)| *n > 0))
    else {
        diags.push(
            Diagnostic::error(Code::Granularity, format!("granularity interval `{}` is not `N unit [N unit ...]`", iv_text.value))
                .at(iv_text.span, "invalid interval")
                .with_help("e.g. `1 year`, `2 weeks`, `1 month 15 days` (units: second, minute, hour, day, week, month, quarter, year)"),
        );
        return None;
    };
    let offset = match &g.offset {
        None => None,
        Some(o) => match Interval::parse(&o.value, true) {
            Some(iv) => Some(iv),
            None => {
                diags.push(
                    Diagnostic::error(
                        Code::Granularity,
                        format!("granularity offset `{}` is not `N unit [N unit ...]`", o.value),
                    )
                    .at(o.span, "invalid offset")
                    .with_help("e.g. `offset: 3 months` or `offset: -1 week`"),
                );
                None
            }
        },
    };
    if g.offset.is_some() && g.origin.is_some() {
        diags.push(
            Diagnostic::error(
                Code::Granularity,
                format!("granularity `{}` has both `offset` and `origin`", name.value),
            )
            .at(g.origin.as_ref().map(|o| o.span).unwrap_or(name.span), "choose one")
            .with_help("`offset` shifts natural buckets; `origin` anchors arbitrary intervals"),
        );
    }
    if let Some(origin) = &g.origin {
        if crate::vocab::time::parse_local_datetime(&origin.value).is_none() {
            diags.push(
                Diagnostic::error(Code::Granularity, format!("granularity origin `{}` is not a date", origin.value))
                    .at(origin.span, "invalid origin")
                    .with_help("write YYYY, YYYY-MM, YYYY-MM-DD or an ISO date-time such as 2024-01-01T00:00:00"),
            );
        }
    } else if !aligned(&interval) {
        diags.push(
            Diagnostic::error(Code::Granularity, format!("interval `{}` does not divide the next larger unit evenly", iv_text.value))
                .at(iv_text.span, "arbitrary interval without an origin")
                .with_help("add `origin: 2024-01-01` to anchor it, or use an interval such as 1, 2, 3, 4 or 6 months, 1 week, 1 day, 2 hours"),
        );
    }
    Some(GranularityKind::Interval { interval, offset, origin: text(&g.origin) })
}

/// Without an origin an interval must tile the next unit: any years, months dividing 12,
/// quarters dividing 4, one week, one day, hours dividing 24, minutes and seconds dividing 60.
fn aligned(iv: &Interval) -> bool {
    let Some((n, unit)) = iv.single() else {
        return false;
    };
    match unit {
        TimeUnit::Year => true,
        TimeUnit::Month => 12 % n == 0,
        TimeUnit::Quarter => 4 % n == 0,
        TimeUnit::Week | TimeUnit::Day => n == 1,
        TimeUnit::Hour => 24 % n == 0,
        TimeUnit::Minute | TimeUnit::Second => 60 % n == 0,
    }
}

/// Second pass: resolves every SQL string of cube `id` against the complete skeleton.
pub fn fill_sql(res: &Resolver, id: CubeId, raw: &RawCube, diags: &mut Vec<Diagnostic>) -> FilledSql {
    let cube = res.model.cube(id);
    let mut out = FilledSql::default();
    out.source = match (&raw.sql, &raw.sql_table) {
        (_, Some(t)) => Some(CubeSource::Table(t.value.trim().to_string())),
        (Some(s), None) => Some(match select_all_table(&s.value) {
            Some(t) => CubeSource::SelectAll(t),
            None => CubeSource::Sql(res.sql(id, s, SqlRole::Other, diags)),
        }),
        (None, None) => None,
    };
    out.refresh_key = raw.refresh_key.as_ref().and_then(|rk| super::refresh::read(res, id, rk, false, diags));
    for m in &raw.measures {
        let Some(name) = &m.name else { continue };
        let Some(MemberRef::Measure(i)) = cube.member(&name.value) else {
            continue;
        };
        if cube.measures[i].span != name.span {
            continue;
        }
        let sql = m.sql.as_ref().map(|s| res.sql(id, s, SqlRole::Member, diags));
        let filters = m.filters.iter().map(|f| res.sql(id, f, SqlRole::Other, diags)).collect();
        out.measures.push((i, sql, filters));
    }
    for d in &raw.dimensions {
        let Some(name) = &d.name else { continue };
        let Some(MemberRef::Dimension(i)) = cube.member(&name.value) else {
            continue;
        };
        if cube.dimensions[i].span != name.span {
            continue;
        }
        let sql = d.sql.as_ref().map(|s| res.sql(id, s, SqlRole::Member, diags));
        let case = d.case.as_ref().map(|c| Case {
            when: c
                .when
                .iter()
                .filter_map(|w| {
                    let cond = res.sql(id, w.sql.as_ref()?, SqlRole::Other, diags);
                    let label = label(res, id, w.label.as_ref(), diags).unwrap_or(CaseLabel::Text(String::new()));
                    Some((cond, label))
                })
                .collect(),
            else_label: label(res, id, c.else_label.as_ref(), diags),
        });
        let geo = match (&d.latitude, &d.longitude) {
            (Some(lat), Some(lng)) => {
                Some((res.sql(id, lat, SqlRole::Member, diags), res.sql(id, lng, SqlRole::Member, diags)))
            }
            _ => None,
        };
        let grans: Vec<(String, SqlTemplate)> = d
            .granularities
            .iter()
            .filter_map(|g| Some((g.name.as_ref()?.value.clone(), res.sql(id, g.sql.as_ref()?, SqlRole::Other, diags))))
            .collect();
        out.dimensions.push((i, sql, case, geo, grans));
    }
    for s in &raw.segments {
        let (Some(name), Some(sql)) = (&s.name, &s.sql) else {
            continue;
        };
        let Some(MemberRef::Segment(i)) = cube.member(&name.value) else {
            continue;
        };
        if cube.segments[i].span != name.span {
            continue;
        }
        out.segments.push((i, res.sql(id, sql, SqlRole::Other, diags)));
    }
    for j in &raw.joins {
        let (Some(target), Some(rel), Some(sql)) = (&j.name, &j.relationship, &j.sql) else {
            continue;
        };
        let relationship = match Relationship::parse(&rel.value) {
            Some(r) => r,
            None => {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidRelationship,
                        format!("join relationship `{}` is not known", rel.value),
                    )
                    .at(rel.span, "invalid relationship")
                    .with_help(
                        match did_you_mean(&rel.value, Relationship::NAMES.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "use many_to_one, one_to_many or one_to_one (many-to-many needs a bridge cube)"
                                .to_string(),
                        },
                    ),
                );
                continue;
            }
        };
        let Some(tid) = res.model.cube_id(&target.value).filter(|t| !res.model.cube(*t).is_view()) else {
            diags.push(
                Diagnostic::error(
                    Code::UnknownJoinTarget,
                    format!("cube `{}` joins unknown cube `{}`", cube.name, target.value),
                )
                .at(target.span, "no such cube")
                .maybe_help(
                    did_you_mean(
                        &target.value,
                        res.model.cubes.iter().filter(|c| !c.is_view()).map(|c| c.name.as_str()),
                    )
                    .map(|s| format!("did you mean `{s}`?")),
                ),
            );
            continue;
        };
        let sql = res.sql(id, sql, SqlRole::Other, diags);
        out.joins.push(Join { target: tid, relationship, sql, span: target.span });
    }
    out
}

fn label(res: &Resolver, id: CubeId, l: Option<&RawLabel>, diags: &mut Vec<Diagnostic>) -> Option<CaseLabel> {
    match l? {
        RawLabel::Text(t) => Some(CaseLabel::Text(t.value.clone())),
        RawLabel::Sql(s) => Some(CaseLabel::Sql(res.sql(id, s, SqlRole::Other, diags))),
    }
}

/// `SELECT * FROM some.table` (nothing else) is rendered as just the table, as Cube does.
fn select_all_table(sql: &str) -> Option<String> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    if words.len() == 4
        && words[0].eq_ignore_ascii_case("select")
        && words[1] == "*"
        && words[2].eq_ignore_ascii_case("from")
        && words[3].chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '"' || c == '`')
    {
        Some(words[3].to_string())
    } else {
        None
    }
}

/// The SQL of one cube, resolved in the second pass and then moved into the model.
#[derive(Default)]
pub struct FilledSql {
    pub source: Option<CubeSource>,
    pub refresh_key: Option<RefreshKey>,
    pub measures: Vec<(usize, Option<SqlTemplate>, Vec<SqlTemplate>)>,
    #[allow(clippy::type_complexity)]
    pub dimensions:
        Vec<(usize, Option<SqlTemplate>, Option<Case>, Option<(SqlTemplate, SqlTemplate)>, Vec<(String, SqlTemplate)>)>,
    pub segments: Vec<(usize, SqlTemplate)>,
    pub joins: Vec<Join>,
}

impl FilledSql {
    pub fn apply(self, cube: &mut Cube) {
        cube.source = self.source;
        cube.refresh_key = self.refresh_key;
        for (i, sql, filters) in self.measures {
            cube.measures[i].sql = sql;
            cube.measures[i].filters = filters;
        }
        for (i, sql, case, geo, grans) in self.dimensions {
            let d = &mut cube.dimensions[i];
            d.sql = sql;
            d.case = case;
            d.geo = geo;
            for (name, t) in grans {
                if let Some(g) = d.granularities.iter_mut().find(|g| g.name == name) {
                    g.kind = GranularityKind::Sql(t);
                }
            }
        }
        for (i, sql) in self.segments {
            cube.segments[i].sql = sql;
        }
        cube.joins = self.joins;
    }
}
