//! The tools: their descriptions and input schemas (what an agent reads to choose one), and
//! what each does. Every tool runs as the caller: the catalog is the caller's own `/v1/meta`,
//! queries go through `/v1/load`'s and `/v1/sql`'s code with the caller's security context, so
//! access policies and `public: false` hold for every answer and every error.

use super::catalog;
use super::run::{api_error, Runner};
use super::{number, text_cell, Answer, McpConfig, ToolError};
use crate::server::api::{self, ApiRequest};
use crate::server::AppState;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A tool as `tools/list` shows it.
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

fn query_schema() -> Value {
    json!({
        "type": "object",
        "description": "A Cube query, the JSON /cubejs-api/v1/load takes: measures, dimensions, timeDimensions [{dimension, granularity, dateRange}], filters [{member, operator, values}], segments, order, limit, offset, timezone.",
        "additionalProperties": true
    })
}

/// Every tool, in a fixed order.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "search_members",
            title: "Search the metrics",
            description: "Find measures, dimensions and segments by meaning: ranked fuzzy search over names, titles, descriptions and meta (KPI formulas, stages). Views come first: prefer their members, they are joined safely. Start here, then `describe` what you found. Returns full member names (cube.member) to use in `query`.",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to look for, e.g. \"referral conversion rate\"."},
                    "kind": {"type": "string", "enum": ["any", "measure", "dimension", "segment"], "description": "Only this kind of member (default any)."},
                    "cube": {"type": "string", "description": "Only members of this cube or view."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Most matches returned (default 20)."}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "describe",
            title: "Describe cubes, views or members",
            description: "Describe cubes, views or members by name: each member's type, aggregation, format, description and meta; time dimensions' granularities (day, week, month, ... and custom ones); a cube's segments and the cubes its joins reach. Call with no names to list every cube and view you may query.",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "names": {"type": "array", "items": {"type": "string"}, "maxItems": 20, "description": "Cube, view or member names (cube.member)."}
                },
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "dimension_values",
            title: "Values of a dimension",
            description: "The distinct values of a dimension, most frequent first with their row counts (when its cube has a count measure), optionally only those containing `search`. Use it to write exact filter values. `truncated` says more values exist.",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "dimension": {"type": "string", "description": "A dimension (cube.dimension)."},
                    "search": {"type": "string", "description": "Only values containing this text (case-insensitive)."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Most values returned (default 50)."}
                },
                "required": ["dimension"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "query",
            title: "Run a query",
            description: "Run a Cube query and get its rows: columns (name, title, type, format), rows, row_count and `truncated` when the row cap cut the answer (never sum truncated rows: ask a grouped question instead). Numbers are computed by the semantic layer; do not recompute them. Group time with timeDimensions [{dimension, granularity, dateRange}]. Errors say what to fix.",
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": query_schema(),
                    "max_rows": {"type": "integer", "minimum": 1, "description": "Most rows returned (default and maximum set by the server)."}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "compile",
            title: "Show a query's SQL",
            description: "The SQL a query runs (with its parameters), the cubes it reads and how they are joined, and the pre-aggregation that answers it if any. Nothing is run.",
            input_schema: json!({
                "type": "object",
                "properties": {"query": query_schema()},
                "required": ["query"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "explain_empty",
            title: "Why is this query empty?",
            description: "For a query that returned no rows: which filter, segment or date range empties it, whether the date range lies outside the data, and the nearest existing values for a filter value that matches nothing.",
            input_schema: json!({
                "type": "object",
                "properties": {"query": query_schema()},
                "required": ["query"],
                "additionalProperties": false
            }),
        },
    ]
}

/// The tools, bound to a server state.
pub struct Tools {
    pub run: Runner,
}

fn arg_str<'a>(args: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ToolError::params(format!("`{key}` must be a string, not {other}"))),
    }
}

fn arg_limit(args: &Map<String, Value>, key: &str, default: usize, max: usize) -> Result<usize, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok((n as usize).min(max)),
            _ => Err(ToolError::params(format!("`{key}` must be a whole number from 1, not {v}"))),
        },
    }
}

impl Tools {
    pub fn new(state: Arc<AppState>, config: McpConfig) -> Tools {
        Tools { run: Runner::new(state, config) }
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.run.state
    }

    pub async fn call(&self, name: &str, args: Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
        match name {
            "search_members" => self.search(&args, context),
            "describe" => self.describe(&args, context),
            "dimension_values" => self.dimension_values(&args, context).await,
            "query" => self.query(&args, context).await,
            "compile" => self.compile(&args, context),
            "explain_empty" => super::explain::explain_empty(&self.run, &args, context).await,
            other => Err(ToolError::UnknownTool(other.to_string())),
        }
    }

