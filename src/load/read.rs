//! Reads a YAML [`Node`] tree into [`RawModel`] parts, checking keys and value shapes as it goes.
//! Every problem becomes a diagnostic and reading carries on, so one run reports them all.

use super::keys::*;
use super::obj::Obj;
use super::raw::*;
use crate::diag::{Code, Diagnostic, Span};
use crate::load::yaml::{Node, Value};
use crate::util::did_you_mean;

/// Reads the top level of one file (`cubes:` and `views:` only) into `model`.
pub fn read_file(root: &Node, model: &mut RawModel, diags: &mut Vec<Diagnostic>) {
    let Some(map) = root.as_map() else {
        if matches!(root.value, Value::Null) {
            // An empty file (or one with only comments) is most likely a file saved too early;
            // Cube loads it without a word.
            diags.push(
                Diagnostic::warning(Code::EmptyFile, "this model file is empty: it defines no cubes or views")
                    .at(Span { end: root.span.start, ..root.span }, "nothing here")
                    .with_help("add `cubes:` or `views:`, or delete the file"),
            );
        } else {
            diags.push(
                Diagnostic::error(
                    Code::TopLevelKey,
                    format!("a model file must be a mapping with `cubes:` and/or `views:`, found {}", root.kind_name()),
                )
                .at(root.span, "expected `cubes:` or `views:`"),
            );
        }
        return;
    };
    for (k, v) in map {
        let key = k.scalar_text().unwrap_or_default();
        match key.as_str() {
            "cubes" => {
                for item in top_list(k, v, "cubes", diags) {
                    if let Some(c) = read_cube(item, diags) {
                        model.cubes.push(c);
                    }
                }
            }
            "views" => {
                for item in top_list(k, v, "views", diags) {
                    if let Some(view) = read_view(item, diags) {
                        model.views.push(view);
                    }
                }
            }
            _ => {
                let help = match did_you_mean(&key, TOP_KEYS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "only `cubes` and `views` are allowed at the top level of a model file".to_string(),
                };
                diags.push(
                    Diagnostic::error(Code::TopLevelKey, format!("unexpected top-level key `{key}`"))
                        .at(k.span, "only `cubes` and `views` are allowed here")
                        .with_help(help),
                );
            }
        }
    }
}

fn top_list<'a>(k: &Node, v: &'a Node, key: &str, diags: &mut Vec<Diagnostic>) -> &'a [Node] {
    match &v.value {
        Value::Seq(items) => items,
        Value::Null => {
            // `cubes:` with nothing under it: usually the items lost their indentation or were
            // deleted; Cube refuses it too.
            diags.push(
                Diagnostic::error(Code::WrongType, format!("`{key}` is empty (null): it must be a list"))
                    .at(k.span, "no list under this key")
                    .with_help(format!(
                        "indent each item as `- name: ...` under `{key}:`, or write `{key}: []` for none"
                    )),
            );
            &[]
        }
        _ => {
            diags.push(
                Diagnostic::error(Code::WrongType, format!("`{key}` must be a list, found {}", v.kind_name()))
                    .at(k.span, "expected a list of named items")
                    .with_help(format!("write each item as `- name: ...` under `{key}:`")),
            );
            &[]
        }
    }
}

fn public_of(o: &Obj, diags: &mut Vec<Diagnostic>) -> Option<Sp<bool>> {
    o.bool("public", diags).or_else(|| o.bool("shown", diags)).or_else(|| o.bool("visible", diags))
}

