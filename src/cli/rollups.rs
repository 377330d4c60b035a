//! Pre-aggregations for `cubec sql` and `cubec query`: what the stores hold, read from the
//! embedded store's file (when it exists) and the source's manifest (when there is a source),
//! so both commands compile a query over the rollup `cubec serve` would read.

use cubec::exec::Database;
use cubec::preagg::available::Available;
use cubec::preagg::store::Stores;
use cubec::preagg::Catalog;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug)]
pub(crate) struct RollupFlags {
    /// The embedded pre-aggregation store's folder (`external: true` rollups).
    #[arg(long, default_value = ".cubec/preaggregations", env = "CUBEC_PREAGG_DIR")]
    pub preagg_dir: PathBuf,
    /// The schema of rollup tables (Cube's CUBEJS_PRE_AGGREGATIONS_SCHEMA).
    #[arg(long, default_value = "prod_pre_aggregations", env = "CUBEJS_PRE_AGGREGATIONS_SCHEMA")]
    pub preagg_schema: String,
    /// Never answer from a pre-aggregation: compile for the source tables.
    #[arg(long)]
    pub no_rollups: bool,
}

/// The model's rollups and what is built of them, for one source dialect.
pub(crate) struct RollupView {
    pub catalog: Catalog,
    pub available: Available,
    /// The embedded store, open when its file exists.
    pub embedded: Option<Database>,
}

impl RollupView {
    /// `None` when the flags turn rollups off or the model has none. A store that cannot be
    /// read (another process holds the embedded file) is a warning: the query runs on the source.
    pub fn open(
        model: &cubec::resolve::Model,
        dialects: &cubec::sql::Dialects,
        source_dialect: &str,
        source: Option<&mut Database>,
        flags: &RollupFlags,
    ) -> Option<RollupView> {
        if flags.no_rollups {
            return None;
        }
        let catalog = Catalog::new(model, dialects, source_dialect)?;
        let stores = Stores::new(&catalog, &flags.preagg_schema, &flags.preagg_dir);
        let mut embedded = None;
        if stores.embedded_file.exists() {
            match stores.open_embedded() {
                Ok(db) => embedded = Some(db),
                Err(e) => eprintln!("warning: {e}; queries run on the source"),
            }
        }
        let available = Available::load(&stores, source, embedded.as_mut());
        Some(RollupView { catalog, available, embedded })
    }

    pub fn rollups(&self) -> cubec::Rollups<'_> {
        cubec::Rollups { catalog: &self.catalog, available: &self.available }
    }
}

/// SQL comments saying where a compiled query is answered from and, with `explain`, why each
/// other rollup is not.
pub(crate) fn comments(compiled: &cubec::Compiled, explain: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(u) = &compiled.used {
        let store = if u.external { "the embedded store" } else { "the source database" };
        out.push(format!("-- pre-aggregation: {} ({}, in {store})", u.id, u.tables.join(", ")));
    } else if explain && !compiled.misses.is_empty() {
        out.push("-- pre-aggregation: none; the source answers".to_string());
    }
    if explain {
        for m in &compiled.misses {
            out.push(format!("--   {}: {}", m.rollup, m.reason));
        }
    }
    out
}
