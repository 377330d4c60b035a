//! `cubec sql` and `cubec query`: compile a query (or a list) and print the SQL, or run it.

use super::common::*;
use super::rollups::{comments, RollupFlags, RollupView};
use crate::{RowsFormat, SqlFormat};
use std::path::PathBuf;
use std::process::ExitCode;

/// How `cubec sql` prints.
pub(crate) struct SqlOutput {
    pub format: SqlFormat,
    pub inline: bool,
    /// List each rollup that does not answer and why.
    pub explain: bool,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn sql(
    query: &str,
    dialect: &str,
    model: Option<PathBuf>,
    output: SqlOutput,
    dialects: Option<&std::path::Path>,
    opts: &cubec::query::QueryOptions,
    db: Option<String>,
    rollup_flags: &RollupFlags,
) -> ExitCode {
    let SqlOutput { format, inline, explain } = output;
    let Prepared { query, dialects, checked, dir } = match prepare(query, model, dialects) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // A source only to read its manifest of built rollups (`--db`); nothing runs there.
    let mut source = match db.map(|url| cubec::exec::Database::open(Some(&url), &dir)).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let chosen = match choose_dialects(&dialects, Some(dialect)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let render_opts = cubec::sql::RenderOptions { inline };
    let (queries, many) = match query_list(&query) {
        Ok(q) => q,
        Err(code) => return code,
    };
    let several = chosen.len() > 1;
    let mut json_out = Vec::new();
    for dialect in &chosen {
        let source_here = source.as_mut().filter(|s| s.dialect_name() == dialect.name);
        let view = RollupView::open(&checked.model, &dialects, &dialect.name, source_here, rollup_flags);
        let rollups = view.as_ref().map(RollupView::rollups);
        let mut results = Vec::new();
        for (i, (q, _)) in queries.iter().enumerate() {
            match cubec::compile_routed(&checked.model, q, dialect, opts, render_opts, rollups.as_ref()) {
                Ok(c) => results.push(c),
                Err(diags) => {
                    if many {
                        eprintln!("query {i}:");
                    }
                    report(&diags, &checked.sources);
                    return ExitCode::from(1);
                }
            }
        }
        match format {
            SqlFormat::Json => {
                let mut bodies: Vec<serde_json::Value> = results.iter().map(json_body).collect();
                let v = if many { serde_json::Value::Array(bodies) } else { bodies.swap_remove(0) };
                json_out.push((dialect.name.clone(), v));
            }
            SqlFormat::Sql => print_sql(&results, &dialect.name, many, several, inline, explain),
        }
    }
    if format == SqlFormat::Json {
        let v = if several {
            serde_json::Value::Object(json_out.into_iter().collect())
        } else {
            json_out.pop().map(|(_, v)| v).unwrap_or_default()
        };
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    ExitCode::SUCCESS
}

/// `--format json`: the compiled SQL and, when a rollup answers, `usedPreAggregation`.
fn json_body(c: &cubec::Compiled) -> serde_json::Value {
    let mut v = serde_json::to_value(&c.sql).unwrap_or_default();
    if let (Some(u), Some(o)) = (&c.used, v.as_object_mut()) {
        o.insert(
            "usedPreAggregation".into(),
            serde_json::json!({ "preAggregationId": u.id, "tables": u.tables, "external": u.external }),
        );
    }
    v
}

fn print_sql(results: &[cubec::Compiled], dialect: &str, many: bool, several: bool, inline: bool, explain: bool) {
    if several {
        println!("-- dialect: {dialect}");
    }
    for (i, routed) in results.iter().enumerate() {
        let c = &routed.sql;
        if many {
            println!("-- query {i}");
        }
        for line in comments(routed, explain) {
            println!("{line}");
        }
        println!("{};", c.sql);
        if !inline {
            println!("-- params: {}", serde_json::to_string(&c.params).unwrap_or_default());
        }
        if let Some(t) = &c.total {
            println!("-- total rows:\n{};", t.sql);
            if !inline {
                println!("-- params: {}", serde_json::to_string(&t.params).unwrap_or_default());
            }
        }
        for w in &c.warnings {
            println!("-- warning: {w}");
        }
        println!();
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn run_query(
    query: &str,
    model: Option<PathBuf>,
    db: Option<String>,
    format: RowsFormat,
    explain: bool,
    inline: bool,
    dialects: Option<&std::path::Path>,
    opts: &cubec::query::QueryOptions,
    rollup_flags: &RollupFlags,
) -> ExitCode {
    let Prepared { query, dialects, dir, checked } = match prepare(query, model, dialects) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (queries, many) = match query_list(&query) {
        Ok(q) => q,
        Err(code) => return code,
    };
    let url = db.or_else(|| std::env::var("CUBEC_DB_URL").ok().filter(|u| !u.is_empty()));
    let mut database = match cubec::exec::Database::open(url.as_deref(), &dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let dialect = match dialects.get(database.dialect_name()) {
        Ok(d) => d,
        Err(d) => {
            report(&[d], &cubec::diag::SourceMap::default());
            return ExitCode::from(1);
        }
    };
    let mut view = RollupView::open(&checked.model, &dialects, &dialect.name, Some(&mut database), rollup_flags);
    let rollups = view.as_ref().map(RollupView::rollups);
    // Every query compiles before any runs: a bad one in a list costs no database time.
    let mut compiled = Vec::with_capacity(queries.len());
    for (i, (q, _)) in queries.iter().enumerate() {
        let render = cubec::sql::RenderOptions { inline };
        match cubec::compile_routed(&checked.model, q, &dialect, opts, render, rollups.as_ref()) {
            Ok(c) => compiled.push(c),
            Err(diags) => {
                if many {
                    eprintln!("query {i}:");
                }
                report(&diags, &checked.sources);
                return ExitCode::from(1);
            }
        }
    }
    let mut bodies = Vec::with_capacity(compiled.len());
    for (i, ((q, compared), routed)) in queries.iter().zip(&compiled).enumerate() {
        let c = &routed.sql;
        if explain {
            for line in comments(routed, true) {
                println!("{line}");
            }
            println!("{};\n-- params: {}\n", c.sql, serde_json::to_string(&c.params).unwrap_or_default());
        }
        let spinner = Spinner::start();
        // A rollup in the embedded store is read there; everything else on the source.
        let on = match (c.runs_on, view.as_mut().and_then(|v| v.embedded.as_mut())) {
            (cubec::sql::RunsOn::Embedded, Some(store)) => store,
            _ => &mut database,
        };
        let outcome = on.run(c);
        drop(spinner);
        let result = match outcome {
            Ok(r) => r,
            Err(e) => {
                let which = if many { format!(" (query {i})") } else { String::new() };
                eprintln!("error: the query failed on {}{which}: {e}", database.dialect_name());
                return ExitCode::from(1);
            }
        };
        let mut rows = cubec::exec::shape::cube_rows(&result, c);
        // A part of a `compareDateRange` query: its rows say which range they belong to.
        if *compared {
            match cubec::query::compare::label(&checked.model, q, opts) {
                Ok(label) => rows.iter_mut().for_each(|r| {
                    r.insert("compareDateRange".into(), serde_json::json!(label));
                }),
                Err(diags) => {
                    report(&diags, &checked.sources);
                    return ExitCode::from(1);
                }
            }
        }
        match format {
            RowsFormat::Json => bodies.push(serde_json::json!({
                "query": q,
                "data": rows,
                "annotation": cubec::exec::shape::annotation(&checked.model, c),
            })),
            RowsFormat::Csv => print!("{}", cubec::exec::shape::to_csv(&rows)),
            RowsFormat::Table => print!("{}", super::table::render(&rows)),
        }
    }
    if format == RowsFormat::Json {
        let out = if many { serde_json::Value::Array(bodies) } else { bodies.pop().unwrap_or_default() };
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    ExitCode::SUCCESS
}
