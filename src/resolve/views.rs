//! Views: each included cube member becomes a view member that proxies it, named as the view
//! says (`prefix`, `alias`), reached through the entry's `join_path`.

use super::extends::check_name;
use super::model::*;
use crate::diag::{locate, Code, Diagnostic, SourceMap, Span};
use crate::load::raw::{RawFolder, RawFolderItem, RawIncludes, RawView};
use crate::util::did_you_mean;
use std::collections::HashMap;

pub fn skeleton(raw: &RawView) -> Cube {
    let name = raw.name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
    Cube {
        title: raw.title.as_ref().map(|t| t.value.clone()).unwrap_or_else(|| super::cubes::titleize(&name)),
        name,
        kind: CubeKind::View,
        name_span: raw.name.as_ref().map(|n| n.span).unwrap_or(raw.span),
        source: None,
        sql_alias: None,
        data_source: "default".to_string(),
        description: raw.description.as_ref().map(|d| d.value.clone()),
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
    }
}

/// Fills the members of view `id` from the (already resolved) cubes of `model`.
pub fn build(model: &Model, sources: &SourceMap, id: CubeId, raw: &RawView, diags: &mut Vec<Diagnostic>) -> Cube {
    let mut view = model.cube(id).clone();
    for own in &raw.own_members {
        diags.push(
            Diagnostic::error(
                Code::ViewOwnMember,
                format!("view `{}` defines its own member `{}`", view.name, own.value),
            )
            .at(own.span, "views only include cube members")
            .with_help("move this definition to one of the cubes and include it in the view"),
        );
    }
    let mut origin: HashMap<String, Span> = HashMap::new();
    for entry in &raw.cubes {
        let Some(jp) = &entry.join_path else { continue };
        let Some(path) = join_path(model, sources, &jp.value, jp.span, diags) else {
            continue;
        };
        let Some(&target) = path.last() else { continue };
        if let (Some(p), Some(s)) = (&entry.prefix, &entry.split) {
            if p.value && s.value {
                diags.push(
                    Diagnostic::error(Code::ViewPrefixSplit, "`split` cannot be used together with `prefix`")
                        .at(s.span, "split here")
                        .with_help("remove `split` or `prefix`"),
                );
            }
        }
        let cube = model.cube(target);
        let prefix = match (&entry.prefix, &entry.alias) {
            (Some(p), alias) if p.value => {
                Some(alias.as_ref().map(|a| a.value.clone()).unwrap_or_else(|| cube.name.clone()))
            }
            _ => None,
        };
        // (member name in the cube, name in the view, overrides, span to blame)
        let mut picks: Vec<(String, String, Option<&crate::load::raw::RawInclude>, Span)> = Vec::new();
        match &entry.includes {
            None => {}
            Some(RawIncludes::All(span)) => {
                let mut names: Vec<(&String, &MemberRef)> = cube.members.iter().collect();
                names.sort_by_key(|(_, r)| member_order(r));
                for (n, _) in names {
                    if entry.excludes.iter().any(|e| &e.value == n) {
                        continue;
                    }
                    picks.push((n.clone(), n.clone(), None, *span));
                }
            }
            Some(RawIncludes::List(list)) => {
                for inc in list {
                    let n = &inc.name.value;
                    if n.contains('.') {
                        diags.push(
                            Diagnostic::error(
                                Code::ViewIncludePath,
                                format!("paths are not allowed in includes, but `{n}` is one"),
                            )
                            .at(inc.name.span, "a path")
                            .with_help("put the path in `join_path` and include the bare member name"),
                        );
                        continue;
                    }
                    if cube.member(n).is_none() {
                        let candidates: Vec<&str> = cube.members.keys().map(String::as_str).collect();
                        diags.push(
                            Diagnostic::error(
                                Code::ViewUnknownMember,
                                format!(
                                    "view `{}` includes `{n}`, which cube `{}` does not define",
                                    view.name, cube.name
                                ),
                            )
                            .at(inc.name.span, "not a member of the cube")
                            .maybe_help(
                                did_you_mean(n, candidates.iter().copied()).map(|s| format!("did you mean `{s}`?")),
                            ),
                        );
                        continue;
                    }
                    let alias = inc.alias.as_ref().map(|a| a.value.clone()).unwrap_or_else(|| n.clone());
                    if let Some(a) = &inc.alias {
                        check_name(a, "include alias", diags);
                    }
                    picks.push((n.clone(), alias, Some(inc), inc.name.span));
                }
            }
        }
        for e in &entry.excludes {
            if cube.member(&e.value).is_none() {
                diags.push(
                    Diagnostic::error(
                        Code::ViewUnknownMember,
                        format!(
                            "view `{}` excludes `{}`, which cube `{}` does not define",
                            view.name, e.value, cube.name
                        ),
                    )
                    .at(e.span, "not a member of the cube"),
                );
            }
        }
        for (member_name, view_name, inc, span) in picks {
            let Some(r) = cube.member(&member_name) else {
                continue;
            };
            let name = match &prefix {
                Some(p) => format!("{p}_{view_name}"),
                None => view_name,
            };
            if let Some(first) = origin.get(&name) {
                diags.push(
                    Diagnostic::error(
                        Code::ViewIncludeConflict,
                        format!("view `{}` includes `{name}` twice", view.name),
                    )
                    .at(span, format!("`{}.{member_name}` conflicts with an earlier member", cube.name))
                    .at(*first, "first included here")
                    .with_help("exclude one of them, give one an alias, or use `prefix: true`"),
                );
                continue;
            }
            origin.insert(name.clone(), span);
            let proxy = Proxy { cube: target, member: r, join_path: path.clone() };
            add_member(&mut view, cube, r, name, proxy, inc);
        }
    }
    view.folders = raw.folders.iter().map(|f| folder(&view, f, diags)).collect();
    view
}