    fn search(&self, args: &Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
        let q = arg_str(args, "query")?.ok_or_else(|| ToolError::params("`query` is required"))?;
        let kind = arg_str(args, "kind")?;
        if let Some(k) = kind.filter(|k| !["any", "measure", "dimension", "segment"].contains(k)) {
            return Err(ToolError::params(format!("`kind` is any, measure, dimension or segment, not `{k}`")));
        }
        let limit = arg_limit(args, "limit", 20, 100)?;
        let catalog = self.run.catalog(context)?;
        let hits = catalog.search(q, kind, arg_str(args, "cube")?, limit);
        let matches: Vec<Value> = hits.iter().map(|(s, m)| catalog::hit(*s, m)).collect();
        let mut text = String::new();
        for (_, m) in &hits {
            let title = m.entry["title"].as_str().unwrap_or_default();
            let description = m.entry["description"].as_str().unwrap_or_default();
            text.push_str(&format!(
                "{} ({} {}): {title}. {description}\n",
                m.name,
                m.entry["type"].as_str().unwrap_or(""),
                m.kind
            ));
        }
        if hits.is_empty() {
            text = format!(
                "nothing matches `{q}`; try other words, or `describe` with no names to list the cubes and views"
            );
        }
        Ok(Answer { structured: json!({ "matches": matches }), text })
    }

