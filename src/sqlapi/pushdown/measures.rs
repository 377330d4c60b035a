//! A measure as one aggregate over a cube table's row source: the row source carries each
//! aggregated measure's per-row SQL as a column, and the statement aggregates that column the
//! way the measure's type does. `number` (and string, time, boolean) measures are their own SQL
//! with each referenced measure's aggregate in place, as the compiler inlines them.

use super::super::error::{SqlError, SqlResult};
use crate::resolve::{CubeId, MeasureType, MemberRef, Model, Ref, SqlPart};
use crate::sql::Dialect;

/// How deep `number` measures may reference each other (cycles are model errors already).
const MAX_DEPTH: usize = 32;

/// The measure a view member stands for (itself for a cube's member).
pub(super) fn underlying(model: &Model, cube: CubeId, measure: usize) -> (CubeId, usize) {
    match &model.cube(cube).measures[measure].proxy {
        Some(p) => match p.member {
            MemberRef::Measure(m) => underlying(model, p.cube, m),
            _ => (cube, measure),
        },
        None => (cube, measure),
    }
}

/// The aggregate SQL of measure `(cube, m)`; `column` gives the row source's column (as token
/// text) carrying a leaf measure's per-row value, registering it.
pub(super) fn aggregate(
    model: &Model,
    dialect: &Dialect,
    (cube, m): (CubeId, usize),
    column: &mut dyn FnMut(CubeId, usize) -> SqlResult<String>,
    depth: usize,
) -> SqlResult<String> {
    let (cube, m) = underlying(model, cube, m);
    let measure = &model.cube(cube).measures[m];
    let name = format!("{}.{}", model.cube(cube).name, measure.name);
    if depth > MAX_DEPTH {
        return Err(SqlError::unsupported(format!("measure `{name}` references measures too deeply")));
    }
    if measure.rolling_window.is_some() || measure.multi_stage || measure.stage.is_some() {
        return Err(SqlError::unsupported(format!(
            "measure `{name}` is computed over other rows (a rolling window or a multi-stage measure), so it cannot \
             be aggregated inside an expression; select it with its dimensions in a subquery and compute over that"
        )));
    }
    let over = |f: &str, column: &mut dyn FnMut(CubeId, usize) -> SqlResult<String>| -> SqlResult<String> {
        Ok(format!("{f}({})", column(cube, m)?))
    };
    match measure.type_ {
        MeasureType::Count => over("count", column),
        MeasureType::CountDistinct => Ok(format!("count(DISTINCT {})", column(cube, m)?)),
        MeasureType::CountDistinctApprox => {
            let expr = column(cube, m)?;
            dialect
                .render("count_distinct_approx", minijinja::context! { expr => expr })
                .map_err(|d| SqlError::internal(d.message))
        }
        MeasureType::Sum => over("sum", column),
        MeasureType::Avg => over("avg", column),
        MeasureType::Min => over("min", column),
        MeasureType::Max => over("max", column),
        MeasureType::Number | MeasureType::String | MeasureType::Time | MeasureType::Boolean => {
            let template = measure.sql.as_ref().ok_or_else(|| {
                SqlError::internal(format!("measure `{name}` of type {} has no SQL", measure.type_.agg_name()))
            })?;
            let mut out = String::from("(");
            for part in &template.parts {
                match part {
                    SqlPart::Text(t) => out.push_str(t),
                    SqlPart::Ref(Ref::Member { cube: c, member: MemberRef::Measure(i), .. }, _) => {
                        out.push('(');
                        out.push_str(&aggregate(model, dialect, (*c, *i), column, depth + 1)?);
                        out.push(')');
                    }
                    SqlPart::Ref(..) => {
                        return Err(SqlError::unsupported(format!(
                            "measure `{name}` refers to something other than measures in its SQL, so it is not \
                             recomputed inside an expression; select it in a subquery and compute over that"
                        )))
                    }
                }
            }
            out.push(')');
            Ok(out)
        }
        MeasureType::NumberAgg | MeasureType::Rank => Err(SqlError::unsupported(format!(
            "measure `{name}` of type {} is not recomputed inside an expression; select it in a subquery",
            measure.type_.agg_name()
        ))),
    }
}
