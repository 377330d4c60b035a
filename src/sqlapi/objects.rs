//! A session's own objects: cursors (`DECLARE`, `FETCH`, `MOVE`, `CLOSE`) and temporary tables
//! (`CREATE TEMPORARY TABLE ... AS SELECT`, `SELECT ... INTO TEMP`, `DROP TABLE`). A temporary
//! table holds a statement's rows in the session's DuckDB, where later statements read it by
//! post-processing; it is never written to the data source.

use super::cursors::{self, is_move, Cursor};
use super::engine::{Engine, Outcome, Session};
use super::error::{SqlError, SqlResult};
use super::schema::ResultTable;
use sqlparser::ast::{CloseCursor, Declare, FetchDirection, Ident, ObjectName, Query};

impl Engine {
    pub(super) async fn declare(&self, session: &mut Session, stmts: Vec<Declare>) -> SqlResult<Outcome> {
        for d in stmts {
            let Some(query) = d.for_query else {
                return Err(SqlError::unsupported("DECLARE of a variable: only cursors (DECLARE name CURSOR FOR ...)"));
            };
            let hold = d.hold.unwrap_or(false);
            if !hold && !session.in_transaction() {
                return Err(SqlError::new("25P01", "DECLARE CURSOR can only be used in transaction blocks"));
            }
            let rows = self.query(session, *query).await?;
            for name in d.names {
                let cursor = Cursor::new(name.value, rows.clone(), hold, session.in_transaction());
                session.cursors.declare(cursor)?;
            }
        }
        Ok(Outcome::Command("DECLARE CURSOR".into()))
    }

    pub(super) fn fetch(
        &self,
        session: &mut Session,
        name: &Ident,
        direction: &FetchDirection,
        into: &Option<ObjectName>,
    ) -> SqlResult<Outcome> {
        let step = cursors::step(direction)?;
        let rows = session.cursors.get(&name.value)?.fetch(step);
        if is_move(into) {
            return Ok(Outcome::Command(format!("MOVE {}", rows.rows.len())));
        }
        if into.is_some() {
            return Err(SqlError::unsupported("FETCH ... INTO"));
        }
        Ok(Outcome::Fetched(rows))
    }

    pub(super) fn close(&self, session: &mut Session, cursor: CloseCursor) -> SqlResult<Outcome> {
        match cursor {
            CloseCursor::All => session.cursors.close(None)?,
            CloseCursor::Specific { name } => session.cursors.close(Some(&name.value))?,
        }
        Ok(Outcome::Command("CLOSE CURSOR".into()))
    }

    /// `CREATE TEMPORARY TABLE name AS query` and `SELECT ... INTO TEMP name`: the rows go into
    /// the session's DuckDB under `name`. The tag is PostgreSQL's `SELECT n`.
    pub(super) async fn create_temp(
        &self,
        session: &mut Session,
        name: &ObjectName,
        query: Query,
    ) -> SqlResult<Outcome> {
        let name = temp_name(name)?;
        if session.temp_table(&name).is_some() {
            return Err(SqlError::new("42P07", format!("relation \"{name}\" already exists")));
        }
        let rows = self.query(session, query).await?;
        let n = rows.rows.len();
        self.load_temp(session, &name, &rows)?;
        session.temp_tables.push((name, rows));
        Ok(Outcome::Command(format!("SELECT {n}")))
    }

    /// `DROP TABLE` of the session's temporary tables (nothing else may be dropped).
    pub(super) fn drop_temp(&self, session: &mut Session, names: &[ObjectName], if_exists: bool) -> SqlResult<Outcome> {
        for n in names {
            let name = temp_name(n)?;
            if session.temp_table(&name).is_none() {
                if if_exists {
                    continue;
                }
                return Err(SqlError::new("42P01", format!("table \"{name}\" does not exist")));
            }
            session.temp_tables.retain(|(t, _)| *t != name);
            if let Some((db, _)) = &session.catalog_db() {
                let _ = db.execute_batch(&format!("DROP TABLE IF EXISTS \"{}\"", name.replace('"', "\"\"")));
            }
        }
        Ok(Outcome::Command("DROP TABLE".into()))
    }

    /// Loads a temporary table's rows into the session's DuckDB.
    pub(super) fn load_temp(&self, session: &mut Session, name: &str, rows: &ResultTable) -> SqlResult<()> {
        let (db, _) = self.catalog(session)?;
        db.execute_batch(&super::postprocess::load_rows_sql(name, rows))
            .map_err(|e| SqlError::internal(format!("storing temporary table \"{name}\": {e}")))
    }
}

/// A temporary table's name: one part, or `pg_temp.name`.
fn temp_name(name: &ObjectName) -> SqlResult<String> {
    let parts = super::scope::ident_parts(name);
    match parts.as_slice() {
        [n] => Ok(n.clone()),
        [s, n] if s.eq_ignore_ascii_case("pg_temp") => Ok(n.clone()),
        _ => Err(SqlError::unsupported(format!("temporary table name \"{name}\": give one name"))),
    }
}
