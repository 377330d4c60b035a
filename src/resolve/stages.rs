//! Multi-stage measure keys: `group_by`, `reduce_by`, `add_group_by`, `time_shift` and `order_by`
//! checked against the complete model and typed into [`Stage`]. Every problem is located (`R034`).

use super::model::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::load::raw::{RawCube, RawMeasure, RawStage, SpStr};
use crate::util::did_you_mean;
use crate::vocab::TimeUnit;

fn err(message: impl Into<String>, span: Span, label: &str) -> Diagnostic {
    Diagnostic::error(Code::MultiStage, message).at(span, label)
}

/// Types the stage keys of every measure of the cubes in `raws`, storing them on the model.
pub fn resolve(model: &mut Model, raws: &[(CubeId, &RawCube)], diags: &mut Vec<Diagnostic>) {
    for &(id, raw) in raws {
        for rm in &raw.measures {
            let Some(name) = &rm.name else { continue };
            let Some(MemberRef::Measure(i)) = model.cube(id).member(&name.value) else { continue };
            let stage = measure_stage(model, id, i, rm, name, diags);
            model.cubes[id].measures[i].stage = stage;
        }
    }
}

fn measure_stage(
    model: &Model,
    cube: CubeId,
    i: usize,
    rm: &RawMeasure,
    name: &SpStr,
    diags: &mut Vec<Diagnostic>,
) -> Option<Stage> {
    let measure = &model.cube(cube).measures[i];
    let s = &rm.stage;
    if !measure.multi_stage {
        let keys: [(&str, Option<Span>); 5] = [
            ("group_by", s.group_by.as_ref().map(|g| g.span)),
            ("reduce_by", s.reduce_by.as_ref().map(|g| g.span)),
            ("add_group_by", s.add_group_by.as_ref().map(|g| g.span)),
            ("time_shift", s.time_shift.as_ref().map(|g| g.span)),
            ("order_by", s.order_by.first().map(|o| o.span)),
        ];
        for (key, span) in keys {
            if let Some(span) = span {
                diags.push(
                    err(format!("measure `{}` has `{key}` but is not a multi-stage measure", name.value), span, "here")
                        .with_help("add `multi_stage: true` to the measure"),
                );
            }
        }
        if matches!(measure.type_, MeasureType::NumberAgg | MeasureType::Rank) {
            diags.push(
                err(
                    format!(
                        "measure `{}` of type `{}` must be multi-stage",
                        name.value,
                        rm.type_.as_ref().map(|t| t.value.as_str()).unwrap_or_default()
                    ),
                    name.span,
                    "no `multi_stage: true`",
                )
                .with_help("add `multi_stage: true`: this type aggregates the result of another stage"),
            );
        }
        return None;
    }
    let mut stage = Stage {
        group_by: s.group_by.as_ref().map(|g| dimensions(model, cube, &g.value, "group_by", diags)),
        reduce_by: s
            .reduce_by
            .as_ref()
            .map(|g| dimensions(model, cube, &g.value, "reduce_by", diags))
            .unwrap_or_default(),
        add_group_by: s
            .add_group_by
            .as_ref()
            .map(|g| dimensions(model, cube, &g.value, "add_group_by", diags))
            .unwrap_or_default(),
        ..Stage::default()
    };
    time_shifts(model, cube, s, &mut stage, diags);
    for o in &s.order_by {
        let Some(sql) = &o.sql else {
            diags
                .push(err("an `order_by` item needs `sql`", o.span, "no `sql`").with_help("e.g. `sql: \"{revenue}\"`"));
            continue;
        };
        let desc = match o.dir.as_ref().map(|d| d.value.to_ascii_lowercase()) {
            None => false,
            Some(d) if d == "asc" => false,
            Some(d) if d == "desc" => true,
            Some(_) => {
                let span = o.dir.as_ref().map(|d| d.span).unwrap_or(o.span);
                diags.push(err("`dir` must be `asc` or `desc`", span, "unknown direction"));
                false
            }
        };
        match lookup(model, cube, sql.value.trim().trim_start_matches('{').trim_end_matches('}')) {
            Some((c, MemberRef::Measure(m))) => stage.order_by.push((c, m, desc)),
            _ => diags.push(
                err(format!("`order_by` names `{}`, which is not a measure", sql.value), sql.span, "not a measure")
                    .with_help("order a rank by a measure reference, e.g. `sql: \"{revenue}\"`"),
            ),
        }
    }
    if measure.type_ == MeasureType::Rank && stage.order_by.is_empty() {
        diags.push(
            err(format!("rank measure `{}` has no `order_by`", name.value), name.span, "rank by what?")
                .with_help("add `order_by: [{sql: \"{revenue}\", dir: desc}]`"),
        );
    }
    Some(stage)
}

