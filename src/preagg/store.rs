//! Where rollups live and how a partition gets there.
//!
//! Two stores, as Cube has two: the source database itself (`external: false`, tables in the
//! pre-aggregations schema, shared by every `cubec serve` replica) and cubec's embedded DuckDB
//! file (`external: true`, filled with rows read from the source). Each holds a manifest,
//! `cubec_preagg_manifest`: for each rollup, structure, time zone, security context and
//! partition, the table that serves it, when and from what it was built, and a lease.
//!
//! A partition is built under a new name, checked (rows present when the source has rows; the
//! rollup's row counts add up to the source's row count for the partition's range), and only
//! then switched in the manifest, in one statement. A build that dies midway leaves the previous
//! table serving; a table that fails its check is dropped and never served. Replaced tables are
//! listed in `cubec_preagg_garbage` and dropped after a grace period, so queries compiled a
//! moment before the switch still find them. Two builders never build one partition at once: a
//! builder takes the partition's lease (a conditional update of its manifest row) first.

use super::build::{self, Partition};
use super::layout::Layout;
use super::Catalog;
use crate::exec::{Cell, Database, ExecError, ResultSet};
use crate::resolve::Model;
use crate::sql::Dialect;
use chrono::{NaiveDateTime, Utc};
use minijinja::context;
use std::sync::Arc;
use std::time::Duration;

pub const MANIFEST: &str = "cubec_preagg_manifest";
pub const GARBAGE: &str = "cubec_preagg_garbage";

/// A store: its schema and the dialect its SQL is written in.
#[derive(Clone)]
pub struct Store {
    /// `true`: cubec's embedded DuckDB; `false`: the source database.
    pub external: bool,
    pub schema: String,
    pub dialect: Arc<Dialect>,
}

/// A manifest row's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryKey {
    pub rollup: String,
    pub structure: String,
    pub timezone: String,
    /// A hash of the security context the rollup was built for (`-` for none).
    pub context: String,
    pub partition: String,
}

/// A manifest row.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: EntryKey,
    pub range: Option<(NaiveDateTime, NaiveDateTime)>,
    /// The table serving the partition; `None` while only leased, never built.
    pub table: Option<String>,
    /// UTC.
    pub built_at: Option<NaiveDateTime>,
    pub rows: i64,
    pub source_rows: i64,
    /// The refresh key's value the partition was built under.
    pub key_value: String,
    /// The build range was the data's own (no `build_range_start`/`_end`), so the partitions
    /// together hold every row the source had then.
    pub covers_all: bool,
    pub lease_owner: Option<String>,
    /// UTC.
    pub lease_until: Option<NaiveDateTime>,
}

pub fn context_hash(context: &serde_json::Value) -> String {
    match context {
        serde_json::Value::Object(o) if o.is_empty() => "-".to_string(),
        other => build::short_hash(&[&other.to_string()]),
    }
}

fn text(c: &Cell) -> Option<String> {
    match c {
        Cell::Null => None,
        other => Some(other.to_text()),
    }
}

fn time(c: &Cell) -> Option<NaiveDateTime> {
    match c {
        Cell::Timestamp(t) => Some(*t),
        Cell::Text(s) => crate::vocab::time::parse_local_datetime(s),
        _ => None,
    }
}

fn int(c: &Cell) -> i64 {
    match c {
        Cell::Int(i) => *i,
        Cell::Float(f) => *f as i64,
        Cell::Decimal(s) | Cell::Text(s) => s.split('.').next().and_then(|x| x.parse().ok()).unwrap_or(0),
        _ => 0,
    }
}

impl Store {
    /// `schema.table`, quoted.
    pub fn table(&self, name: &str) -> String {
        format!("{}.{}", self.dialect.ident(&self.schema), self.dialect.ident(name))
    }

    fn lit(&self, s: &str) -> String {
        self.dialect.literal(s)
    }

    /// A manifest time: fixed-width text, so that text order is time order.
    fn ts(&self, t: NaiveDateTime) -> Result<String, ExecError> {
        Ok(self.lit(&crate::vocab::time::format_local(t)))
    }

    fn opt_ts(&self, t: Option<NaiveDateTime>) -> Result<String, ExecError> {
        match t {
            Some(t) => self.ts(t),
            None => Ok("NULL".into()),
        }
    }

    fn tpl(&self, name: &str, ctx: minijinja::Value) -> Result<String, ExecError> {
        self.dialect.render(name, ctx).map_err(|d| ExecError(d.message))
    }

