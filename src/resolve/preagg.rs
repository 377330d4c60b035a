//! Reads every cube's `pre_aggregations` into [`PreAggregation`]s once all cubes are resolved
//! (a rollup may store members of the cubes its cube joins, and `rollup_join` / `rollup_lambda`
//! name other cubes' rollups). Every problem is located: unknown types, members that do not
//! exist or are of the wrong kind, a time dimension that is not of type time or without a
//! granularity, granularities the dimension does not have, partitions without a time
//! dimension, keys that do not belong to the type, refresh keys and indexes.

use super::model::*;
use super::templates::{Resolver, SqlRole, BUILTIN_GRANULARITIES};
use crate::diag::{Code, Diagnostic, Span};
use crate::load::raw::{RawCube, RawPreAggregation, SpStr};
use crate::util::did_you_mean;
use crate::vocab::TimeUnit;

fn error(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::PreAggregation, message)
}

const TYPES: &[(&str, PreAggKind)] = &[
    ("rollup", PreAggKind::Rollup),
    ("original_sql", PreAggKind::OriginalSql),
    ("rollup_join", PreAggKind::RollupJoin),
    ("rollup_lambda", PreAggKind::RollupLambda),
    ("auto_rollup", PreAggKind::AutoRollup),
    ("originalSql", PreAggKind::OriginalSql),
    ("rollupJoin", PreAggKind::RollupJoin),
    ("rollupLambda", PreAggKind::RollupLambda),
    ("autoRollup", PreAggKind::AutoRollup),
];

/// The pre-aggregations of every cube in `raws`, resolved.
pub fn read_all(
    res: &Resolver,
    raws: &[(CubeId, &RawCube)],
    diags: &mut Vec<Diagnostic>,
) -> Vec<(CubeId, Vec<PreAggregation>)> {
    let model = res.model;
    let mut read: Vec<(CubeId, Vec<(PreAggregation, &RawPreAggregation)>)> = Vec::new();
    for &(id, raw) in raws {
        let mut seen: Vec<&str> = Vec::new();
        let mut list = Vec::new();
        for p in &raw.pre_aggregations {
            // Names were checked with the cube's members; a duplicate is reported there.
            let Some(name) = p.name.as_ref().filter(|n| !seen.contains(&n.value.as_str())) else { continue };
            seen.push(&name.value);
            if let Some(def) = read_one(res, id, name, p, diags) {
                list.push((def, p));
            }
        }
        read.push((id, list));
    }
    // `rollups` name pre-aggregations of any cube: resolved once all are known.
    let names: Vec<(CubeId, Vec<String>)> =
        read.iter().map(|(id, list)| (*id, list.iter().map(|(d, _)| d.name.clone()).collect())).collect();
    for (id, list) in &mut read {
        for (def, raw) in list.iter_mut() {
            def.rollups = raw.rollups.iter().filter_map(|r| rollup_ref(model, &names, *id, r, diags)).collect();
            let needs_rollups = matches!(def.kind, PreAggKind::RollupJoin | PreAggKind::RollupLambda);
            if needs_rollups && raw.rollups.is_empty() {
                diags.push(
                    error(format!("{} `{}` needs `rollups`", def.kind.name(), def.name))
                        .at(def.span, "no rollups listed")
                        .with_help("list the rollups it reads, e.g. `rollups: [orders.by_day, users.by_city]`"),
                );
            }
        }
    }
    read.into_iter().map(|(id, list)| (id, list.into_iter().map(|(d, _)| d).collect())).collect()
}