/// `dim`, `CUBE.dim`, `cube.dim` (a granularity suffix is allowed and ignored).
fn lookup(model: &Model, cube: CubeId, name: &str) -> Option<(CubeId, MemberRef)> {
    let parts: Vec<&str> = name.split('.').collect();
    let (c, m) = match parts.as_slice() {
        [m] => (cube, *m),
        ["CUBE", m, ..] => (cube, *m),
        [c, m, ..] => (model.cube_id(c)?, *m),
        [] => return None,
    };
    model.cube(c).member(m).map(|r| (c, r))
}

fn dimensions(
    model: &Model,
    cube: CubeId,
    names: &[SpStr],
    key: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(CubeId, usize)> {
    let mut out = Vec::new();
    for n in names {
        match lookup(model, cube, &n.value) {
            Some((c, MemberRef::Dimension(d))) => out.push((c, d)),
            Some(_) => diags.push(err(
                format!("`{key}` names `{}`, which is not a dimension", n.value),
                n.span,
                "not a dimension",
            )),
            None => diags.push(
                err(
                    format!("`{key}` names `{}`, which is not a dimension of the model", n.value),
                    n.span,
                    "unknown dimension",
                )
                .maybe_help(
                    did_you_mean(&n.value, model.cube(cube).members.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`?")),
                ),
            ),
        }
    }
    out
}

fn time_shifts(model: &Model, cube: CubeId, s: &RawStage, stage: &mut Stage, diags: &mut Vec<Diagnostic>) {
    let Some(list) = &s.time_shift else { return };
    let several = list.value.len() > 1;
    for t in &list.value {
        if let Some(n) = &t.name {
            if t.interval.is_some() {
                diags.push(err("a time shift has either `name` or `interval`, not both", n.span, "choose one"));
            }
            stage.time_shifts.push(TimeShift {
                dimension: None,
                interval: Interval::default(),
                named: Some(n.value.clone()),
            });
            continue;
        }
        let Some(iv) = &t.interval else {
            diags.push(
                err("a time shift needs `interval`", t.span, "no `interval`").with_help("e.g. `interval: 1 year`"),
            );
            continue;
        };
        let interval = match Interval::parse(&iv.value, true) {
            Some(i) if i.parts.len() == 1 && i.parts[0].1 != TimeUnit::Second => i,
            _ => {
                diags.push(
                    err(format!("time shift interval `{}` is not `<n> <unit>`", iv.value), iv.span, "bad interval")
                        .with_help(
                            "one count and one unit: minute, hour, day, week, month, quarter or year (`1 year`)",
                        ),
                );
                continue;
            }
        };
        let sign = match t.type_.as_ref().map(|x| x.value.as_str()) {
            Some("prior") => 1,
            Some("next") => -1,
            Some(other) => {
                let span = t.type_.as_ref().map(|x| x.span).unwrap_or(t.span);
                diags.push(err(format!("time shift type `{other}` is not `prior` or `next`"), span, "unknown type"));
                continue;
            }
            None => {
                diags.push(
                    err("a time shift with `interval` needs `type`", t.span, "no `type`")
                        .with_help("`type: prior` (last period's value) or `type: next`"),
                );
                continue;
            }
        };
        let dimension = match &t.time_dimension {
            None if several => {
                diags.push(
                    err("each of several time shifts needs `time_dimension`", t.span, "which time dimension?")
                        .with_help("name the time dimension this shift moves, e.g. `time_dimension: created_at`"),
                );
                continue;
            }
            None => None,
            Some(td) => match lookup(model, cube, &td.value) {
                Some((c, MemberRef::Dimension(d))) if model.cube(c).dimensions[d].type_ == DimensionType::Time => {
                    Some((c, d))
                }
                _ => {
                    diags.push(err(
                        format!("time shift `time_dimension` `{}` is not a time dimension", td.value),
                        td.span,
                        "not a time dimension",
                    ));
                    continue;
                }
            },
        };
        let parts = interval.parts.iter().map(|(n, u)| (n * sign, *u)).collect();
        stage.time_shifts.push(TimeShift { dimension, interval: Interval { parts }, named: None });
    }
}