    /// The schema, the manifest and the garbage list, if missing.
    pub fn ensure(&self, db: &mut Database) -> Result<(), ExecError> {
        // A dialect without a manifest table cannot keep one (no conditional UPDATE to take a
        // lease with): rollups there live in cubec's embedded store.
        let manifest = self.tpl("preagg_manifest_table", context! { table => self.table(MANIFEST) })?;
        if manifest.trim().is_empty() {
            return Err(ExecError(format!(
                "pre-aggregations cannot be stored in a {} database: its tables have no UPDATE to keep cubec's \
                 manifest and leases with; give the rollups `external: true` (cubec's embedded store)",
                self.dialect.name
            )));
        }
        let session = self.tpl("session_schema", context! {})?;
        let before = if session.trim().is_empty() { None } else { db.run_sql(&session, &[])?.rows.into_iter().next() };
        db.execute_batch(&self.tpl("create_schema", context! { schema => self.dialect.ident(&self.schema) })?)?;
        if let Some(row) = before {
            if let (Some(database), Some(schema)) = (row.first().and_then(text), row.get(1).and_then(text)) {
                db.execute_batch(
                    &self.tpl("restore_session_schema", context! { database => database, schema => schema })?,
                )?;
            }
        }
        db.execute_batch(&manifest)?;
        db.execute_batch(&self.tpl("preagg_garbage_table", context! { table => self.table(GARBAGE) })?)?;
        Ok(())
    }

    fn key_condition(&self, k: &EntryKey) -> String {
        format!(
            "rollup_id = {} AND structure_hash = {} AND time_zone = {} AND context_hash = {} AND partition_key = {}",
            self.lit(&k.rollup),
            self.lit(&k.structure),
            self.lit(&k.timezone),
            self.lit(&k.context),
            self.lit(&k.partition)
        )
    }

    /// Every manifest row. Where a warehouse without enforced keys got a key twice (two
    /// builders inserting at once), the last built wins.
    pub fn manifest(&self, db: &mut Database) -> Result<Vec<Entry>, ExecError> {
        let rs = db.run_sql(
            &format!(
                "SELECT rollup_id, structure_hash, time_zone, context_hash, partition_key, range_from, range_to, table_name, built_at, \
                 row_count, source_rows, key_value, covers_all, lease_owner, lease_until FROM {}",
                self.table(MANIFEST)
            ),
            &[],
        )?;
        let mut out: Vec<Entry> = Vec::new();
        for r in rs.rows {
            let key = EntryKey {
                rollup: text(&r[0]).unwrap_or_default(),
                structure: text(&r[1]).unwrap_or_default(),
                timezone: text(&r[2]).unwrap_or_default(),
                context: text(&r[3]).unwrap_or_default(),
                partition: text(&r[4]).unwrap_or_default(),
            };
            let entry = Entry {
                range: time(&r[5]).zip(time(&r[6])),
                table: text(&r[7]),
                built_at: time(&r[8]),
                rows: int(&r[9]),
                source_rows: int(&r[10]),
                key_value: text(&r[11]).unwrap_or_default(),
                covers_all: matches!(r[12], Cell::Bool(true)),
                lease_owner: text(&r[13]),
                lease_until: time(&r[14]),
                key,
            };
            match out.iter_mut().find(|e| e.key == entry.key) {
                Some(e) if e.built_at < entry.built_at => *e = entry,
                Some(_) => {}
                None => out.push(entry),
            }
        }
        Ok(out)
    }

