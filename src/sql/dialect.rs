//! The dialect loader: the only place that knows dialects differ. A dialect is a YAML file in
//! `dialects/` (embedded at build time, or read from `--dialects DIR`) holding a few settings and
//! minijinja templates; this module turns it into one `Environment`, built once.

use crate::diag::{Code, Diagnostic, FileId};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The dialect files shipped with cubec.
const BUILTIN: &[(&str, &str)] = &[
    ("base", include_str!("../../dialects/base.yml")),
    ("postgres", include_str!("../../dialects/postgres.yml")),
    ("duckdb", include_str!("../../dialects/duckdb.yml")),
    ("bigquery", include_str!("../../dialects/bigquery.yml")),
    ("snowflake", include_str!("../../dialects/snowflake.yml")),
    ("mysql", include_str!("../../dialects/mysql.yml")),
    ("redshift", include_str!("../../dialects/redshift.yml")),
    ("databricks", include_str!("../../dialects/databricks.yml")),
    ("clickhouse", include_str!("../../dialects/clickhouse.yml")),
];

/// Templates every dialect must define (after `extends`).
pub const REQUIRED_TEMPLATES: &[&str] = &[
    "convert_tz",
    "time_trunc",
    "add_interval",
    "sub_interval",
    "local_timestamp",
    "origin_bucket",
    "timestamp_param",
    "number_param",
    "boolean_param",
    "string_param",
    "count_distinct_approx",
    "rolling_count_distinct_approx",
    "cast_text",
    "null_safe_equals",
    "series_values",
    "series_generated",
    "concat",
    "geo",
    "equals",
    "not_equals",
    "in",
    "not_in",
    "like",
    "like_contains",
    "like_starts",
    "like_ends",
    "is_null",
    "is_not_null",
    "compare",
    "select",
    "table",
    "subquery",
    "total",
    "with",
    "union",
    "rank",
    "seconds_between",
    "add_calendar",
];

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
struct DialectFile {
    name: Option<String>,
    extends: Option<String>,
    sqlparser: Option<String>,
    quote: Option<String>,
    quote_escape: Option<String>,
    param: Option<String>,
    timestamp_precision: Option<u8>,
    literal_escape: Option<String>,
    /// The refresh key of a cube without one (Cube: every 10 s, every 2 min on warehouses).
    default_refresh_key: Option<String>,
    /// Joins need an equality between the two sides (ClickHouse's hash join refuses an ON of
    /// inequalities only).
    join_needs_key: Option<bool>,
    #[serde(default)]
    templates: BTreeMap<String, String>,
}

impl DialectFile {
    /// `self` on top of `parent`.
    fn over(self, parent: &DialectFile) -> DialectFile {
        let mut templates = parent.templates.clone();
        templates.extend(self.templates);
        DialectFile {
            name: self.name.or_else(|| parent.name.clone()),
            extends: None,
            sqlparser: self.sqlparser.or_else(|| parent.sqlparser.clone()),
            quote: self.quote.or_else(|| parent.quote.clone()),
            quote_escape: self.quote_escape.or_else(|| parent.quote_escape.clone()),
            param: self.param.or_else(|| parent.param.clone()),
            timestamp_precision: self.timestamp_precision.or(parent.timestamp_precision),
            default_refresh_key: self.default_refresh_key.or_else(|| parent.default_refresh_key.clone()),
            literal_escape: self.literal_escape.or_else(|| parent.literal_escape.clone()),
            join_needs_key: self.join_needs_key.or(parent.join_needs_key),
            templates,
        }
    }
}

/// One SQL dialect, ready to render.
pub struct Dialect {
    pub name: String,
    /// The sqlparser dialect that must accept this dialect's output.
    pub sqlparser: String,
    pub timestamp_precision: u8,
    /// `$1, $2` (numbered, reusable) rather than positional `?`.
    pub numbered_params: bool,
    /// The refresh-key interval of cubes without a `refresh_key`, in seconds.
    pub default_refresh_seconds: u64,
    /// An inequality-only join gets a constant key on both sides (see `join_needs_key`).
    pub join_needs_key: bool,
    quote: String,
    quote_escape: String,
    backslash_literals: bool,
    env: Environment<'static>,
}

impl std::fmt::Debug for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dialect({})", self.name)
    }
}