    fn describe(&self, args: &Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
        let names: Vec<String> = match args.get("names") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| ToolError::params("`names` must be strings")))
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(ToolError::params(format!("`names` must be a list of names, not {other}"))),
        };
        if names.len() > 20 {
            return Err(ToolError::params("at most 20 names at once"));
        }
        let catalog = self.run.catalog(context)?;
        if names.is_empty() {
            let cubes: Vec<Value> = catalog.meta["cubes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let mut o = json!({ "name": c["name"], "kind": c["type"], "title": c["title"] });
                    if let Some(d) = c.get("description").filter(|v| !v.is_null()) {
                        o["description"] = d.clone();
                    }
                    o
                })
                .collect();
            let text = cubes
                .iter()
                .map(|c| {
                    format!(
                        "{} ({}): {}",
                        c["name"].as_str().unwrap_or(""),
                        c["kind"].as_str().unwrap_or(""),
                        c["title"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Ok(Answer { structured: json!({ "cubes": cubes }), text });
        }
        let snapshot = self.run.state.models.current();
        let model = &snapshot.checked.model;
        let (mut found, mut unknown) = (Vec::new(), Vec::new());
        for n in &names {
            if let Some(c) = catalog.cube(n) {
                found.push(catalog::describe_cube(&catalog, model, c, self.run.config.member_cap));
            } else if let Some(m) = catalog.member(n) {
                found.push(catalog::describe_member(m));
            } else {
                unknown.push(match catalog.suggest(n) {
                    Some(s) => json!({ "name": n, "did_you_mean": s }),
                    None => json!({ "name": n }),
                });
            }
        }
        if found.is_empty() {
            let list: Vec<String> = unknown
                .iter()
                .map(|u| match u["did_you_mean"].as_str() {
                    Some(s) => format!("`{}` (did you mean `{s}`?)", u["name"].as_str().unwrap_or("")),
                    None => format!("`{}`", u["name"].as_str().unwrap_or("")),
                })
                .collect();
            return Err(ToolError::fixable(format!(
                "no cube, view or member named {}; `search_members` finds them by meaning",
                list.join(", ")
            )));
        }
        let structured = json!({ "items": found, "unknown": unknown });
        let text = serde_json::to_string_pretty(&structured).unwrap_or_default();
        Ok(Answer { structured, text })
    }

    async fn dimension_values(&self, args: &Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
        let name = arg_str(args, "dimension")?.ok_or_else(|| ToolError::params("`dimension` is required"))?;
        let search = arg_str(args, "search")?.filter(|s| !s.is_empty());
        let limit = arg_limit(args, "limit", 50, self.run.config.values_cap)?;
        let catalog = self.run.catalog(context)?;
        let Some(dim) = catalog.member(name).filter(|m| m.kind == "dimension") else {
            let hint = catalog.suggest(name).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            return Err(ToolError::fixable(format!("no dimension named `{name}`{hint}")));
        };
        if search.is_some() && dim.entry["type"] != "string" {
            return Err(ToolError::params(format!(
                "`search` needs a string dimension; `{name}` is {}",
                dim.entry["type"]
            )));
        }
        let count = catalog
            .members
            .iter()
            .find(|m| m.cube == dim.cube && m.kind == "measure" && m.entry["aggType"] == "count")
            .map(|m| m.name.clone());
        let mut q = json!({ "dimensions": [name], "limit": limit + 1 });
        match &count {
            Some(c) => {
                q["measures"] = json!([c]);
                q["order"] = json!([[c, "desc"], [name, "asc"]]);
            }
            None => q["order"] = json!([[name, "asc"]]),
        }
        if let Some(s) = search {
            q["filters"] = json!([{ "member": name, "operator": "contains", "values": [s] }]);
        }
        let answer = self.run.load(q, context).await?;
        let mut values: Vec<Value> = answer["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let mut o = json!({ "value": r[name] });
                if let Some(c) = &count {
                    o["count"] = number(&r[c]);
                }
                o
            })
            .collect();
        let truncated = values.len() > limit;
        values.truncate(limit);
        let text = values
            .iter()
            .map(|v| match v.get("count") {
                Some(c) => format!("{}\t{c}", text_cell(&v["value"])),
                None => text_cell(&v["value"]),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + if truncated { "\n(more values exist: narrow with `search`)" } else { "" };
        Ok(Answer {
            structured: json!({ "dimension": name, "values": values, "truncated": truncated, "counted_by": count }),
            text,
        })
    }

    /// Checks a query against the guardrails and caps its rows; the cap applied.
    fn guarded(&self, args: &Map<String, Value>) -> Result<(Value, usize), ToolError> {
        let Some(Value::Object(q)) = args.get("query") else {
            return Err(ToolError::params("`query` must be a Cube query object (one query, not a list)"));
        };
        if q.get("ungrouped") == Some(&Value::Bool(true)) && !self.run.config.allow_ungrouped {
            return Err(ToolError::fixable(
                "ungrouped queries (raw rows) are turned off for agents on this server; group by dimensions instead",
            ));
        }
        let members: usize = ["measures", "dimensions", "timeDimensions", "segments"]
            .iter()
            .map(|k| q.get(*k).and_then(Value::as_array).map_or(0, Vec::len))
            .sum();
        if members > self.run.config.member_cap {
            return Err(ToolError::fixable(format!(
                "the query names {members} members; at most {} at once",
                self.run.config.member_cap
            )));
        }
        let cap = arg_limit(args, "max_rows", self.run.config.row_cap, self.run.config.row_cap)?;
        let mut q = Value::Object(q.clone());
        let asked = q.get("limit").and_then(Value::as_u64).unwrap_or(u64::MAX);
        q["limit"] = json!(asked.min(cap as u64 + 1));
        Ok((q, cap))
    }

    async fn query(&self, args: &Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
        let (q, cap) = self.guarded(args)?;
        let answer = self.run.load(q, context).await?;
        let catalog = self.run.catalog(context)?;
        let format_of =
            |name: &str| catalog.member(name).and_then(|m| m.entry.get("format")).filter(|f| !f.is_null()).cloned();
        Ok(super::table::answer(&answer, cap, &format_of))
    }

    fn compile(&self, args: &Map<String, Value>, context: &Value) -> Result<Answer, ToolError> {
        let (q, _) = self.guarded(args)?;
        let snapshot = self.run.state.models.current();
        let req =
            ApiRequest { query: q.clone(), multi: false, dialect: None, cache: Default::default(), sql_text: None };
        let body = api::sql(&self.run.state, &snapshot, req, context.clone()).map_err(api_error)?;
        let sql = &body["sql"];
        let model = &snapshot.checked.model;
        let opts = api::options(&self.run.state, context.clone());
        let (_, plan) = crate::plan_for_caller(model, &q, &opts)
            .map_err(|d| ToolError::fixable(crate::diag::messages(&d, "\n")))?;
        let cubes: Vec<&str> = plan.joins.cubes().map(|c| model.cube(c).name.as_str()).collect();
        let joins: Vec<Value> = plan
            .joins
            .steps
            .iter()
            .map(|s| {
                let rel = format!("{:?}", model.cube(s.from).joins[s.join].relationship);
                json!({ "from": model.cube(s.from).name, "to": model.cube(s.to).name, "relationship": rel })
            })
            .collect();
        let pre_aggregations: Vec<Value> =
            sql["preAggregations"].as_array().into_iter().flatten().map(|p| p["preAggregationId"].clone()).collect();
        let structured = json!({
            "sql": sql["sql"][0],
            "params": sql["sql"][1],
            "dialect": self.run.state.pool.dialect_name(),
            "cubes": cubes,
            "joins": joins,
            "pre_aggregations": pre_aggregations,
        });
        let mut text = format!("-- cubes: {}\n", cubes.join(", "));
        for j in &joins {
            text.push_str(&format!(
                "-- join: {} -> {} ({})\n",
                j["from"].as_str().unwrap_or(""),
                j["to"].as_str().unwrap_or(""),
                j["relationship"].as_str().unwrap_or("")
            ));
        }
        if !pre_aggregations.is_empty() {
            text.push_str(&format!("-- answered by the pre-aggregation {}\n", pre_aggregations[0]));
        }
        text.push_str(sql["sql"][0].as_str().unwrap_or_default());
        if let Some(params) = sql["sql"][1].as_array().filter(|p| !p.is_empty()) {
            text.push_str(&format!("\n-- params: {}", Value::Array(params.clone())));
        }
        Ok(Answer { structured, text })
    }
}