    /// Takes the lease of a partition for `lease` (creating its manifest row if new): `false`
    /// when another builder holds it.
    pub fn acquire(&self, db: &mut Database, k: &EntryKey, owner: &str, lease: Duration) -> Result<bool, ExecError> {
        let cond = self.key_condition(k);
        let m = self.table(MANIFEST);
        let insert = format!(
            "INSERT INTO {m} (rollup_id, structure_hash, time_zone, context_hash, partition_key, row_count, source_rows, key_value, covers_all) \
             SELECT {}, {}, {}, {}, {}, 0, 0, '', FALSE WHERE NOT EXISTS (SELECT 1 FROM {m} WHERE {cond})",
            self.lit(&k.rollup),
            self.lit(&k.structure),
            self.lit(&k.timezone),
            self.lit(&k.context),
            self.lit(&k.partition)
        );
        // Two builders inserting at once: one wins the key, the other's insert fails; both go on
        // to the conditional update, which only one passes.
        let _ = db.execute_batch(&insert);
        let now = Utc::now().naive_utc();
        let until = now + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::minutes(10));
        db.execute_batch(&format!(
            "UPDATE {m} SET lease_owner = {}, lease_until = {} WHERE {cond} AND (lease_owner IS NULL OR lease_until IS NULL \
             OR lease_until < {} OR lease_owner = {})",
            self.lit(owner),
            self.ts(until)?,
            self.ts(now)?,
            self.lit(owner)
        ))?;
        let rs = db.run_sql(&format!("SELECT lease_owner FROM {m} WHERE {cond}"), &[])?;
        Ok(rs.rows.iter().any(|r| text(&r[0]).as_deref() == Some(owner)))
    }

    /// Gives the lease back without a new table (a failed build).
    pub fn release(&self, db: &mut Database, k: &EntryKey, owner: &str) -> Result<(), ExecError> {
        db.execute_batch(&format!(
            "UPDATE {} SET lease_owner = NULL, lease_until = NULL WHERE {} AND lease_owner = {}",
            self.table(MANIFEST),
            self.key_condition(k),
            self.lit(owner)
        ))
    }

    /// Puts a checked table in service in one statement (while `owner` holds the lease), and
    /// lists the table it replaces for dropping later.
    pub fn switch(&self, db: &mut Database, e: &Entry, old: Option<&str>, owner: &str) -> Result<(), ExecError> {
        let (from, to) = (e.range.map(|r| r.0), e.range.map(|r| r.1));
        db.execute_batch(&format!(
            "UPDATE {} SET table_name = {}, range_from = {}, range_to = {}, built_at = {}, row_count = {}, source_rows = {}, \
             key_value = {}, covers_all = {}, lease_owner = NULL, lease_until = NULL WHERE {} AND lease_owner = {}",
            self.table(MANIFEST),
            self.lit(e.table.as_deref().unwrap_or_default()),
            self.opt_ts(from)?,
            self.opt_ts(to)?,
            self.opt_ts(e.built_at)?,
            e.rows,
            e.source_rows,
            self.lit(&e.key_value),
            if e.covers_all { "TRUE" } else { "FALSE" },
            self.key_condition(&e.key),
            self.lit(owner)
        ))?;
        if let Some(old) = old {
            self.discard(db, old)?;
        }
        Ok(())
    }

    /// Lists a table for dropping after the grace period.
    pub fn discard(&self, db: &mut Database, table: &str) -> Result<(), ExecError> {
        db.execute_batch(&format!(
            "INSERT INTO {} (table_name, discarded_at) VALUES ({}, {})",
            self.table(GARBAGE),
            self.lit(table),
            self.ts(Utc::now().naive_utc())?
        ))
    }

    /// Drops the tables discarded more than `grace` ago, and (with `forget`) the manifest rows
    /// of rollups and structures that are no longer in the model, listing their tables first.
    /// Returns the tables dropped.
    pub fn gc(
        &self,
        db: &mut Database,
        grace: Duration,
        live: &dyn Fn(&EntryKey) -> bool,
    ) -> Result<Vec<String>, ExecError> {
        for e in self.manifest(db)? {
            if !live(&e.key) {
                if let Some(t) = &e.table {
                    self.discard(db, t)?;
                }
                db.execute_batch(&format!(
                    "DELETE FROM {} WHERE {}",
                    self.table(MANIFEST),
                    self.key_condition(&e.key)
                ))?;
            }
        }
        let cutoff =
            Utc::now().naive_utc() - chrono::Duration::from_std(grace).unwrap_or_else(|_| chrono::Duration::zero());
        let rs = db.run_sql(
            &format!("SELECT table_name FROM {} WHERE discarded_at < {}", self.table(GARBAGE), self.ts(cutoff)?),
            &[],
        )?;
        let mut dropped = Vec::new();
        for r in rs.rows {
            let Some(t) = text(&r[0]) else { continue };
            db.execute_batch(&self.tpl("drop_table", context! { table => self.table(&t) })?)?;
            db.execute_batch(&format!("DELETE FROM {} WHERE table_name = {}", self.table(GARBAGE), self.lit(&t)))?;
            dropped.push(t);
        }
        Ok(dropped)
    }
}

/// What one partition build did.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub table: String,
    pub rows: i64,
    pub source_rows: i64,
    pub millis: u128,
}

/// The connections a build uses: the source, and the embedded store when the rollup lives
/// there.
pub struct Connections<'a> {
    pub source: &'a mut Database,
    pub embedded: Option<&'a mut Database>,
}