fn read_one(
    res: &Resolver,
    cube: CubeId,
    name: &SpStr,
    p: &RawPreAggregation,
    diags: &mut Vec<Diagnostic>,
) -> Option<PreAggregation> {
    let before = diags.len();
    let kind = match &p.type_ {
        None => PreAggKind::Rollup,
        Some(t) => match TYPES.iter().find(|(n, _)| *n == t.value) {
            Some((_, k)) => *k,
            None => {
                diags.push(
                    error(format!("pre-aggregation type `{}` is not known", t.value))
                        .at(t.span, "invalid type")
                        .with_help(match did_you_mean(&t.value, TYPES.iter().map(|(n, _)| *n)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "use rollup, original_sql, rollup_join or rollup_lambda".to_string(),
                        }),
                );
                // Read on as a rollup: every other problem is reported in the same run.
                PreAggKind::Rollup
            }
        },
    };
    if kind == PreAggKind::AutoRollup {
        diags.push(
            Diagnostic::warning(
                Code::PreAggregation,
                format!("`{}` is an auto_rollup, which only Cube Cloud builds", name.value),
            )
            .at(p.type_.as_ref().map(|t| t.span).unwrap_or(p.span), "never built by cubec")
            .with_help("define the rollups you need with `type: rollup`"),
        );
    }
    let model = res.model;
    let mut member = |list: &[SpStr], what: &str, want: fn(MemberRef) -> Option<usize>| -> Vec<(CubeId, usize)> {
        list.iter().filter_map(|m| member_ref(model, cube, m, what, want, diags)).collect()
    };
    let measures = member(&p.measures, "measure", |r| if let MemberRef::Measure(i) = r { Some(i) } else { None });
    let dimensions =
        member(&p.dimensions, "dimension", |r| if let MemberRef::Dimension(i) = r { Some(i) } else { None });
    let segments = member(&p.segments, "segment", |r| if let MemberRef::Segment(i) = r { Some(i) } else { None });
    let time_dimensions = time_dimensions(model, cube, p, kind, diags);
    let partition_granularity = p.partition_granularity.as_ref().and_then(|g| {
        match TimeUnit::parse(&g.value).filter(|u| *u != TimeUnit::Second && *u != TimeUnit::Minute) {
            Some(u) if !time_dimensions.is_empty() => Some(u),
            Some(_) => {
                diags.push(
                    error("`partition_granularity` needs a time dimension to partition by")
                        .at(g.span, "nothing to partition")
                        .with_help("add `time_dimension` and `granularity`"),
                );
                None
            }
            None => {
                diags.push(
                    error(format!(
                        "partition_granularity `{}` is not one of hour, day, week, month, quarter, year",
                        g.value
                    ))
                    .at(g.span, "invalid partition granularity"),
                );
                None
            }
        }
    });
    let refresh_key = p.refresh_key.as_ref().and_then(|rk| super::refresh::read(res, cube, rk, true, diags));
    let range =
        |s: &Option<SpStr>, diags: &mut Vec<Diagnostic>| s.as_ref().map(|s| res.sql(cube, s, SqlRole::Other, diags));
    let build_range_start = range(&p.build_range_start, diags);
    let build_range_end = range(&p.build_range_end, diags);
    let flag = |b: &Option<crate::load::raw::Sp<bool>>, default: bool| b.as_ref().map(|b| b.value).unwrap_or(default);
    let indexes = p
        .indexes
        .iter()
        .filter_map(|i| {
            let name = i.name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
            if i.columns.is_empty() {
                diags.push(
                    error(format!("index `{name}` has no `columns`"))
                        .at(i.span, "no columns")
                        .with_help("list the stored members it indexes, e.g. `columns: [status]`"),
                );
                return None;
            }
            // A member (`status`, `users.city`), or a stored column written raw (`{'x__y_day'}`).
            let stored = |c: &str| {
                c.contains('{')
                    || model.member(c).is_some()
                    || model.cube(cube).member(c.trim_start_matches("CUBE.")).is_some()
            };
            for c in i.columns.iter().filter(|c| !stored(&c.value)) {
                diags.push(
                    error(format!("index `{name}` names `{}`, which is not a member", c.value))
                        .at(c.span, "unknown column")
                        .with_help("index columns are the rollup's members: its dimensions and time dimension"),
                );
            }
            let aggregate = match i.type_.as_ref().map(|t| t.value.as_str()) {
                None | Some("regular") => false,
                Some("aggregate") => true,
                Some(other) => {
                    diags.push(
                        error(format!("index type `{other}` is neither `regular` nor `aggregate`"))
                            .at(i.type_.as_ref().map(|t| t.span).unwrap_or(i.span), "invalid index type"),
                    );
                    false
                }
            };
            Some(PreAggIndex { name, columns: i.columns.iter().map(|c| c.value.clone()).collect(), aggregate })
        })
        .collect();
    wrong_keys_for(kind, name, p, diags);
    if matches!(kind, PreAggKind::Rollup) && measures.is_empty() && dimensions.is_empty() && time_dimensions.is_empty()
    {
        diags.push(
            error(format!("rollup `{}` stores nothing", name.value))
                .at(p.span, "no measures, dimensions or time dimension")
                .with_help("list the members the rollup keeps, e.g. `measures: [count]` and `dimensions: [status]`"),
        );
    }
    if diags[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(PreAggregation {
        name: name.value.clone(),
        span: p.span,
        kind,
        measures,
        dimensions,
        segments,
        time_dimensions,
        partition_granularity,
        refresh_key,
        build_range_start,
        build_range_end,
        scheduled_refresh: flag(&p.scheduled_refresh, true),
        // Cube's default (CUBEJS_EXTERNAL_DEFAULT): rollups in its own store, original SQL in
        // the source.
        external: flag(&p.external, kind != PreAggKind::OriginalSql),
        indexes,
        use_original_sql_pre_aggregations: flag(&p.use_original_sql_pre_aggregations, false),
        union_with_source_data: flag(&p.union_with_source_data, false),
        allow_non_strict_date_range_match: flag(&p.allow_non_strict_date_range_match, true),
        sql_alias: p.sql_alias.as_ref().map(|a| a.value.clone()),
        rollups: Vec::new(),
    })
}

/// A member named in a pre-aggregation: `member` (the owning cube's), `CUBE.member`, or
/// `cube.member` (a cube it joins).
fn member_ref(
    model: &Model,
    owner: CubeId,
    written: &SpStr,
    what: &str,
    want: fn(MemberRef) -> Option<usize>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(CubeId, usize)> {
    let (cube, name) = match written.value.split_once('.') {
        Some(("CUBE", m)) => (Some(owner), m),
        Some((c, m)) => (model.cube_id(c), m),
        None => (Some(owner), written.value.as_str()),
    };
    let Some(cube) = cube else {
        let c = written.value.split('.').next().unwrap_or_default();
        diags.push(
            Diagnostic::error(
                Code::UnknownMember,
                format!("pre-aggregation {what} `{}` names an unknown cube", written.value),
            )
            .at(written.span, "no such cube")
            .maybe_help(did_you_mean(c, model.cube_names()).map(|s| format!("did you mean `{s}`?"))),
        );
        return None;
    };
    let target = model.cube(cube);
    match target.member(name) {
        Some(r) => match want(r) {
            Some(i) => Some((cube, i)),
            None => {
                diags.push(
                    Diagnostic::error(
                        Code::UnknownMember,
                        format!("pre-aggregation {what} `{}` is not a {what}", written.value),
                    )
                    .at(written.span, "wrong member kind")
                    .with_help(format!("list it under the key for its kind, not under `{what}s`")),
                );
                None
            }
        },
        None => {
            diags.push(
                Diagnostic::error(
                    Code::UnknownMember,
                    format!("pre-aggregation {what} `{}` is not a member of `{}`", written.value, target.name),
                )
                .at(written.span, "unknown member")
                .maybe_help(
                    did_you_mean(name, target.members.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`?")),
                ),
            );
            None
        }
    }
}

/// `time_dimension` + `granularity`, or `time_dimensions: [{dimension, granularity}]`.
fn time_dimensions(
    model: &Model,
    cube: CubeId,
    p: &RawPreAggregation,
    kind: PreAggKind,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(CubeId, usize, String)> {
    let is_dim = |r: MemberRef| if let MemberRef::Dimension(i) = r { Some(i) } else { None };
    let mut pairs: Vec<(&SpStr, Option<&SpStr>)> = Vec::new();
    if let Some(td) = &p.time_dimension {
        pairs.push((td, p.granularity.as_ref()));
    } else if let Some(g) = &p.granularity {
        if p.time_dimensions.is_empty() {
            diags.push(
                error("`granularity` without `time_dimension`")
                    .at(g.span, "granularity of nothing")
                    .with_help("add `time_dimension`, the time dimension the rollup buckets"),
            );
        }
    }
    if p.time_dimension.is_some() && !p.time_dimensions.is_empty() {
        diags.push(
            error("both `time_dimension` and `time_dimensions`")
                .at(p.time_dimension.as_ref().map(|t| t.span).unwrap_or(p.span), "one of the two")
                .with_help("use `time_dimensions` alone for several time dimensions"),
        );
    }
    pairs.extend(p.time_dimensions.iter().map(|(d, g)| (d, g.as_ref())));
    let mut out = Vec::new();
    for (td, gran) in pairs {
        let Some((c, d)) = member_ref(model, cube, td, "time dimension", is_dim, diags) else { continue };
        let dim = &model.cube(c).dimensions[d];
        if dim.type_ != DimensionType::Time {
            diags.push(
                error(format!(
                    "pre-aggregation time dimension `{}` is of type {}, not time",
                    td.value,
                    dim.type_.name()
                ))
                .at(td.span, "not a time dimension"),
            );
            continue;
        }
        let Some(g) = gran else {
            // original_sql partitions by its time dimension without a granularity.
            if kind == PreAggKind::Rollup {
                diags.push(
                    error(format!("time dimension `{}` has no `granularity`", td.value))
                        .at(td.span, "at what grain?")
                        .with_help("add `granularity: day` (or another grain the queries need)"),
                );
            }
            out.push((c, d, "day".to_string()));
            continue;
        };
        if !BUILTIN_GRANULARITIES.contains(&g.value.as_str()) && dim.granularity(&g.value).is_none() {
            let known = BUILTIN_GRANULARITIES.iter().copied().chain(dim.granularities.iter().map(|x| x.name.as_str()));
            diags.push(
                error(format!("pre-aggregation granularity `{}` is not known", g.value))
                    .at(g.span, "invalid granularity")
                    .maybe_help(did_you_mean(&g.value, known).map(|s| format!("did you mean `{s}`?"))),
            );
            continue;
        }
        out.push((c, d, g.value.clone()));
    }
    out
}

/// Keys Cube refuses for a type: a rollup_lambda takes no refresh settings of its own, a
/// rollup_join is never refreshed on a schedule of its own.
fn wrong_keys_for(kind: PreAggKind, name: &SpStr, p: &RawPreAggregation, diags: &mut Vec<Diagnostic>) {
    let mut refuse = |span: Option<Span>, key: &str, why: &str| {
        if let Some(span) = span {
            diags.push(
                error(format!("`{key}` does not apply to {} `{}`: {why}", kind.name(), name.value))
                    .at(span, "remove this"),
            );
        }
    };
    match kind {
        PreAggKind::RollupLambda => {
            refuse(p.refresh_key.as_ref().map(|r| r.span), "refresh_key", "it reads the rollups it lists");
            refuse(
                p.partition_granularity.as_ref().map(|g| g.span),
                "partition_granularity",
                "it reads the rollups it lists",
            );
            refuse(p.external.as_ref().map(|e| e.span), "external", "it reads the rollups it lists");
        }
        PreAggKind::RollupJoin => {
            if p.scheduled_refresh.as_ref().is_some_and(|s| s.value) {
                refuse(
                    p.scheduled_refresh.as_ref().map(|s| s.span),
                    "scheduled_refresh: true",
                    "a rollup_join is built from its rollups",
                );
            }
        }
        PreAggKind::OriginalSql => {
            for (m, key) in [(&p.measures, "measures"), (&p.dimensions, "dimensions"), (&p.segments, "segments")] {
                refuse(m.first().map(|x| x.span), key, "it stores the cube's SQL as it is");
            }
        }
        _ => {}
    }
    if !matches!(kind, PreAggKind::RollupJoin | PreAggKind::RollupLambda) {
        refuse(p.rollups.first().map(|r| r.span), "rollups", "only rollup_join and rollup_lambda read other rollups");
    }
    if kind != PreAggKind::RollupLambda {
        refuse(
            p.union_with_source_data.as_ref().map(|u| u.span),
            "union_with_source_data",
            "it applies to rollup_lambda",
        );
    }
}

/// A pre-aggregation named in `rollups`: `name` (the owning cube's) or `cube.name`.
fn rollup_ref(
    model: &Model,
    names: &[(CubeId, Vec<String>)],
    owner: CubeId,
    written: &SpStr,
    diags: &mut Vec<Diagnostic>,
) -> Option<(CubeId, usize)> {
    let (cube, name) = match written.value.split_once('.') {
        Some(("CUBE", n)) => (Some(owner), n),
        Some((c, n)) => (model.cube_id(c), n),
        None => (Some(owner), written.value.as_str()),
    };
    let found = cube.and_then(|c| {
        let list = &names.iter().find(|(id, _)| *id == c)?.1;
        list.iter().position(|n| n == name).map(|i| (c, i))
    });
    if found.is_none() {
        diags.push(
            error(format!("rollup `{}` is not a pre-aggregation of this model", written.value))
                .at(written.span, "unknown rollup")
                .with_help("name it `cube.pre_aggregation`"),
        );
    }
    found
}