fn member_order(r: &MemberRef) -> (u8, usize) {
    match r {
        MemberRef::Measure(i) => (0, *i),
        MemberRef::Dimension(i) => (1, *i),
        MemberRef::Segment(i) => (2, *i),
    }
}

fn add_member(
    view: &mut Cube,
    cube: &Cube,
    r: MemberRef,
    name: String,
    proxy: Proxy,
    inc: Option<&crate::load::raw::RawInclude>,
) {
    let title = inc.and_then(|i| i.title.as_ref()).map(|t| t.value.clone());
    let description = inc.and_then(|i| i.description.as_ref()).map(|t| t.value.clone());
    let format = inc.and_then(|i| i.format.as_ref()).map(|t| t.value.clone());
    let meta = inc.and_then(|i| i.meta.clone());
    match r {
        MemberRef::Measure(i) => {
            let mut m = cube.measures[i].clone();
            m.name = name.clone();
            m.proxy = Some(proxy);
            m.title = title.or(m.title);
            m.description = description.or(m.description);
            m.format = format.or(m.format);
            m.meta = meta.or(m.meta);
            view.members.insert(name, MemberRef::Measure(view.measures.len()));
            view.measures.push(m);
        }
        MemberRef::Dimension(i) => {
            let mut d = cube.dimensions[i].clone();
            d.name = name.clone();
            d.proxy = Some(proxy);
            d.title = title.or(d.title);
            d.description = description.or(d.description);
            d.format = format.or(d.format);
            d.meta = meta.or(d.meta);
            view.members.insert(name, MemberRef::Dimension(view.dimensions.len()));
            view.dimensions.push(d);
        }
        MemberRef::Segment(i) => {
            let mut s = cube.segments[i].clone();
            s.name = name.clone();
            s.proxy = Some(proxy);
            s.title = title.or(s.title);
            s.description = description.or(s.description);
            view.members.insert(name, MemberRef::Segment(view.segments.len()));
            view.segments.push(s);
        }
    }
}

/// `a.b.c`: every step a cube, each joined to the next by a declared join.
fn join_path(
    model: &Model,
    sources: &SourceMap,
    text: &str,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<CubeId>> {
    let mut path = Vec::new();
    let steps: Vec<&str> = text.split('.').collect();
    for (i, step) in steps.iter().copied().enumerate() {
        let nth = steps[..i].iter().filter(|s| **s == step).count();
        let step_span = locate(sources, span, step, nth);
        match model.cube_id(step).filter(|&c| !model.cube(c).is_view()) {
            Some(c) => {
                if let Some(&prev) = path.last() {
                    let joined = model.cube(prev).joins.iter().any(|j: &Join| j.target == c);
                    if !joined {
                        diags.push(
                            Diagnostic::error(
                                Code::ViewJoinPath,
                                format!("join_path `{text}`: cube `{}` has no join to `{step}`", model.cube(prev).name),
                            )
                            .at(step_span, "no join to this cube")
                            .with_help(format!(
                                "declare a join to `{step}` in cube `{}`, or fix the path",
                                model.cube(prev).name
                            )),
                        );
                        return None;
                    }
                }
                path.push(c);
            }
            None => {
                diags.push(
                    Diagnostic::error(Code::ViewJoinPath, format!("join_path `{text}` names unknown cube `{step}`"))
                        .at(step_span, "no such cube")
                        .with_help(
                            match did_you_mean(
                                step,
                                model.cubes.iter().filter(|c| !c.is_view()).map(|c| c.name.as_str()),
                            ) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => {
                                    "a join_path is cube names separated by dots, following declared joins".to_string()
                                }
                            },
                        ),
                );
                return None;
            }
        }
    }
    Some(path)
}

fn folder(view: &Cube, f: &RawFolder, diags: &mut Vec<Diagnostic>) -> Folder {
    let members = f
        .includes
        .iter()
        .filter_map(|item| match item {
            RawFolderItem::Member(m) => {
                let name = m.value.rsplit('.').next().unwrap_or(&m.value);
                if view.member(name).is_none() {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownMember,
                            format!("folder includes `{}`, which view `{}` does not have", m.value, view.name),
                        )
                        .at(m.span, "not a member of the view")
                        .maybe_help(
                            did_you_mean(name, view.members.keys().map(String::as_str))
                                .map(|s| format!("did you mean `{s}`?")),
                        ),
                    );
                    None
                } else {
                    Some(FolderItem::Member(name.to_string()))
                }
            }
            RawFolderItem::Folder(sub) => Some(FolderItem::Folder(folder(view, sub, diags))),
        })
        .collect();
    Folder { name: f.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(), members }
}
