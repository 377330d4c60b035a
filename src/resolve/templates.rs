//! Resolving `{...}` references in one SQL string, in the context of the cube that owns it.
//! A reference that names nothing is reported at its own position inside the string.

use super::model::*;
use super::refs::{self, Piece, RefForm};
use crate::diag::{Code, Diagnostic, SourceMap, Span};
use crate::load::raw::SpStr;
use crate::util::did_you_mean;

/// Builtin granularities usable in queries and in `{time_dim.granularity}` references.
pub const BUILTIN_GRANULARITIES: &[&str] = &["second", "minute", "hour", "day", "week", "month", "quarter", "year"];

/// Where the SQL sits, which decides whether a bare column is prefixed with the cube alias.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SqlRole {
    /// Measure or dimension SQL: a lone identifier becomes `{CUBE}.identifier`.
    Member,
    /// Cube SQL, join conditions, filters, segments: used as written.
    Other,
}

pub struct Resolver<'a> {
    pub model: &'a Model,
    pub sources: &'a SourceMap,
}

const NOT_COLUMNS: &[&str] = &["true", "false", "null", "TRUE", "FALSE", "NULL"];

impl<'a> Resolver<'a> {
    /// Parses and resolves `sql` for cube `cube`.
    pub fn sql(&self, cube: CubeId, sql: &SpStr, role: SqlRole, diags: &mut Vec<Diagnostic>) -> SqlTemplate {
        let text = sql.value.trim();
        if role == SqlRole::Member && crate::util::is_identifier(text) && !NOT_COLUMNS.contains(&text) {
            return SqlTemplate {
                parts: vec![
                    SqlPart::Ref(Ref::CubeAlias { cube, path: Vec::new() }, sql.span),
                    SqlPart::Text(format!(".{text}")),
                ],
                span: Some(sql.span),
            };
        }
        let pieces = match refs::split(&sql.value) {
            Ok(p) => p,
            Err(e) => {
                let at = self.locate(sql, &e.written, 0);
                diags.push(Diagnostic::error(Code::ReferenceSyntax, e.message).at(at, "here").with_help(
                    "references look like {member}, {cube.member} or {CUBE}; write a literal brace as \\{ or \\}",
                ));
                return SqlTemplate { parts: vec![SqlPart::Text(sql.value.clone())], span: Some(sql.span) };
            }
        };
        let mut parts = Vec::with_capacity(pieces.len());
        let mut seen: Vec<String> = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => parts.push(SqlPart::Text(t)),
                Piece::Ref(r) => {
                    let nth = seen.iter().filter(|w| **w == r.written).count();
                    seen.push(r.written.clone());
                    let span = self.locate(sql, &r.written, nth);
                    match self.reference(cube, &r.form, span, diags) {
                        Some(resolved) => parts.push(SqlPart::Ref(resolved, span)),
                        None => parts.push(SqlPart::Text(r.written.clone())),
                    }
                }
            }
        }
        SqlTemplate { parts, span: Some(sql.span) }
    }

    /// The span of the `nth` occurrence of `written` inside the scalar, or the whole scalar.
    fn locate(&self, sql: &SpStr, written: &str, nth: usize) -> Span {
        crate::diag::locate(self.sources, sql.span, written, nth)
    }

    fn reference(&self, cube: CubeId, form: &RefForm, span: Span, diags: &mut Vec<Diagnostic>) -> Option<Ref> {
        match form {
            RefForm::Context { root, path, call } => {
                Some(Ref::Context { root: root.clone(), path: path.clone(), call: call.clone() })
            }
            RefForm::CubeSql(path) => {
                let target = match path.as_slice() {
                    [one] if one == "CUBE" => Some(cube),
                    _ => path.last().and_then(|n| self.model.cube_id(n)),
                };
                match target {
                    Some(t) if !self.model.cube(t).is_view() => Some(Ref::CubeSql { cube: t }),
                    _ => {
                        let name = path.join(".");
                        diags.push(self.unknown(cube, &name, span, "no such cube"));
                        None
                    }
                }
            }
            RefForm::Path(path) => self.path(cube, path, span, diags),
        }
    }

    fn path(&self, cube: CubeId, path: &[String], span: Span, diags: &mut Vec<Diagnostic>) -> Option<Ref> {
        let own = self.model.cube(cube);
        let first = path[0].as_str();
        // `{CUBE...}` and `{TABLE...}` are the owning cube.
        if first == "CUBE" || first == "TABLE" {
            return if path.len() == 1 {
                Some(Ref::CubeAlias { cube, path: Vec::new() })
            } else {
                self.member_path(cube, &path[1..], Vec::new(), span, path, diags)
            };
        }
        // The cube's own members come first, then other cubes.
        if own.member(first).is_some() {
            return self.member_path(cube, path, Vec::new(), span, path, diags);
        }
        if let Some(mut current) = self.model.cube_id(first) {
            let mut hops = vec![current];
            let mut i = 1;
            while i < path.len() && self.model.cube(current).member(&path[i]).is_none() {
                match self.model.cube_id(&path[i]) {
                    Some(next) => {
                        current = next;
                        hops.push(next);
                        i += 1;
                    }
                    None => break,
                }
            }
            if i == path.len() {
                return Some(Ref::CubeAlias { cube: current, path: hops });
            }
            return self.member_path(current, &path[i..], hops, span, path, diags);
        }
        let mut members: Vec<&str> = own.members.keys().map(String::as_str).collect();
        members.sort();
        // `{x}` is most likely a member of this cube, `{x.y}` most likely another cube.
        let help = if path.len() == 1 {
            did_you_mean(first, members.iter().copied())
        } else {
            did_you_mean(first, self.model.cube_names()).or_else(|| did_you_mean(first, members.iter().copied()))
        };
        let full = path.join(".");
        diags.push(
            Diagnostic::error(Code::UnknownReference, format!("`{{{full}}}` in cube `{}` names no member or cube", own.name))
                .at(span, format!("`{first}` is not a member of `{}` nor a cube", own.name))
                .with_help(match help {
                    Some(s) => format!("did you mean `{s}`? (a raw column is written without braces, or as {{CUBE}}.column)"),
                    None => "reference a member of this cube as {member}, another cube's member as {cube.member}; write raw columns without braces".to_string(),
                }),
        );
        None
    }

    /// `rest` starts with a member name of `target`, optionally followed by a granularity.
    fn member_path(
        &self,
        target: CubeId,
        rest: &[String],
        hops: Vec<CubeId>,
        span: Span,
        full: &[String],
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Ref> {
        let c = self.model.cube(target);
        let Some(member) = c.member(&rest[0]) else {
            let candidates: Vec<&str> = c.members.keys().map(String::as_str).collect();
            diags.push(
                Diagnostic::error(
                    Code::UnknownReference,
                    format!("`{{{}}}`: cube `{}` has no member `{}`", full.join("."), c.name, rest[0]),
                )
                .at(span, format!("no member `{}` in `{}`", rest[0], c.name))
                .with_help(match did_you_mean(&rest[0], candidates.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("for a raw column of `{}` write {{{}}}.{}", c.name, c.name, rest[0]),
                }),
            );
            return None;
        };
        match rest.len() {
            1 => Some(Ref::Member { cube: target, member, path: hops }),
            2 => {
                let gran = rest[1].as_str();
                match member {
                    MemberRef::Dimension(d) if c.dimensions[d].type_ == DimensionType::Time => {
                        if BUILTIN_GRANULARITIES.contains(&gran) || c.dimensions[d].granularity(gran).is_some() {
                            Some(Ref::Granularity { cube: target, dimension: d, granularity: gran.to_string() })
                        } else {
                            let mut names: Vec<&str> = BUILTIN_GRANULARITIES.to_vec();
                            names.extend(c.dimensions[d].granularities.iter().map(|g| g.name.as_str()));
                            diags.push(
                                Diagnostic::error(
                                    Code::UnknownReference,
                                    format!("`{}.{}` has no granularity `{gran}`", c.name, rest[0]),
                                )
                                .at(span, "unknown granularity")
                                .with_help(
                                    match did_you_mean(gran, names.iter().copied()) {
                                        Some(s) => format!("did you mean `{s}`?"),
                                        None => format!("granularities: {}", names.join(", ")),
                                    },
                                ),
                            );
                            None
                        }
                    }
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                Code::UnknownReference,
                                format!(
                                    "`{{{}}}`: `{}` is not a time dimension, so `.{gran}` means nothing",
                                    full.join("."),
                                    rest[0]
                                ),
                            )
                            .at(span, "not a time dimension")
                            .with_help("only time dimensions take a granularity, e.g. {created_at.month}"),
                        );
                        None
                    }
                }
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::UnknownReference, format!("`{{{}}}` has too many parts", full.join(".")))
                        .at(span, "cannot resolve this path")
                        .with_help("write {cube.member}, {cube.time_dimension.granularity} or {cube_a.cube_b.member}"),
                );
                None
            }
        }
    }

    fn unknown(&self, cube: CubeId, name: &str, span: Span, label: &str) -> Diagnostic {
        let own = self.model.cube(cube);
        Diagnostic::error(Code::UnknownReference, format!("`{{{name}.sql()}}` in cube `{}` names no cube", own.name))
            .at(span, label)
            .maybe_help(did_you_mean(name, self.model.cube_names()).map(|s| format!("did you mean `{s}`?")))
    }
}
