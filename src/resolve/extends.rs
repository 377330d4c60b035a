//! Names and `extends`: checks cube and view names, drops duplicates, and flattens `extends`
//! so that every cube carries its inherited members (the child's own members win by name).

use crate::diag::{Code, Diagnostic, Span};
use crate::load::raw::{RawCube, RawModel, RawView, SpStr};
use crate::util::{did_you_mean, is_identifier, PYTHON_KEYWORDS};
use std::borrow::Cow;
use std::collections::HashMap;

/// Checks a cube, view or member name.
/// Longer names are refused: aliases built from them (`cube__member`) would pass every
/// warehouse's identifier limit (PostgreSQL truncates at 63 bytes) by far.
pub const MAX_NAME_CHARS: usize = 256;

pub fn check_name(name: &SpStr, what: &str, diags: &mut Vec<Diagnostic>) -> bool {
    if name.value.chars().count() > MAX_NAME_CHARS {
        diags.push(
            Diagnostic::error(
                Code::InvalidIdentifier,
                format!(
                    "{what} name is {} characters long, over the limit of {MAX_NAME_CHARS}",
                    name.value.chars().count()
                ),
            )
            .at(name.span, "name too long")
            .with_help("use a shorter name; `title` can hold the long text users see"),
        );
        return false;
    }
    if !is_identifier(&name.value) {
        diags.push(
            Diagnostic::error(
                Code::InvalidIdentifier,
                format!("{what} name `{}` is not a valid identifier", name.value),
            )
            .at(name.span, "invalid name")
            .with_help("names start with a letter or `_` and contain only letters, digits and `_`"),
        );
        return false;
    }
    if PYTHON_KEYWORDS.contains(&name.value.as_str()) {
        diags.push(
            Diagnostic::warning(Code::ReservedName, format!("{what} name `{}` is a Python keyword", name.value))
                .at(name.span, "reserved word")
                .with_help(
                    "Cube parses `{...}` references as Python, so `{".to_string()
                        + &name.value
                        + "}` cannot be written; choose another name",
                ),
        );
    }
    true
}

/// Cubes and views that survive name checks, with `extends` applied.
pub struct Flattened<'a> {
    pub cubes: Vec<Cow<'a, RawCube>>,
    pub views: Vec<Cow<'a, RawView>>,
}

pub fn flatten<'a>(raw: &'a RawModel, diags: &mut Vec<Diagnostic>) -> Flattened<'a> {
    // Names are unique across cubes and views.
    let mut first: HashMap<String, Span> = HashMap::new();
    let mut keep_cube = vec![false; raw.cubes.len()];
    let mut keep_view = vec![false; raw.views.len()];
    let entries =
        raw.cubes.iter().map(|c| (c.name.as_ref(), "cube")).chain(raw.views.iter().map(|v| (v.name.as_ref(), "view")));
    for (i, (name, what)) in entries.enumerate() {
        let Some(name) = name else { continue };
        if !check_name(name, what, diags) {
            continue;
        }
        if let Some(prev) = first.get(&name.value) {
            diags.push(
                Diagnostic::error(Code::DuplicateCube, format!("`{}` is defined more than once", name.value))
                    .at(name.span, "defined again here")
                    .at(*prev, "first defined here")
                    .with_help("cube and view names must be unique across all model files"),
            );
            continue;
        }
        first.insert(name.value.clone(), name.span);
        if i < raw.cubes.len() {
            keep_cube[i] = true;
        } else {
            keep_view[i - raw.cubes.len()] = true;
        }
    }
    let cubes: Vec<&RawCube> = raw.cubes.iter().zip(&keep_cube).filter(|(_, k)| **k).map(|(c, _)| c).collect();
    let views: Vec<&RawView> = raw.views.iter().zip(&keep_view).filter(|(_, k)| **k).map(|(v, _)| v).collect();

    let cube_names: Vec<&str> = cubes.iter().map(|c| name_of(&c.name)).collect();
    let flat_cubes = flatten_all(&cubes, &cube_names, |c| c.extends.as_ref(), merge_cube, "cube", diags);
    let view_names: Vec<&str> = views.iter().map(|v| name_of(&v.name)).collect();
    let flat_views = flatten_all(&views, &view_names, |v| v.extends.as_ref(), merge_view, "view", diags);
    Flattened { cubes: flat_cubes, views: flat_views }
}

fn name_of(n: &Option<SpStr>) -> &str {
    n.as_ref().map(|s| s.value.as_str()).unwrap_or("")
}

