//! The SQL API: BI tools connect to `cubec serve --sql-port` as to PostgreSQL.
//!
//! Every public cube and view the user may see is a table in schema `public`, every member a
//! column. Input: PostgreSQL wire protocol sessions (through the `pgwire` crate). Output: rows.
//! [`semantic`] and [`filters`] turn a SELECT into the query `/v1/load` takes (run by the same
//! compiler and pool, [`flatten`] reads projection subqueries top-down); [`engine`] routes
//! statements; [`postprocess`] runs the rest of a statement on the session's embedded DuckDB;
//! [`catalog`] and [`pgsql`] answer introspection; [`wire`] encodes; [`users`] authenticates.

pub mod catalog;
pub mod cursors;
pub mod engine;
pub mod error;
pub mod filters;
pub mod flatten;
pub mod objects;
pub mod pgsql;
pub mod postprocess;
pub mod pushdown;
pub mod run;
pub mod schema;
pub mod scope;
pub mod semantic;
pub mod sql4sql;
pub mod users;
pub mod wire;

use crate::server::AppState;
use async_trait::async_trait;
use engine::{Engine, Session};
use futures::Sink;
use pgwire::api::auth::cleartext::CleartextPasswordAuthStartupHandler;
use pgwire::api::auth::md5pass::{hash_md5_password, Md5PasswordAuthStartupHandler};
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramAuth};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DescribePortalResponse, DescribeStatementResponse, FieldInfo, Response};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, PgWireServerHandlers, Type, METADATA_DATABASE, METADATA_USER,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

/// How passwords are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMethod {
    /// SCRAM-SHA-256 (PostgreSQL's default; the password never crosses the wire).
    Scram,
    Md5,
    /// The password as sent (Cube's only method); use it over TLS.
    Cleartext,
}

pub struct SqlApiConfig {
    pub users: users::Users,
    pub auth: AuthMethod,
    /// PEM certificate chain and private key: TLS for clients that ask (`sslmode=require`).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Connections served at once; more are refused with SQLSTATE 53300.
    pub max_sessions: usize,
}

const SCRAM_ITERATIONS: usize = 4096;

#[derive(Debug)]
struct UserSource {
    users: users::Users,
    method: AuthMethod,
}

#[async_trait]
impl AuthSource for UserSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        let user = self.users.find(name).ok_or_else(|| PgWireError::InvalidPassword(name.to_string()))?;
        Ok(match self.method {
            AuthMethod::Scram => {
                let salt = random_bytes::<16>()?.to_vec();
                let salted = gen_salted_password(&user.password, &salt, SCRAM_ITERATIONS);
                Password::new(Some(salt), salted)
            }
            AuthMethod::Md5 => {
                let salt = random_bytes::<4>()?.to_vec();
                Password::new(Some(salt.clone()), hash_md5_password(name, &user.password, &salt).into_bytes())
            }
            AuthMethod::Cleartext => Password::new(None, user.password.as_bytes().to_vec()),
        })
    }

    async fn verify_password(&self, login: &LoginInfo, presented: &[u8]) -> PgWireResult<Option<()>> {
        if self.users.anyone {
            return Ok(None);
        }
        let name = login.user().unwrap_or_default();
        match self.users.find(name) {
            Some(u) if constant_time_eq(u.password.as_bytes(), presented) => Ok(None),
            _ => Err(PgWireError::InvalidPassword(name.to_string())),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Salt from the operating system's secure random source (ring's, as rustls uses).
fn random_bytes<const N: usize>() -> PgWireResult<[u8; N]> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| PgWireError::ApiError("no secure random source for a password salt".into()))?;
    Ok(out)
}

fn parameters() -> DefaultServerParameterProvider {
    let mut p = DefaultServerParameterProvider::default();
    p.server_version = catalog::SERVER_VERSION.to_string();
    p.date_style = "ISO, MDY".to_string();
    p.is_superuser = false;
    p
}

/// The startup handler of the configured method.
enum Startup {
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
    Md5(Md5PasswordAuthStartupHandler<UserSource, DefaultServerParameterProvider>),
    Cleartext(CleartextPasswordAuthStartupHandler<UserSource, DefaultServerParameterProvider>),
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Scram(h) => h.on_startup(client, message).await,
            Startup::Md5(h) => h.on_startup(client, message).await,
            Startup::Cleartext(h) => h.on_startup(client, message).await,
        }
    }
}

/// Parses statements at Parse time (so a syntax error is reported there, as PostgreSQL does).
pub struct StatementParser;

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = String;

    async fn parse_sql<C>(&self, _client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<Option<String>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        engine::parse(sql).map_err(|e| wire::to_pgwire_error(&e))?;
        Ok(Some(sql.to_string()))
    }

    fn get_parameter_types(&self, stmt: &String) -> PgWireResult<Vec<Type>> {
        let n = engine::parse(stmt).ok().and_then(|s| s.first().map(engine::parameter_count)).unwrap_or(0);
        Ok(vec![Type::TEXT; n])
    }

    fn get_result_schema(&self, _stmt: &String, _format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(Vec::new())
    }
}

