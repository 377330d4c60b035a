//! `cubec schema`: a JSON Schema (draft 2020-12) of the model file format, for the YAML language
//! server (completion, hover, unknown-key warnings in the editor).
//!
//! The keys of each object come from the loader's own key lists, so the schema accepts exactly
//! the keys `cubec validate` accepts (each also in camelCase, as the loader does); types, enums
//! and descriptions are added here for the keys people write most.

use crate::load::keys::*;
use crate::resolve::{DimensionType, MeasureType};
use serde_json::{json, Map, Value};

const RELATIONSHIPS: &[&str] = &["many_to_one", "one_to_many", "one_to_one", "belongs_to", "has_many", "has_one"];

fn camel(key: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// An enum that also accepts the camelCase spelling of each value.
fn names(values: &[&str]) -> Value {
    let mut all: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    for v in values {
        let c = camel(v);
        if !all.contains(&c) {
            all.push(c);
        }
    }
    json!({ "type": "string", "enum": all })
}

fn text(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn flag(description: &str) -> Value {
    json!({ "type": "boolean", "description": description })
}

fn list_of(items: Value, description: &str) -> Value {
    json!({ "type": "array", "items": items, "description": description })
}

/// An object with exactly `keys` (snake_case and camelCase), typed by `known`, else anything.
fn object(keys: &[&str], required: &[&str], description: &str, known: &[(&str, Value)]) -> Value {
    let mut props = Map::new();
    for k in keys {
        let schema = known.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_else(|| json!({}));
        let c = camel(k);
        if c != *k {
            props.insert(c, schema.clone());
        }
        props.insert(k.to_string(), schema);
    }
    json!({
        "type": "object",
        "description": description,
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

fn name() -> Value {
    json!({
        "type": "string",
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "maxLength": crate::resolve::extends::MAX_NAME_CHARS,
        "description": "An identifier: letters, digits and `_`, not starting with a digit.",
    })
}

fn sql_object() -> Value {
    object(
        FILTER_KEYS,
        &["sql"],
        "A SQL condition.",
        &[("sql", text("SQL; `{CUBE}` is this cube, `{member}` another member."))],
    )
}

/// `access_policy`: the keys `cubec validate` accepts (not `role`, removed in Cube 1.7, nor
/// `member_masking`, which cubec refuses).
fn access_policy_schema() -> Value {
    use crate::resolve::policy::{CONDITION_KEYS, FILTER_KEYS, MEMBER_LEVEL_KEYS, POLICY_KEYS, ROW_LEVEL_KEYS};
    let members = json!({ "oneOf": [{ "const": "*" }, { "type": "array", "items": { "type": "string" } }] });
    let filter = object(
        FILTER_KEYS,
        &[],
        "A REST filter on a member of this cube or view; `and` / `or` hold lists of filters.",
        &[
            ("member", text("A member of this cube or view.")),
            ("operator", text("equals, notEquals, contains, gt, inDateRange, set, ...")),
            (
                "values",
                json!({ "oneOf": [
                    { "type": "array", "description": "Literals and `\"{ securityContext.key }\"` templates." },
                    { "type": "string", "description": "`\"{ securityContext.list }\"`: a list from the context." }
                ] }),
            ),
            ("and", json!({ "type": "array" })),
            ("or", json!({ "type": "array" })),
        ],
    );
    let keys: Vec<&str> = POLICY_KEYS.iter().copied().filter(|k| !matches!(*k, "role" | "member_masking")).collect();
    let policy = object(
        &keys,
        &[],
        "Who may see which members and rows: `group` or `groups`, optional `conditions`, `member_level`, `row_level`.",
        &[
            ("group", text("A group from the security context's `groups`, or `*` for everyone.")),
            ("groups", list_of(json!({ "type": "string" }), "Several groups; `*` for everyone.")),
            (
                "conditions",
                list_of(
                    object(CONDITION_KEYS, &["if"], "A condition.", &[("if", text("`{ securityContext.is_admin }`."))]),
                    "All must be true for the policy to apply.",
                ),
            ),
            (
                "member_level",
                object(
                    MEMBER_LEVEL_KEYS,
                    &[],
                    "Members granted.",
                    &[("includes", members.clone()), ("excludes", members)],
                ),
            ),
            (
                "row_level",
                object(
                    ROW_LEVEL_KEYS,
                    &[],
                    "Rows granted: `filters`, or `allow_all: true`.",
                    &[("filters", list_of(filter, "All must hold.")), ("allow_all", json!({ "const": true }))],
                ),
            ),
        ],
    );
    list_of(policy, "Data access policies.")
}

pub fn model_schema() -> Value {
    let meta = json!({ "type": "object", "description": "Free-form data passed through to /v1/meta." });
    let rolling = object(
        ROLLING_KEYS,
        &[],
        "Aggregate over a window of time instead of the query's own buckets.",
        &[
            ("trailing", text("`7 day`, `1 month`, or `unbounded`: how far back the window reaches.")),
            ("leading", text("How far ahead the window reaches.")),
            ("offset", json!({ "type": "string", "enum": ["start", "end"] })),
            ("type", json!({ "type": "string", "enum": ["fixed", "to_date", "toDate"] })),
            ("granularity", text("For `to_date`: year, quarter, month or week.")),
        ],
    );
    let granularity = object(
        GRANULARITY_KEYS,
        &["name"],
        "A custom granularity of a time dimension.",
        &[
            ("name", name()),
            ("title", text("Shown in tools.")),
            ("interval", text("`N unit [N unit ...]`, e.g. `2 weeks`.")),
            ("offset", text("Shift of each bucket, e.g. `3 months`.")),
            ("origin", text("A timestamp buckets are aligned to.")),
            ("sql", text("SQL computing the bucket start.")),
        ],
    );
    let measure = object(
        MEASURE_KEYS,
        &["name", "type"],
        "An aggregate: a number computed over the cube's rows.",
        &[
            ("name", name()),
            ("type", names(MeasureType::NAMES)),
            ("sql", text("The expression aggregated (for `number`: an expression over other measures).")),
            ("title", text("Shown in tools; defaults to the name in words.")),
            ("description", text("What the measure means.")),
            ("format", json!({ "type": "string", "description": "percent, currency, number, or a d3-format string." })),
            ("meta", meta.clone()),
            ("public", flag("Whether /v1/meta lists it and queries may use it.")),
            ("shown", flag("Old name of `public`.")),
            ("filters", list_of(sql_object(), "Only rows where every condition holds are aggregated.")),
            ("rolling_window", rolling),
            ("drill_members", list_of(json!({ "type": "string" }), "Members to drill into.")),
        ],
    );
    let case = object(CASE_KEYS, &[], "A CASE expression with labels.", &[]);
    let dimension = object(
        DIMENSION_KEYS,
        &["name"],
        "An attribute of a row: grouped by and filtered on.",
        &[
            ("name", name()),
            ("type", names(&DimensionType::NAMES[..])),
            ("sql", text("The expression.")),
            ("case", case),
            ("latitude", sql_object()),
            ("longitude", sql_object()),
            ("primary_key", flag("The cube's key; hidden from /v1/meta unless `public: true`.")),
            ("sub_query", flag("Computed per primary key in its own subquery (e.g. a measure of a joined cube).")),
            ("propagate_filters_to_sub_query", flag("Apply the query's filters inside the sub_query.")),
            ("public", flag("Whether /v1/meta lists it and queries may use it.")),
            ("title", text("Shown in tools.")),
            ("description", text("What the dimension means.")),
            ("format", json!({ "type": "string" })),
            ("meta", meta.clone()),
            ("granularities", list_of(granularity, "Custom granularities of a time dimension.")),
        ],
    );
    let join = object(
        JOIN_KEYS,
        &["name", "relationship", "sql"],
        "A join to another cube.",
        &[
            ("name", text("The cube joined.")),
            ("relationship", names(RELATIONSHIPS)),
            ("sql", text("The ON condition, e.g. `{CUBE}.user_id = {users.id}`.")),
        ],
    );
    let segment = object(
        SEGMENT_KEYS,
        &["name", "sql"],
        "A named filter.",
        &[
            ("name", name()),
            ("sql", text("The condition.")),
            ("title", text("Shown in tools.")),
            ("meta", meta.clone()),
        ],
    );
    let hierarchy = object(
        HIERARCHY_KEYS,
        &["name", "levels"],
        "An ordered list of dimensions to drill through.",
        &[("name", name()), ("levels", list_of(json!({ "type": "string" }), "Dimensions, coarsest first."))],
    );
    let pre_aggregation =
        object(PRE_AGG_KEYS, &["name"], "A rollup (checked, not used by cubec).", &[("name", name())]);
    let refresh_key = object(REFRESH_KEYS, &[], "When cached results expire.", &[]);
    let access_policy = access_policy_schema();
    let cube = object(
        CUBE_KEYS,
        &["name"],
        "A cube: a table or query with measures, dimensions, joins and segments.",
        &[
            ("name", name()),
            ("sql", text("The cube's rows as a SELECT (exactly one of `sql` and `sql_table`).")),
            ("sql_table", text("The cube's table, e.g. `public.orders`.")),
            ("sql_alias", text("A shorter name for aliases in generated SQL.")),
            ("data_source", text("Which database the cube lives in.")),
            ("extends", text("A cube whose members this one inherits.")),
            ("title", text("Shown in tools.")),
            ("description", text("What the cube holds.")),
            ("meta", meta.clone()),
            ("public", flag("Whether /v1/meta lists it.")),
            ("refresh_key", refresh_key),
            ("joins", list_of(join, "Joins to other cubes.")),
            ("measures", list_of(measure.clone(), "Aggregates.")),
            ("dimensions", list_of(dimension.clone(), "Attributes.")),
            ("segments", list_of(segment, "Named filters.")),
            ("pre_aggregations", list_of(pre_aggregation, "Rollups.")),
            ("hierarchies", list_of(hierarchy, "Drill paths.")),
            ("access_policy", access_policy.clone()),
        ],
    );
    let include = json!({
        "oneOf": [
            { "type": "string", "description": "A member name, or a path `cube.member`." },
            object(INCLUDE_KEYS, &["name"], "A member with a new name or title.", &[("name", text("The member."))]),
        ]
    });
    let view_cube = object(
        VIEW_CUBE_KEYS,
        &["join_path"],
        "Members taken from a cube along a join path.",
        &[
            ("join_path", text("`orders` or `orders.users`: where the members come from.")),
            ("includes", json!({ "oneOf": [{ "const": "*" }, { "type": "array", "items": include }] })),
            ("excludes", list_of(json!({ "type": "string" }), "Members left out of `*`.")),
            ("prefix", flag("Prefix member names with the cube's name (or `alias`).")),
            ("alias", text("Prefix to use instead of the cube's name.")),
        ],
    );
    let folder = object(FOLDER_KEYS, &["name"], "A folder of members in tools.", &[("name", text("Shown in tools."))]);
    let view = object(
        VIEW_KEYS,
        &["name"],
        "A view: members of several cubes, as one facade.",
        &[
            ("name", name()),
            ("title", text("Shown in tools.")),
            ("description", text("What the view is for.")),
            ("meta", meta),
            ("public", flag("Whether /v1/meta lists it.")),
            ("cubes", list_of(view_cube, "The cubes and members the view exposes.")),
            ("folders", list_of(folder, "Folders in tools.")),
            ("access_policy", access_policy),
        ],
    );
    let mut top = object(
        TOP_KEYS,
        &[],
        "A Cube model file.",
        &[("cubes", list_of(cube, "Cubes.")), ("views", list_of(view, "Views."))],
    );
    if let Some(o) = top.as_object_mut() {
        o.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        o.insert("$id".into(), json!("https://cubec.dev/schema/model.json"));
        o.insert("title".into(), json!("Cube model file (cubec)"));
    }
    top
}