/// Resolves `extends` for one kind of item, in dependency order, reporting unknown parents
/// and cycles. An item in a cycle, or whose parent is unknown, keeps only its own definition.
fn flatten_all<'a, T: Clone>(
    items: &[&'a T],
    names: &[&str],
    extends: impl Fn(&T) -> Option<&SpStr>,
    merge: impl Fn(&T, &T) -> T,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Cow<'a, T>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Visiting,
        Done,
    }
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let parent_of = |i: usize| extends(items[i]).map(|p| (p, p.value.trim_start_matches("CUBE.").to_string()));
    let mut state = vec![State::New; items.len()];
    let mut built: Vec<Option<Cow<'a, T>>> = vec![None; items.len()];
    for start in 0..items.len() {
        let mut path = Vec::new();
        let mut cur = start;
        loop {
            match state[cur] {
                State::Done => break,
                State::Visiting => {
                    // `cur` closes a cycle: every item on it keeps its own definition.
                    let pos = path.iter().position(|&c| c == cur).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[pos..].iter().map(|&c| names[c]).collect();
                    cycle.push(names[cur]);
                    let closing = *path.last().unwrap_or(&cur);
                    let span = parent_of(closing).map(|(p, _)| p.span).unwrap_or(Span {
                        start: 0,
                        end: 0,
                        file: crate::diag::FileId(0),
                    });
                    diags.push(
                        Diagnostic::error(Code::ExtendsCycle, format!("`extends` cycle: {}", cycle.join(" -> ")))
                            .at(span, "this `extends` closes the cycle")
                            .with_help(format!("a {what} cannot extend itself, directly or through others")),
                    );
                    for &c in &path[pos..] {
                        built[c] = Some(Cow::Borrowed(items[c]));
                        state[c] = State::Done;
                    }
                    break;
                }
                State::New => {}
            }
            state[cur] = State::Visiting;
            path.push(cur);
            let Some((parent, parent_name)) = parent_of(cur) else {
                break;
            };
            match index.get(parent_name.as_str()) {
                Some(&p) => cur = p,
                None => {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownExtends,
                            format!("{what} `{}` extends unknown {what} `{}`", names[cur], parent.value),
                        )
                        .at(parent.span, format!("no {what} named `{}`", parent.value))
                        .maybe_help(
                            did_you_mean(&parent_name, names.iter().copied()).map(|s| format!("did you mean `{s}`?")),
                        ),
                    );
                    built[cur] = Some(Cow::Borrowed(items[cur]));
                    state[cur] = State::Done;
                    break;
                }
            }
        }
        // Build from the parent end of the path down to `start`.
        for &c in path.iter().rev() {
            if state[c] == State::Done {
                continue;
            }
            let own = items[c];
            let value = match parent_of(c).and_then(|(_, n)| index.get(n.as_str()).copied()) {
                Some(p) => match &built[p] {
                    Some(parent) => Cow::Owned(merge(parent, own)),
                    None => Cow::Borrowed(own),
                },
                None => Cow::Borrowed(own),
            };
            built[c] = Some(value);
            state[c] = State::Done;
        }
    }
    built.into_iter().enumerate().map(|(i, b)| b.unwrap_or(Cow::Borrowed(items[i]))).collect()
}

fn merge_named<T: Clone>(parent: &[T], child: &[T], name: impl Fn(&T) -> Option<&str>) -> Vec<T> {
    let mut out: Vec<T> =
        parent.iter().filter(|p| !child.iter().any(|c| name(c).is_some() && name(c) == name(p))).cloned().collect();
    out.extend(child.iter().cloned());
    out
}

fn merge_cube(parent: &RawCube, child: &RawCube) -> RawCube {
    let own_source = child.sql.is_some() || child.sql_table.is_some();
    RawCube {
        span: child.span,
        name: child.name.clone(),
        sql: if own_source { child.sql.clone() } else { parent.sql.clone() },
        sql_table: if own_source { child.sql_table.clone() } else { parent.sql_table.clone() },
        sql_alias: child.sql_alias.clone(),
        data_source: child.data_source.clone().or_else(|| parent.data_source.clone()),
        extends: child.extends.clone(),
        title: child.title.clone(),
        description: child.description.clone().or_else(|| parent.description.clone()),
        meta: child.meta.clone().or_else(|| parent.meta.clone()),
        public: child.public.clone().or_else(|| parent.public.clone()),
        joins: merge_named(&parent.joins, &child.joins, |j| j.name.as_ref().map(|s| s.value.as_str())),
        measures: merge_named(&parent.measures, &child.measures, |m| m.name.as_ref().map(|s| s.value.as_str())),
        dimensions: merge_named(&parent.dimensions, &child.dimensions, |m| m.name.as_ref().map(|s| s.value.as_str())),
        segments: merge_named(&parent.segments, &child.segments, |m| m.name.as_ref().map(|s| s.value.as_str())),
        pre_aggregations: merge_named(&parent.pre_aggregations, &child.pre_aggregations, |m| {
            m.name.as_ref().map(|s| s.value.as_str())
        }),
        hierarchies: merge_named(&parent.hierarchies, &child.hierarchies, |m| {
            m.name.as_ref().map(|s| s.value.as_str())
        }),
        refresh_key: child.refresh_key.clone().or_else(|| parent.refresh_key.clone()),
        // As Cube: the parent's policies, then the child's own.
        access_policy: parent.access_policy.iter().chain(&child.access_policy).cloned().collect(),
    }
}

fn merge_view(parent: &RawView, child: &RawView) -> RawView {
    let mut cubes = parent.cubes.clone();
    cubes.extend(child.cubes.iter().cloned());
    let mut folders = parent.folders.clone();
    folders.extend(child.folders.iter().cloned());
    RawView {
        span: child.span,
        name: child.name.clone(),
        extends: child.extends.clone(),
        title: child.title.clone(),
        description: child.description.clone().or_else(|| parent.description.clone()),
        meta: child.meta.clone().or_else(|| parent.meta.clone()),
        public: child.public.clone().or_else(|| parent.public.clone()),
        cubes,
        folders,
        own_members: child.own_members.clone(),
        access_policy: parent.access_policy.iter().chain(&child.access_policy).cloned().collect(),
    }
}