/// A result computed for Describe, kept for the Execute that follows.
struct Described {
    key: String,
    outcome: engine::Outcome,
}

struct SessionState {
    session: Session,
    described: Option<Described>,
}

pub struct Backend {
    engine: Arc<Engine>,
    startup: Arc<Startup>,
    parser: Arc<StatementParser>,
    connections: Arc<ConnectionManager>,
}

impl Backend {
    fn session_of<C: ClientInfo>(&self, client: &C) -> Arc<Mutex<SessionState>> {
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        let database = client.metadata().get(METADATA_DATABASE).cloned().unwrap_or_else(|| user.clone());
        let (pid, _) = client.pid_and_secret_key();
        let found = self.engine.users.find(&user);
        let context = self.engine.users.context_of(&user).unwrap_or_default();
        let superuser = found.is_some_and(|u| u.superuser);
        client.session_extensions().get_or_insert_with(|| {
            Mutex::new(SessionState {
                session: Session::new(&user, &database, context, superuser, pid),
                described: None,
            })
        })
    }

    /// Runs one statement with bound parameters.
    async fn run_bound(
        &self,
        state: &mut SessionState,
        sql: &str,
        params: &[Option<engine::Param>],
    ) -> Result<engine::Outcome, error::SqlError> {
        let mut stmts = engine::parse(sql)?;
        if stmts.len() != 1 {
            return Err(error::SqlError::syntax("cannot insert multiple commands into a prepared statement"));
        }
        let mut stmt = stmts.remove(0);
        engine::bind(&mut stmt, params)?;
        self.engine.execute(&mut state.session, stmt).await
    }
}

fn log_error(e: &error::SqlError) {
    if e.code == "XX000" {
        tracing::error!(sqlstate = e.code, error = e.message.as_str(), "SQL API internal error");
    } else {
        tracing::info!(sqlstate = e.code, error = e.message.as_str(), "SQL API statement refused");
    }
}

#[async_trait]
impl SimpleQueryHandler for Backend {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let state = self.session_of(client);
        let mut state = state.lock().await;
        let stmts = match engine::parse(query) {
            Ok(s) => s,
            Err(e) => {
                log_error(&e);
                return Ok(vec![Response::Error(Box::new(wire::error_info(&e)))]);
            }
        };
        if stmts.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            match self.engine.execute(&mut state.session, stmt).await {
                Ok(o) => out.push(wire::response(&o, &Format::UnifiedText)?),
                Err(e) => {
                    log_error(&e);
                    out.push(Response::Error(Box::new(wire::error_info(&e))));
                    break;
                }
            }
        }
        Ok(out)
    }
}

fn portal_params(portal: &Portal<String>) -> PgWireResult<Vec<Option<engine::Param>>> {
    (0..portal.parameter_len())
        .map(|i| wire::param(portal, i, portal.statement.parameter_types.get(i).and_then(Option::as_ref)))
        .collect()
}

fn portal_key(portal: &Portal<String>) -> String {
    format!("{}\u{0}{:?}", portal.statement.statement, portal.parameters)
}

#[async_trait]
impl ExtendedQueryHandler for Backend {
    type Statement = String;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<String>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let state = self.session_of(client);
        let mut state = state.lock().await;
        let key = portal_key(portal);
        if let Some(d) = state.described.take().filter(|d| d.key == key) {
            return wire::response(&d.outcome, &portal.result_column_format);
        }
        let params = portal_params(portal)?;
        match self.run_bound(&mut state, &portal.statement.statement, &params).await {
            Ok(o) => wire::response(&o, &portal.result_column_format),
            // As an Err, so that pgwire discards the pipelined messages up to Sync, as
            // PostgreSQL does (Npgsql pipelines several statements before one Sync).
            Err(e) => {
                log_error(&e);
                Err(wire::to_pgwire_error(&e))
            }
        }
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        stmt: &StoredStatement<String>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let state = self.session_of(client);
        let mut state = state.lock().await;
        let parsed = engine::parse(&stmt.statement).map_err(|e| wire::to_pgwire_error(&e))?;
        let n = parsed.first().map(engine::parameter_count).unwrap_or(0);
        let param_types: Vec<Type> =
            (0..n).map(|i| stmt.parameter_types.get(i).cloned().flatten().unwrap_or(Type::TEXT)).collect();
        let columns = self
            .engine
            .describe(&mut state.session, &stmt.statement, n)
            .await
            .map_err(|e| wire::to_pgwire_error(&e))?;
        Ok(DescribeStatementResponse::new(param_types, wire::fields(&columns, &Format::UnifiedBinary)))
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<String>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let state = self.session_of(client);
        let mut state = state.lock().await;
        let params = portal_params(portal)?;
        // Describing a portal needs its result's columns: run it now and keep the rows for the
        // Execute that follows.
        let outcome = self
            .run_bound(&mut state, &portal.statement.statement, &params)
            .await
            .map_err(|e| wire::to_pgwire_error(&e))?;
        let columns = match &outcome {
            engine::Outcome::Rows(t) | engine::Outcome::Fetched(t) => t.columns.clone(),
            _ => Vec::new(),
        };
        state.described = Some(Described { key: portal_key(portal), outcome });
        Ok(DescribePortalResponse::new(wire::fields(&columns, &portal.result_column_format)))
    }
}