/// Everything a partition build needs to know.
pub struct Job<'a> {
    pub catalog: &'a Catalog,
    pub model: &'a Model,
    pub layout: usize,
    pub timezone: &'a str,
    pub context: &'a serde_json::Value,
    pub partition: &'a Partition,
    pub structure: &'a str,
    pub key_value: &'a str,
    pub covers_all: bool,
    pub owner: &'a str,
    pub lease: Duration,
    /// Build even when the partition is already built under the same key value (`--force`).
    pub force: bool,
}

impl Job<'_> {
    /// The manifest row of the partition this job builds.
    pub fn key(&self) -> EntryKey {
        EntryKey {
            rollup: self.catalog.layouts[self.layout].id.clone(),
            structure: self.structure.to_string(),
            timezone: self.timezone.to_string(),
            context: self.catalog.context_key(self.layout, self.timezone, self.context),
            partition: self.partition.key.clone(),
        }
    }
}

/// Builds one partition: lease, new table, check, switch. `Ok(None)` when another builder
/// holds the lease.
pub fn build_partition(store: &Store, conns: &mut Connections, job: &Job) -> Result<Option<Built>, ExecError> {
    let started = std::time::Instant::now();
    let layout: &Layout = &job.catalog.layouts[job.layout];
    let key = job.key();
    let store_db: &mut Database = match &mut conns.embedded {
        Some(e) => e,
        None => conns.source,
    };
    if !store.acquire(store_db, &key, job.owner, job.lease)? {
        return Ok(None);
    }
    // Another builder may have built it between our look at the manifest and the lease.
    if !job.force {
        let current = store.manifest(store_db)?.into_iter().find(|e| e.key == key);
        if current.is_some_and(|e| e.table.is_some_and(|t| !t.is_empty()) && e.key_value == job.key_value) {
            store.release(store_db, &key, job.owner)?;
            return Ok(None);
        }
    }
    let outcome = fill_and_check(store, conns, job, layout, &key);
    let store_db: &mut Database = match &mut conns.embedded {
        Some(e) => e,
        None => conns.source,
    };
    match outcome {
        Ok((table, rows, source_rows)) => {
            let old = store.manifest(store_db)?.into_iter().find(|e| e.key == key).and_then(|e| e.table);
            let entry = Entry {
                key,
                range: job.partition.range,
                table: Some(table.clone()),
                built_at: Some(Utc::now().naive_utc()),
                rows,
                source_rows,
                key_value: job.key_value.to_string(),
                covers_all: job.covers_all,
                lease_owner: None,
                lease_until: None,
            };
            store.switch(store_db, &entry, old.as_deref().filter(|o| *o != table), job.owner)?;
            Ok(Some(Built { table, rows, source_rows, millis: started.elapsed().as_millis() }))
        }
        Err(e) => {
            let _ = store.release(store_db, &key, job.owner);
            Err(e)
        }
    }
}

/// Creates the new table and checks it; on a failed check the table is dropped.
fn fill_and_check(
    store: &Store,
    conns: &mut Connections,
    job: &Job,
    layout: &Layout,
    key: &EntryKey,
) -> Result<(String, i64, i64), ExecError> {
    let catalog = job.catalog;
    let name = build::table_name(layout, job.model, &key.partition, job.structure, &build::build_id(Utc::now()));
    let qualified = store.table(&name);
    let json = build::build_query(&catalog.building, layout, job.timezone, job.partition.range);
    let compile_err = |d: Vec<crate::diag::Diagnostic>| ExecError(crate::diag::messages(&d, "; "));
    let source_dialect = &catalog.source_dialect;
    match &mut conns.embedded {
        None => {
            let sql =
                build::compile(&catalog.building, &json, source_dialect, job.context, true).map_err(compile_err)?;
            conns.source.execute_batch(
                &store.tpl("create_table_as", context! { table => qualified.clone(), sql => sql.sql })?,
            )?;
        }
        Some(embedded) => {
            let sql =
                build::compile(&catalog.building, &json, source_dialect, job.context, false).map_err(compile_err)?;
            let rows = conns.source.run(&sql)?;
            embedded.create_table_with_rows(&store.schema, &name, &rows, &samples(catalog, layout, &rows.columns))?;
        }
    }
    let checked = check(store, conns, job, layout, key, &qualified);
    if checked.is_err() {
        let store_db: &mut Database = match &mut conns.embedded {
            Some(e) => e,
            None => conns.source,
        };
        let _ = store_db.execute_batch(&store.tpl("drop_table", context! { table => qualified })?);
    }
    checked.map(|(rows, source_rows)| (name, rows, source_rows))
}