fn read_cube(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawCube> {
    let o = Obj::new(node, "cube", CUBE_KEYS, diags)?;
    Some(RawCube {
        span: node.span,
        name: o.require_name(diags),
        sql: o.str("sql", diags),
        sql_table: o.str("sql_table", diags),
        sql_alias: o.str("sql_alias", diags),
        data_source: o.str("data_source", diags),
        extends: o.str("extends", diags),
        title: o.str("title", diags),
        description: o.str("description", diags),
        meta: o.json("meta"),
        public: public_of(&o, diags),
        joins: o.list("joins", diags).iter().filter_map(|n| read_join(n, diags)).collect(),
        measures: o.list("measures", diags).iter().filter_map(|n| read_measure(n, diags)).collect(),
        dimensions: o.list("dimensions", diags).iter().filter_map(|n| read_dimension(n, diags)).collect(),
        segments: o.list("segments", diags).iter().filter_map(|n| read_segment(n, diags)).collect(),
        pre_aggregations: o
            .list("pre_aggregations", diags)
            .iter()
            .filter_map(|n| super::read_preagg::read_pre_agg(n, diags))
            .collect(),
        hierarchies: o.list("hierarchies", diags).iter().filter_map(|n| read_hierarchy(n, diags)).collect(),
        refresh_key: o.get("refresh_key").and_then(|n| super::refresh_key::read_refresh_key(n, diags)),
        access_policy: o.list("access_policy", diags).to_vec(),
    })
}

fn read_join(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawJoin> {
    let o = Obj::new(node, "join", JOIN_KEYS, diags)?;
    let join = RawJoin {
        span: node.span,
        name: o.require_name(diags),
        relationship: o.str("relationship", diags),
        sql: o.str("sql", diags),
    };
    for (key, present) in [("relationship", join.relationship.is_some()), ("sql", join.sql.is_some())] {
        if !present {
            diags.push(
                Diagnostic::error(Code::MissingKey, format!("join has no `{key}`"))
                    .at(join.name.as_ref().map(|n| n.span).unwrap_or(node.span), format!("`{key}` is required"))
                    .with_help(if key == "sql" {
                        "add the ON condition, e.g. `sql: \"{CUBE}.user_id = {users.id}\"`"
                    } else {
                        "add `relationship: many_to_one`, `one_to_many` or `one_to_one`"
                    }),
            );
        }
    }
    Some(join)
}

fn read_measure(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawMeasure> {
    let o = Obj::new(node, "measure", MEASURE_KEYS, diags)?;
    let filters = o
        .list("filters", diags)
        .iter()
        .filter_map(|f| {
            let fo = Obj::new(f, "measure filter", FILTER_KEYS, diags)?;
            let sql = fo.str("sql", diags);
            if sql.is_none() {
                diags.push(
                    Diagnostic::error(Code::MissingKey, "measure filter has no `sql`").at(f.span, "add `sql: ...`"),
                );
            }
            sql
        })
        .collect();
    let rolling_window = o.get("rolling_window").and_then(|n| {
        let ro = Obj::new(n, "rolling window", ROLLING_KEYS, diags)?;
        Some(RawRollingWindow {
            span: n.span,
            trailing: ro.str("trailing", diags),
            leading: ro.str("leading", diags),
            offset: ro.str("offset", diags),
            type_: ro.str("type", diags),
            granularity: ro.str("granularity", diags),
        })
    });
    Some(RawMeasure {
        span: node.span,
        name: o.require_name(diags),
        type_: o.str("type", diags),
        sql: o.str("sql", diags),
        title: o.str("title", diags),
        description: o.str("description", diags),
        format: o.str("format", diags),
        meta: o.json("meta"),
        public: public_of(&o, diags),
        filters,
        rolling_window,
        drill_members: o.str_list("drill_members", diags),
        multi_stage: o.bool("multi_stage", diags).map(|b| b.value).unwrap_or(false),
        stage: read_stage(&o, diags),
    })
}

fn read_stage(o: &Obj, diags: &mut Vec<Diagnostic>) -> RawStage {
    let names = |key: &str, diags: &mut Vec<Diagnostic>| {
        let span = o.get(key)?.span;
        Some(Sp::new(o.str_list(key, diags), span))
    };
    let time_shift = o.get("time_shift").map(|n| {
        let items = o
            .list("time_shift", diags)
            .iter()
            .filter_map(|item| {
                let t = Obj::new(item, "time shift", TIME_SHIFT_KEYS, diags)?;
                Some(RawTimeShift {
                    span: item.span,
                    interval: t.str("interval", diags),
                    type_: t.str("type", diags),
                    time_dimension: t.str("time_dimension", diags),
                    name: t.str("name", diags),
                })
            })
            .collect();
        Sp::new(items, n.span)
    });
    let order_by = o
        .list("order_by", diags)
        .iter()
        .filter_map(|item| {
            let t = Obj::new(item, "order_by item", ORDER_BY_KEYS, diags)?;
            Some(RawOrderBy { span: item.span, sql: t.str("sql", diags), dir: t.str("dir", diags) })
        })
        .collect();
    RawStage {
        group_by: names("group_by", diags),
        reduce_by: names("reduce_by", diags),
        add_group_by: names("add_group_by", diags),
        time_shift,
        order_by,
        multi_stage_span: o.get("multi_stage").map(|n| n.span),
    }
}

fn read_dimension(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawDimension> {
    let o = Obj::new(node, "dimension", DIMENSION_KEYS, diags)?;
    let format = o.get("format").and_then(|f| match &f.value {
        Value::Str(s) => Some(Sp::new(RawFormat::Name(s.clone()), f.span)),
        Value::Map(_) => {
            let label = f.get("label").and_then(Node::scalar_text);
            match f.get("type").and_then(Node::as_str) {
                Some("link") => Some(Sp::new(RawFormat::Link { label }, f.span)),
                _ => Some(Sp::new(
                    RawFormat::Name(f.get("type").and_then(Node::scalar_text).unwrap_or_default()),
                    f.span,
                )),
            }
        }
        _ => {
            diags.push(
                Diagnostic::error(Code::WrongType, "`format` must be a string or `{type: link, label}`")
                    .at(f.span, "unexpected value"),
            );
            None
        }
    });
    let geo = |key: &str, diags: &mut Vec<Diagnostic>| {
        o.get(key).and_then(|n| {
            let go = Obj::new(n, "geo coordinate", GEO_KEYS, diags)?;
            go.str("sql", diags)
        })
    };
    let latitude = geo("latitude", diags);
    let longitude = geo("longitude", diags);
    Some(RawDimension {
        span: node.span,
        name: o.require_name(diags),
        type_: o.str("type", diags),
        sql: o.str("sql", diags),
        title: o.str("title", diags),
        description: o.str("description", diags),
        format,
        meta: o.json("meta"),
        public: public_of(&o, diags),
        primary_key: o.bool("primary_key", diags),
        sub_query: o.bool("sub_query", diags),
        propagate_filters_to_sub_query: o.bool("propagate_filters_to_sub_query", diags),
        case: o.get("case").and_then(|n| read_case(n, diags)),
        latitude,
        longitude,
        granularities: o.list("granularities", diags).iter().filter_map(|n| read_granularity(n, diags)).collect(),
        switch_values: o.str_list("values", diags),
    })
}

fn read_label(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawLabel> {
    match &node.value {
        Value::Map(_) => {
            let lo = Obj::new(node, "case label", LABEL_KEYS, diags)?;
            lo.str("sql", diags).map(RawLabel::Sql)
        }
        Value::Null => None,
        _ => node.scalar_text().map(|s| RawLabel::Text(Sp::new(s, node.span))),
    }
}

fn read_case(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawCase> {
    let o = Obj::new(node, "case", CASE_KEYS, diags)?;
    let when = o
        .list("when", diags)
        .iter()
        .filter_map(|w| {
            let wo = Obj::new(w, "case branch", WHEN_KEYS, diags)?;
            let branch =
                RawCaseWhen { sql: wo.str("sql", diags), label: wo.get("label").and_then(|l| read_label(l, diags)) };
            if branch.sql.is_none() {
                diags.push(
                    Diagnostic::error(Code::MissingKey, "case branch has no `sql` condition")
                        .at(w.span, "add `sql: <condition>`"),
                );
            }
            Some(branch)
        })
        .collect::<Vec<_>>();
    if o.get("when").is_none() {
        diags
            .push(Diagnostic::error(Code::DimensionCase, "`case` needs a `when` list").at(node.span, "no `when` here"));
    }
    let else_label = o.get("else").and_then(|e| {
        let eo = Obj::new(e, "case else", ELSE_KEYS, diags)?;
        eo.get("label").and_then(|l| read_label(l, diags)).or_else(|| eo.str("sql", diags).map(RawLabel::Sql))
    });
    Some(RawCase { span: node.span, when, else_label })
}

fn read_granularity(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawGranularity> {
    let o = Obj::new(node, "granularity", GRANULARITY_KEYS, diags)?;
    Some(RawGranularity {
        span: node.span,
        name: o.require_name(diags),
        title: o.str("title", diags),
        interval: o.str("interval", diags),
        offset: o.str("offset", diags),
        origin: o.str("origin", diags),
        sql: o.str("sql", diags),
    })
}

fn read_segment(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawSegment> {
    let o = Obj::new(node, "segment", SEGMENT_KEYS, diags)?;
    let seg = RawSegment {
        span: node.span,
        name: o.require_name(diags),
        sql: o.str("sql", diags),
        title: o.str("title", diags),
        description: o.str("description", diags),
        meta: o.json("meta"),
        public: public_of(&o, diags),
    };
    if seg.sql.is_none() {
        diags.push(
            Diagnostic::error(Code::MissingSql, "segment has no `sql`")
                .at(seg.name.as_ref().map(|n| n.span).unwrap_or(node.span), "a segment is a WHERE condition")
                .with_help("add `sql: \"{CUBE}.status = 'active'\"`"),
        );
    }
    Some(seg)
}

fn read_hierarchy(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawHierarchy> {
    let o = Obj::new(node, "hierarchy", HIERARCHY_KEYS, diags)?;
    Some(RawHierarchy {
        span: node.span,
        name: o.require_name(diags),
        title: o.str("title", diags),
        public: o.bool("public", diags),
        levels: o.str_list("levels", diags),
    })
}

fn read_view(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawView> {
    let o = Obj::new(node, "view", VIEW_KEYS, diags)?;
    let mut own_members = Vec::new();
    for key in ["measures", "dimensions", "segments"] {
        for item in o.list(key, diags) {
            let name_node = item.get("name");
            let name = name_node.and_then(Node::scalar_text).unwrap_or_default();
            own_members.push(Sp::new(name, name_node.map(|n| n.span).unwrap_or(item.span)));
        }
    }
    Some(RawView {
        span: node.span,
        name: o.require_name(diags),
        extends: o.str("extends", diags),
        title: o.str("title", diags),
        description: o.str("description", diags),
        meta: o.json("meta"),
        public: public_of(&o, diags),
        cubes: o.list("cubes", diags).iter().filter_map(|n| read_view_cube(n, diags)).collect(),
        folders: o.list("folders", diags).iter().filter_map(|n| read_folder(n, diags, 0)).collect(),
        own_members,
        access_policy: o.list("access_policy", diags).to_vec(),
    })
}

fn read_view_cube(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawViewCube> {
    let o = Obj::new(node, "view cube", VIEW_CUBE_KEYS, diags)?;
    let join_path = o.str("join_path", diags);
    if join_path.is_none() {
        diags.push(
            Diagnostic::error(Code::MissingKey, "view cube entry has no `join_path`")
                .at(node.span, "`join_path` is required")
                .with_help("name the cube, or a dotted path from the view's root cube: `orders.users`"),
        );
    }
    let includes = match o.get("includes") {
        None => {
            diags.push(
                Diagnostic::error(Code::MissingKey, "view cube entry has no `includes`")
                    .at(join_path.as_ref().map(|j| j.span).unwrap_or(node.span), "`includes` is required")
                    .with_help("use `includes: \"*\"` or list member names"),
            );
            None
        }
        Some(n) => match &n.value {
            Value::Str(s) if s == "*" => Some(RawIncludes::All(n.span)),
            Value::Seq(items) => Some(RawIncludes::List(items.iter().filter_map(|i| read_include(i, diags)).collect())),
            _ => {
                diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        format!("`includes` must be \"*\" or a list, found {}", n.kind_name()),
                    )
                    .at(n.span, "expected \"*\" or a list of member names"),
                );
                None
            }
        },
    };
    Some(RawViewCube {
        span: node.span,
        join_path,
        includes,
        excludes: o.str_list("excludes", diags),
        prefix: o.bool("prefix", diags),
        alias: o.str("alias", diags),
        split: o.bool("split", diags),
    })
}

fn read_include(node: &Node, diags: &mut Vec<Diagnostic>) -> Option<RawInclude> {
    match &node.value {
        Value::Str(s) => Some(RawInclude {
            name: Sp::new(s.clone(), node.span),
            alias: None,
            title: None,
            description: None,
            format: None,
            meta: None,
        }),
        Value::Map(_) => {
            let o = Obj::new(node, "include", INCLUDE_KEYS, diags)?;
            let name = o.require_name(diags)?;
            Some(RawInclude {
                name,
                alias: o.str("alias", diags),
                title: o.str("title", diags),
                description: o.str("description", diags),
                format: o.str("format", diags),
                meta: o.json("meta"),
            })
        }
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("an include must be a member name or `{{name, alias}}`, found {}", node.kind_name()),
                )
                .at(node.span, "unexpected value"),
            );
            None
        }
    }
}

fn read_folder(node: &Node, diags: &mut Vec<Diagnostic>, depth: usize) -> Option<RawFolder> {
    let o = Obj::new(node, "folder", FOLDER_KEYS, diags)?;
    let includes = o
        .list("includes", diags)
        .iter()
        .filter_map(|i| match &i.value {
            Value::Str(s) => Some(RawFolderItem::Member(Sp::new(s.clone(), i.span))),
            Value::Map(_) if depth < 32 => read_folder(i, diags, depth + 1).map(RawFolderItem::Folder),
            _ => {
                diags.push(
                    Diagnostic::error(Code::WrongType, "folder items must be member names or nested folders")
                        .at(i.span, "unexpected value"),
                );
                None
            }
        })
        .collect();
    Some(RawFolder { span: node.span, name: o.require_name(diags), includes })
}