impl Dialect {
    /// Renders the template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, Diagnostic> {
        let t = self.env.get_template(name).map_err(|e| template_error(&self.name, name, &e))?;
        t.render(ctx).map_err(|e| template_error(&self.name, name, &e))
    }

    /// Quotes an identifier (aliases; model SQL is inserted as written).
    pub fn ident(&self, s: &str) -> String {
        quote_ident(s, &self.quote, &self.quote_escape)
    }

    /// The one escaping function for string literals (`--inline` and case labels).
    pub fn literal(&self, s: &str) -> String {
        literal(s, self.backslash_literals)
    }

    /// The placeholder of the parameter at 1-based `index`.
    pub fn placeholder(&self, index: usize) -> String {
        self.render("param", minijinja::context! { index => index }).unwrap_or_else(|_| "?".to_string())
    }
}

fn quote_ident(s: &str, quote: &str, escape: &str) -> String {
    let close = quote;
    format!("{quote}{}{close}", s.replace(quote, escape))
}

fn literal(s: &str, backslash: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' if backslash => out.push_str("\\'"),
            '\'' => out.push_str("''"),
            '\\' if backslash => out.push_str("\\\\"),
            '\n' if backslash => out.push_str("\\n"),
            '\r' if backslash => out.push_str("\\r"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn template_error(dialect: &str, name: &str, e: &minijinja::Error) -> Diagnostic {
    Diagnostic::error(Code::DialectTemplate, format!("dialect `{dialect}`, template `{name}`: {e}"))
        .with_help("check the template in the dialect file")
}

fn parse_file(name: &str, text: &str) -> Result<DialectFile, Diagnostic> {
    let node = crate::load::yaml::parse(text, FileId(0)).map_err(|d| {
        Diagnostic::error(
            Code::DialectFile,
            format!("dialect file `{name}`: {}", d.first().map(|d| d.message.as_str()).unwrap_or("invalid YAML")),
        )
    })?;
    serde_json::from_value(node.to_json()).map_err(|e| {
        Diagnostic::error(Code::DialectFile, format!("dialect file `{name}`: {e}"))
            .with_help("see dialects/base.yml for the keys")
    })
}

/// All known dialects by name.
#[derive(Debug, Default, Clone)]
pub struct Dialects {
    map: BTreeMap<String, Arc<Dialect>>,
}

impl Dialects {
    /// The built-in dialects, plus (overriding them) every `*.yml` in `extra`.
    pub fn load(extra: Option<&Path>) -> Result<Dialects, Vec<Diagnostic>> {
        let mut files: BTreeMap<String, DialectFile> = BTreeMap::new();
        let mut diags = Vec::new();
        for (name, text) in BUILTIN {
            match parse_file(name, text) {
                Ok(f) => {
                    files.insert(name.to_string(), f);
                }
                Err(d) => diags.push(d),
            }
        }
        if let Some(dir) = extra {
            let paths = crate::files::Walk::flat(&["yml", "yaml"])
                .files(dir)
                .map_err(|e| vec![Diagnostic::error(Code::DialectFile, format!("dialect directory: {e}"))])?;
            for path in paths {
                let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
                match std::fs::read_to_string(&path).map_err(|e| e.to_string()) {
                    Ok(text) => match parse_file(&path.display().to_string(), &text) {
                        Ok(f) => {
                            files.insert(name, f);
                        }
                        Err(d) => diags.push(d),
                    },
                    Err(e) => diags
                        .push(Diagnostic::error(Code::DialectFile, format!("cannot read `{}`: {e}", path.display()))),
                }
            }
        }
        let mut map = BTreeMap::new();
        for name in files.keys() {
            if name == "base" {
                continue;
            }
            match resolve_extends(name, &files).and_then(|f| build(name, f)) {
                Ok(d) => {
                    map.insert(name.clone(), Arc::new(d));
                }
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() {
            Ok(Dialects { map })
        } else {
            Err(diags)
        }
    }

    /// The built-in dialects only.
    pub fn builtin() -> Dialects {
        Dialects::load(None).unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Result<Arc<Dialect>, Diagnostic> {
        self.map.get(name).cloned().ok_or_else(|| {
            Diagnostic::error(Code::UnknownDialect, format!("unknown dialect `{name}`"))
                .with_help(format!("known dialects: {}", self.names().join(", ")))
        })
    }

    pub fn names(&self) -> Vec<&str> {
        self.map.keys().map(String::as_str).collect()
    }
}

fn resolve_extends(name: &str, files: &BTreeMap<String, DialectFile>) -> Result<DialectFile, Diagnostic> {
    let mut chain = vec![name.to_string()];
    let mut current = files.get(name).cloned().unwrap_or_default();
    while let Some(parent) = current.extends.clone() {
        if chain.contains(&parent) {
            return Err(Diagnostic::error(
                Code::DialectFile,
                format!("dialect `{name}`: `extends` cycle through `{parent}`"),
            ));
        }
        let Some(p) = files.get(&parent) else {
            return Err(Diagnostic::error(
                Code::DialectFile,
                format!("dialect `{name}` extends unknown dialect `{parent}`"),
            ));
        };
        chain.push(parent);
        let grand = p.extends.clone();
        current = DialectFile { extends: grand, ..current.over(p) };
    }
    Ok(current)
}

fn build(name: &str, f: DialectFile) -> Result<Dialect, Diagnostic> {
    let quote = f.quote.unwrap_or_else(|| "\"".to_string());
    let quote_escape = f.quote_escape.unwrap_or_else(|| format!("{quote}{quote}"));
    let backslash = match f.literal_escape.as_deref() {
        None | Some("double") => false,
        Some("backslash") => true,
        Some(other) => {
            return Err(Diagnostic::error(
                Code::DialectFile,
                format!("dialect `{name}`: literal_escape `{other}` is neither `double` nor `backslash`"),
            ))
        }
    };
    let param = f.param.unwrap_or_else(|| "?".to_string());
    let refresh = f.default_refresh_key.as_deref().unwrap_or("10 second");
    let default_refresh_seconds = crate::resolve::interval_seconds(refresh).ok_or_else(|| {
        Diagnostic::error(
            Code::DialectFile,
            format!("dialect `{name}`: default_refresh_key `{refresh}` is not an interval such as `10 second`"),
        )
    })?;
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            out.write_str("NULL")?;
            Ok(())
        } else if value.kind() == minijinja::value::ValueKind::Bool {
            out.write_str(if value.is_true() { "TRUE" } else { "FALSE" })?;
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    let (q, qe) = (quote.clone(), quote_escape.clone());
    env.add_filter("ident", move |s: String| quote_ident(&s, &q, &qe));
    env.add_filter("literal", move |s: String| literal(&s, backslash));
    for (tname, src) in f.templates.iter().chain(std::iter::once((&"param".to_string(), &param))) {
        env.add_template_owned(tname.clone(), src.clone()).map_err(|e| {
            Diagnostic::error(Code::DialectTemplate, format!("dialect `{name}`, template `{tname}`: {e}"))
        })?;
    }
    for required in REQUIRED_TEMPLATES {
        if !f.templates.contains_key(*required) {
            return Err(Diagnostic::error(Code::DialectFile, format!("dialect `{name}` has no template `{required}`"))
                .with_help("add it, or `extends: base` to inherit the default"));
        }
    }
    Ok(Dialect {
        name: f.name.unwrap_or_else(|| name.to_string()),
        sqlparser: f.sqlparser.unwrap_or_else(|| "generic".to_string()),
        timestamp_precision: f.timestamp_precision.unwrap_or(3).clamp(0, 9),
        numbered_params: param.contains("index"),
        default_refresh_seconds,
        join_needs_key: f.join_needs_key.unwrap_or(false),
        quote,
        quote_escape,
        backslash_literals: backslash,
        env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dialects_load() {
        let d = Dialects::load(None).expect("built-in dialects are valid");
        assert_eq!(
            d.names(),
            ["bigquery", "clickhouse", "databricks", "duckdb", "mysql", "postgres", "redshift", "snowflake"]
        );
        let pg = d.get("postgres").unwrap();
        assert_eq!(pg.placeholder(3), "$3");
        assert!(pg.numbered_params);
        assert_eq!(pg.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(pg.literal("it's"), "'it''s'");
        let bq = d.get("bigquery").unwrap();
        assert_eq!(bq.placeholder(3), "?");
        assert_eq!(bq.ident("a`b"), "`a\\`b`");
        assert_eq!(bq.literal("it's \\"), "'it\\'s \\\\'");
        let sf = d.get("snowflake").unwrap();
        assert_eq!(sf.literal("Wid\\_et"), "'Wid\\\\_et'", "Snowflake literals keep backslashes literal");
        assert!(d.get("oracle").is_err());
    }
}
