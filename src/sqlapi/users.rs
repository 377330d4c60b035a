//! SQL API users: names, passwords and the security context each one queries with (Cube's
//! `checkSqlAuth`). From `CUBEJS_SQL_USER`/`CUBEJS_SQL_PASSWORD` (one user, context `{}`) and
//! from a JSON file of users (`--sql-users`):
//!
//! ```json
//! {"users": [{"name": "bi", "password": "...", "securityContext": {"tenant": "a"}, "superuser": false}]}
//! ```
//!
//! A `password` of the form `env:NAME` is read from that environment variable. A superuser may
//! run a query as another user with `WHERE __user = 'name'`.

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct SqlUser {
    pub name: String,
    pub password: String,
    pub context: Value,
    pub superuser: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Users {
    pub users: Vec<SqlUser>,
    /// `--dev` without configured users: any name, any password, context `{}`.
    pub anyone: bool,
}

impl Users {
    pub fn find(&self, name: &str) -> Option<&SqlUser> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The security context a user queries with.
    pub fn context_of(&self, name: &str) -> Option<Value> {
        match self.find(name) {
            Some(u) => Some(u.context.clone()),
            None if self.anyone => Some(Value::Object(Default::default())),
            None => None,
        }
    }

    /// Users from the environment's single user and an optional file. `Err` names the problem.
    pub fn load(
        env_user: Option<(String, Option<String>)>,
        file: Option<&std::path::Path>,
        dev: bool,
    ) -> Result<Users, String> {
        let mut users = Vec::new();
        if let Some((name, password)) = env_user {
            let password = match password {
                Some(p) if !p.is_empty() => p,
                _ if dev => String::new(),
                _ => return Err(format!("the SQL user `{name}` has no password: set CUBEJS_SQL_PASSWORD")),
            };
            users.push(SqlUser { name, password, context: Value::Object(Default::default()), superuser: false });
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let doc: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
            let list = doc
                .get("users")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{}: expected {{\"users\": [...]}}", path.display()))?;
            for (i, u) in list.iter().enumerate() {
                let at = format!("{}: users[{i}]", path.display());
                let name = u
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| format!("{at}: `name` must be a non-empty string"))?;
                let password = match u.get("password").and_then(Value::as_str) {
                    Some(p) if p.starts_with("env:") => std::env::var(&p[4..])
                        .map_err(|_| format!("{at}: the environment variable {} is not set", &p[4..]))?,
                    Some(p) if !p.is_empty() => p.to_string(),
                    _ => return Err(format!("{at}: `password` must be a non-empty string (or env:VARIABLE)")),
                };
                let context = match u.get("securityContext").or_else(|| u.get("security_context")) {
                    None => Value::Object(Default::default()),
                    Some(v @ Value::Object(_)) => v.clone(),
                    Some(_) => return Err(format!("{at}: `securityContext` must be an object")),
                };
                let superuser = match u.get("superuser") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(format!("{at}: `superuser` must be true or false")),
                };
                if users.iter().any(|x: &SqlUser| x.name == name) {
                    return Err(format!("{at}: the user `{name}` is defined twice"));
                }
                users.push(SqlUser { name: name.to_string(), password, context, superuser });
            }
        }
        if users.is_empty() && !dev {
            return Err("the SQL API needs users: set CUBEJS_SQL_USER and CUBEJS_SQL_PASSWORD, or pass --sql-users \
                        FILE (or --dev for any user without a password)"
                .to_string());
        }
        Ok(Users { anyone: users.is_empty() && dev, users })
    }
}