struct Handlers(Arc<Backend>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.0)
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.0)
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.0.startup)
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::new(pgwire::api::cancel::DefaultCancelHandler::new(Arc::clone(&self.0.connections)))
    }
}

fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<pgwire::tokio::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("cannot read the key {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS: the certificate and key do not fit: {e}"))?;
    Ok(pgwire::tokio::TlsAcceptor::from(Arc::new(config)))
}

/// What serves SQL API connections.
pub struct SqlServer {
    handlers: Arc<Handlers>,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    sessions: Arc<tokio::sync::Semaphore>,
    max_sessions: usize,
}

/// Refuses a connection as PostgreSQL does when it is full: reads the startup packet (answering
/// an SSL or GSS request with `N` first), then sends a FATAL error, so that the client shows
/// the message.
async fn refuse(mut socket: tokio::net::TcpStream, message: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const SSL_OR_GSS_REQUEST: [u32; 2] = [80_877_103, 80_877_104];
    let exchange = async {
        for _ in 0..3 {
            let mut len = [0u8; 4];
            socket.read_exact(&mut len).await?;
            let len = u32::from_be_bytes(len) as usize;
            if !(8..=10_000).contains(&len) {
                break;
            }
            let mut body = vec![0u8; len - 4];
            socket.read_exact(&mut body).await?;
            let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            if SSL_OR_GSS_REQUEST.contains(&code) {
                socket.write_all(b"N").await?;
                continue;
            }
            break;
        }
        socket.write_all(&fatal_error_message("53300", &message)).await?;
        socket.shutdown().await
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), exchange).await;
}

/// A FATAL ErrorResponse, sent before the startup exchange (libpq reports it as the server's
/// answer to its first message).
fn fatal_error_message(code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', code), (b'M', message)] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

impl SqlServer {
    pub fn new(state: Arc<AppState>, config: SqlApiConfig) -> Result<SqlServer, String> {
        let tls = match &config.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let connections = Arc::new(ConnectionManager::new());
        let params = Arc::new(parameters());
        let method = if config.users.anyone { AuthMethod::Cleartext } else { config.auth };
        let source = UserSource { users: config.users.clone(), method };
        let startup = match method {
            AuthMethod::Scram => {
                let mut scram = ScramAuth::new(Arc::new(source));
                scram.set_iterations(SCRAM_ITERATIONS);
                Startup::Scram(
                    SASLAuthStartupHandler::new(params)
                        .with_scram(scram)
                        .with_connection_manager(Arc::clone(&connections)),
                )
            }
            AuthMethod::Md5 => Startup::Md5(
                Md5PasswordAuthStartupHandler::new(Arc::new(source), params)
                    .with_connection_manager(Arc::clone(&connections)),
            ),
            AuthMethod::Cleartext => Startup::Cleartext(
                CleartextPasswordAuthStartupHandler::new(source, parameters())
                    .with_connection_manager(Arc::clone(&connections)),
            ),
        };
        let engine = Arc::new(Engine { state, users: config.users });
        let backend = Backend { engine, startup: Arc::new(startup), parser: Arc::new(StatementParser), connections };
        let max_sessions = config.max_sessions.max(1);
        Ok(SqlServer {
            handlers: Arc::new(Handlers(Arc::new(backend))),
            tls,
            sessions: Arc::new(tokio::sync::Semaphore::new(max_sessions)),
            max_sessions,
        })
    }

    /// Accepts connections until the listener fails; each runs on its own task, and a broken
    /// connection ends only itself.
    pub async fn run(self, listener: tokio::net::TcpListener) {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "SQL API: accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&self.sessions).try_acquire_owned() else {
                tracing::warn!(peer = %peer, max = self.max_sessions, "SQL API: too many sessions, connection refused");
                let message = format!("too many sessions, limit reached: {}", self.max_sessions);
                tokio::spawn(refuse(socket, message));
                continue;
            };
            let handlers = Arc::clone(&self.handlers);
            let tls = self.tls.clone();
            tokio::spawn(async move {
                if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                    tracing::debug!(peer = %peer, error = %e, "SQL API connection ended with an error");
                }
                drop(permit);
            });
        }
    }
}
