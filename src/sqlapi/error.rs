//! Errors of the SQL API as PostgreSQL reports them: a SQLSTATE and a message. They are values
//! until the wire layer turns them into ErrorResponse messages (severity ERROR: the connection
//! stays usable).

#[derive(Debug, Clone, PartialEq)]
pub struct SqlError {
    pub code: &'static str,
    pub message: String,
}

pub type SqlResult<T> = Result<T, SqlError>;

impl SqlError {
    pub fn new(code: &'static str, message: impl Into<String>) -> SqlError {
        SqlError { code, message: message.into() }
    }

    /// 42601: the statement does not parse.
    pub fn syntax(message: impl Into<String>) -> SqlError {
        SqlError::new("42601", message)
    }

    /// 0A000: valid SQL that cubec does not rewrite or run; the message names the construct.
    pub fn unsupported(message: impl Into<String>) -> SqlError {
        SqlError::new("0A000", message)
    }

    /// 42P01: no such table.
    pub fn no_table(name: &str) -> SqlError {
        SqlError::new("42P01", format!("relation \"{name}\" does not exist"))
    }

    /// 42703: no such column.
    pub fn no_column(name: &str, table: &str) -> SqlError {
        SqlError::new("42703", format!("column \"{name}\" does not exist in \"{table}\""))
    }

    /// 42803: grouping errors (a measure aggregated the wrong way, a column neither grouped
    /// nor aggregated).
    pub fn grouping(message: impl Into<String>) -> SqlError {
        SqlError::new("42803", message)
    }

    /// 22023: a value of the wrong form (a date that does not parse, a bad LIMIT).
    pub fn bad_value(message: impl Into<String>) -> SqlError {
        SqlError::new("22023", message)
    }

    /// XX000: a fault of cubec itself.
    pub fn internal(message: impl Into<String>) -> SqlError {
        SqlError::new("XX000", message)
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// The query stage's diagnostics as one error: access denied is 42501, a limit 54000, anything
/// else about the query 42000.
pub fn diagnostics_error(diags: &[crate::diag::Diagnostic]) -> SqlError {
    use crate::diag::Code;
    if let Some(d) = diags.iter().find(|d| d.code == Code::AccessDenied) {
        return SqlError::new("42501", d.message.clone());
    }
    let message = crate::diag::messages(diags, "; ");
    let code = if diags.iter().any(|d| d.code == Code::QueryLimit) { "54000" } else { "42000" };
    SqlError::new(code, message)
}
