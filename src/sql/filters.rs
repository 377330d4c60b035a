//! Filters as SQL: every REST operator on a member's raw SQL (WHERE) or aggregate (HAVING),
//! values always as typed parameters, `%` and `_` escaped for the LIKE family.

use super::render::{Renderer, R};
use crate::diag::{Code, Diagnostic};
use crate::query::{Filter, FilterNode};
use crate::resolve::*;
use crate::vocab::Operator;
use minijinja::context;

impl Renderer<'_> {
    /// `(column >= from AND column <= to)` with UTC instants as timestamp parameters: the one
    /// shape of a time dimension's date range and of `inDateRange`.
    pub(super) fn between_instants(
        &mut self,
        col: &str,
        from: chrono::NaiveDateTime,
        to: chrono::NaiveDateTime,
    ) -> R<String> {
        let a = self.timestamp_param(from)?;
        let b = self.timestamp_param(to)?;
        let ge = self.tpl("compare", context! { column => col, op => ">=", value => a })?;
        let le = self.tpl("compare", context! { column => col, op => "<=", value => b })?;
        Ok(format!("({ge} AND {le})"))
    }

    /// A value parameter typed for the member it is compared with.
    pub(super) fn value_param(&mut self, f: &Filter, value: &str) -> R<String> {
        let p = self.param(value.to_string());
        let template = match f.member.source_member {
            MemberRef::Measure(_) => "number_param",
            MemberRef::Dimension(d) => match self.model.cube(f.member.source_cube).dimensions[d].type_ {
                DimensionType::Number => "number_param",
                DimensionType::Boolean => "boolean_param",
                _ => "string_param",
            },
            MemberRef::Segment(_) => "string_param",
        };
        self.tpl(template, context! { param => p })
    }

    /// The column a filter compares: a dimension's raw SQL or a measure's aggregate.
    pub(super) fn filter_column(&mut self, f: &Filter, depth: usize) -> R<String> {
        match f.member.source_member {
            MemberRef::Dimension(d) => self.dimension(f.member.source_cube, d, depth),
            MemberRef::Measure(m) => {
                if let Some((_, col)) = self.outer_measures.iter().find(|(k, _)| *k == (f.member.source_cube, m)) {
                    return Ok(col.clone());
                }
                self.measure(f.member.source_cube, m, self.query.ungrouped, depth)
            }
            MemberRef::Segment(s) => {
                let model = self.model;
                self.template(&model.cube(f.member.source_cube).segments[s].sql, depth)
            }
        }
    }

    pub fn filter_node(&mut self, node: &FilterNode) -> R<String> {
        match node {
            FilterNode::Leaf(f) => {
                if f.operator == Operator::MeasureFilter {
                    return self.measure_filter(f);
                }
                let column = self.filter_column(f, 0)?;
                self.filter_on(f, column, 0)
            }
            FilterNode::And(items) | FilterNode::Or(items) => {
                let joiner = if matches!(node, FilterNode::And(_)) { " AND " } else { " OR " };
                let mut parts = Vec::new();
                for i in items {
                    parts.push(format!("({})", self.filter_node(i)?));
                }
                Ok(if parts.is_empty() { "1 = 1".to_string() } else { parts.join(joiner) })
            }
        }
    }

    pub(super) fn measure_filter(&mut self, f: &Filter) -> R<String> {
        let MemberRef::Measure(m) = f.member.source_member else { return Ok("1 = 1".to_string()) };
        let model = self.model;
        let filters = &model.cube(f.member.source_cube).measures[m].filters;
        let mut parts = Vec::new();
        for t in filters {
            parts.push(format!("({})", self.template(t, 0)?));
        }
        Ok(if parts.is_empty() { "1 = 1".to_string() } else { parts.join(" AND ") })
    }

    /// One filter against `column`.
    pub(super) fn filter_on(&mut self, f: &Filter, column: String, _depth: usize) -> R<String> {
        let non_null: Vec<String> = f.values.iter().flatten().cloned().collect();
        let has_null = f.values.iter().any(Option::is_none);
        let col = column.as_str();
        match f.operator {
            Operator::Equals | Operator::In => {
                let mut parts = Vec::new();
                if !non_null.is_empty() {
                    parts.push(self.eq_or_in(f, col, &non_null, false)?);
                }
                if has_null {
                    parts.push(self.tpl("is_null", context! { column => col })?);
                }
                Ok(if parts.len() > 1 {
                    format!("({})", parts.join(" OR "))
                } else {
                    parts.pop().unwrap_or_else(|| "1 = 0".to_string())
                })
            }
            Operator::NotEquals | Operator::NotIn => {
                if non_null.is_empty() {
                    return self.tpl("is_not_null", context! { column => col });
                }
                let cmp = self.eq_or_in(f, col, &non_null, true)?;
                if has_null {
                    Ok(cmp)
                } else {
                    let null = self.tpl("is_null", context! { column => col })?;
                    Ok(format!("({cmp} OR {null})"))
                }
            }
            Operator::Contains
            | Operator::StartsWith
            | Operator::EndsWith
            | Operator::NotContains
            | Operator::NotStartsWith
            | Operator::NotEndsWith => {
                let negate =
                    matches!(f.operator, Operator::NotContains | Operator::NotStartsWith | Operator::NotEndsWith);
                let shape = match f.operator {
                    Operator::Contains | Operator::NotContains => "like_contains",
                    Operator::StartsWith | Operator::NotStartsWith => "like_starts",
                    _ => "like_ends",
                };
                if non_null.is_empty() {
                    return Err(Diagnostic::error(
                        Code::QueryFilter,
                        format!("`{}` on `{}` needs a non-null value", f.operator.name(), f.member.name),
                    )
                    .with_help("match missing values with the `notSet` operator"));
                }
                let mut parts = Vec::new();
                for v in &non_null {
                    let p = self.param(escape_like(v));
                    let pattern = self.tpl(shape, context! { value => p })?;
                    parts.push(self.tpl("like", context! { column => col, pattern => pattern, negate => negate })?);
                }
                if negate {
                    let null = self.tpl("is_null", context! { column => col })?;
                    Ok(format!("(({}) OR {null})", parts.join(" AND ")))
                } else {
                    Ok(if parts.len() == 1 { parts.remove(0) } else { format!("({})", parts.join(" OR ")) })
                }
            }
            Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => {
                let op = match f.operator {
                    Operator::Gt => ">",
                    Operator::Gte => ">=",
                    Operator::Lt => "<",
                    _ => "<=",
                };
                let Some(v) = non_null.first() else {
                    return Err(Diagnostic::error(
                        Code::QueryFilter,
                        format!("`{}` on `{}` needs a non-null value", f.operator.name(), f.member.name),
                    ));
                };
                let value = self.value_param(f, v)?;
                self.tpl("compare", context! { column => col, op => op, value => value })
            }
            Operator::Set => self.tpl("is_not_null", context! { column => col }),
            Operator::NotSet => self.tpl("is_null", context! { column => col }),
            Operator::InDateRange
            | Operator::OnTheDate
            | Operator::NotInDateRange
            | Operator::BeforeDate
            | Operator::BeforeOrOnDate
            | Operator::AfterDate
            | Operator::AfterOrOnDate => {
                let Some((from, to)) = f.date_bounds else {
                    return Err(Diagnostic::error(
                        Code::QueryDateRange,
                        format!("`{}` on `{}` needs dates", f.operator.name(), f.member.name),
                    ));
                };
                let tz = self.query.timezone;
                let from = crate::query::dates::local_to_utc(from, tz, false);
                let to = crate::query::dates::local_to_utc(to, tz, true);
                match f.operator {
                    Operator::InDateRange | Operator::OnTheDate => self.between_instants(col, from, to),
                    Operator::NotInDateRange => {
                        let a = self.timestamp_param(from)?;
                        let b = self.timestamp_param(to)?;
                        let lt = self.tpl("compare", context! { column => col, op => "<", value => a })?;
                        let gt = self.tpl("compare", context! { column => col, op => ">", value => b })?;
                        Ok(format!("({lt} OR {gt})"))
                    }
                    op => {
                        let sym = match op {
                            Operator::BeforeDate => "<",
                            Operator::BeforeOrOnDate => "<=",
                            Operator::AfterDate => ">",
                            _ => ">=",
                        };
                        let a = self.timestamp_param(from)?;
                        self.tpl("compare", context! { column => col, op => sym, value => a })
                    }
                }
            }
            Operator::MeasureFilter => self.measure_filter(f),
        }
    }

    pub(super) fn eq_or_in(&mut self, f: &Filter, col: &str, values: &[String], negate: bool) -> R<String> {
        if values.len() == 1 {
            let v = self.value_param(f, &values[0])?;
            self.tpl(if negate { "not_equals" } else { "equals" }, context! { column => col, value => v })
        } else {
            let mut ps = Vec::new();
            for v in values {
                ps.push(self.value_param(f, v)?);
            }
            self.tpl(if negate { "not_in" } else { "in" }, context! { column => col, values => ps })
        }
    }
}

/// LIKE patterns: `%`, `_` and the escape character itself match literally.
fn escape_like(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