/// The new table's rows (and their row counts' sum) against the source's row count for the
/// partition: every source row is in exactly one stored group.
fn check(
    store: &Store,
    conns: &mut Connections,
    job: &Job,
    layout: &Layout,
    key: &EntryKey,
    qualified: &str,
) -> Result<(i64, i64), ExecError> {
    let catalog = job.catalog;
    let stored = {
        let store_db: &mut Database = match &mut conns.embedded {
            Some(e) => e,
            None => conns.source,
        };
        store_db.run_sql(
            &format!("SELECT count(*), sum({}) FROM {qualified}", store.dialect.ident(&layout.rows_column)),
            &[],
        )?
    };
    let stored_rows = stored.rows.first().map(|r| int(&r[0])).unwrap_or(0);
    let stored_sum = stored.rows.first().map(|r| int(&r[1])).unwrap_or(0);
    let count_json = build::source_rows_query(&catalog.building, layout, job.timezone, job.partition.range);
    let count = build::compile(&catalog.building, &count_json, &catalog.source_dialect, job.context, false)
        .map_err(|d| ExecError(crate::diag::messages(&d, "; ")))?;
    let source: ResultSet = conns.source.run(&count)?;
    let source_rows = source.rows.first().and_then(|r| r.first()).map(int).unwrap_or(0);
    if source_rows > 0 && stored_rows == 0 {
        return Err(ExecError(format!(
            "the source has {source_rows} rows in partition {} and the new table none: not switched in",
            key.partition
        )));
    }
    if stored_sum != source_rows {
        return Err(ExecError(format!(
            "partition {}: the new table's row counts add up to {stored_sum}, the source has {source_rows}: not switched in",
            key.partition
        )));
    }
    Ok((stored_rows, source_rows))
}

/// A cell of the type each stored column holds, for typing the columns of an empty partition.
fn samples(catalog: &Catalog, layout: &Layout, columns: &[String]) -> Vec<Cell> {
    use super::layout::Grain;
    use crate::resolve::DimensionType;
    columns
        .iter()
        .map(|c| match layout.grain.iter().find(|g| g.column() == c) {
            Some(Grain::Time { .. }) => Cell::Timestamp(NaiveDateTime::default()),
            Some(Grain::Segment { .. }) => Cell::Bool(false),
            Some(Grain::Dimension { source: (cube, d), .. }) => match catalog.building.cube(*cube).dimensions[*d].type_
            {
                DimensionType::Number => Cell::Float(0.0),
                DimensionType::Boolean => Cell::Bool(false),
                DimensionType::Time => Cell::Timestamp(NaiveDateTime::default()),
                _ => Cell::Text(String::new()),
            },
            None if *c == layout.rows_column => Cell::Int(0),
            None => Cell::Float(0.0),
        })
        .collect()
}

/// The two stores of a deployment, and where the embedded one's file is.
#[derive(Clone)]
pub struct Stores {
    pub source: Store,
    pub embedded: Store,
    /// The embedded store's DuckDB file.
    pub embedded_file: std::path::PathBuf,
}

impl Stores {
    pub fn new(catalog: &Catalog, schema: &str, dir: &std::path::Path) -> Stores {
        Stores {
            source: Store { external: false, schema: schema.to_string(), dialect: Arc::clone(&catalog.source_dialect) },
            embedded: Store {
                external: true,
                schema: schema.to_string(),
                dialect: Arc::clone(&catalog.embedded_dialect),
            },
            embedded_file: dir.join("preaggregations.duckdb"),
        }
    }

    pub fn of(&self, external: bool) -> &Store {
        if external {
            &self.embedded
        } else {
            &self.source
        }
    }

    /// Opens (creating it and its folder if new) the embedded store's database.
    pub fn open_embedded(&self) -> Result<Database, ExecError> {
        if let Some(dir) = self.embedded_file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ExecError(format!("cannot create the pre-aggregation folder `{}`: {e}", dir.display())))?;
        }
        Database::open(Some(&format!("duckdb:{}", self.embedded_file.display())), std::path::Path::new(".")).map_err(
            |e| ExecError(format!("the embedded pre-aggregation store `{}`: {}", self.embedded_file.display(), e.0)),
        )
    }
}
