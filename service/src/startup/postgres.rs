//! The PostgreSQL store's connection as the service makes it: the connection string checked,
//! the server's own timeouts set below the store timeout, the pool's waits bounded, and the
//! target named for the log without its password.

use std::time::Duration;

use temporary_access_pass_postgres::READ_COMMITTED;

use crate::config::StartError;

/// A PostgreSQL connection string, checked and given the store timeout: the database and the
/// user must be named (libpq would otherwise pick the OS user's, silently an empty store);
/// connecting and unacknowledged writes (`tcp_user_timeout`) are bounded by `timeout`, and the
/// server's own timeouts are set below it ([`server_timeouts`]).
///
/// # Errors
///
/// [`StartError::Environment`] naming what is missing or malformed.
pub fn postgres_config(url: &str, timeout: Duration) -> Result<tokio_postgres::Config, StartError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StartError::Environment(format!("TAP_DATABASE_URL: {e}")))?;
    for (name, given) in [
        ("dbname", config.get_dbname().is_some()),
        ("user", config.get_user().is_some()),
        ("host", !config.get_hosts().is_empty()),
    ] {
        if !given {
            return Err(StartError::Environment(format!(
                "TAP_DATABASE_URL names no {name}: name the host, the database and the user \
                 (host=db.internal dbname=tap user=tap, or postgresql://tap@db.internal/tap), \
                 so the service never runs silently against another database"
            )));
        }
    }
    let options = server_timeouts(timeout);
    let options = match config.get_options() {
        Some(given) => format!("{given} {options}"),
        None => options,
    };
    config
        .options(options)
        .connect_timeout(timeout)
        .tcp_user_timeout(timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name("temporary-access-pass-graph-service");
    Ok(config)
}

/// The server's own settings for a store timeout of `timeout`, as connection options (after
/// any the connection string gives, so they win): every transaction, a statement's own
/// included, is READ COMMITTED whatever the server's or the role's default (the store's
/// conditional writes are designed for it; under a stricter default a write that met a
/// concurrent one would fail with a serialization error instead of deciding). And its
/// timeouts: it
/// cancels a statement after four fifths of it (before the service gives up on the call and
/// answers 503, so a statement cut short by the server is rolled back, not left running), a
/// wait for a lock after half of it, and ends a session idle in a transaction (a service
/// partitioned from the database mid-transaction) after all of it, freeing its locks. What
/// stays unknown: a call the service gave up on while a statement it sent later than the call
/// began was still running, which the server ends at most four fifths of the store timeout
/// after it began.
#[must_use]
pub fn server_timeouts(timeout: Duration) -> String {
    let part = |fifths: u32| {
        timeout
            .saturating_mul(fifths)
            .checked_div(5)
            .unwrap_or(timeout)
            .as_millis()
            .max(1)
    };
    format!(
        "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={} \
         {READ_COMMITTED}",
        part(4),
        part(2),
        part(5)
    )
}

/// The store's target as the startup log names it: hosts, ports, database, user, schema
/// (`search_path` when the options set one) and tenant. Never the password.
#[must_use]
pub fn postgres_target(config: &tokio_postgres::Config, tenant: &str) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let schema = config
        .get_options()
        .and_then(|o| o.split("search_path=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("the user's search_path");
    format!(
        "host={} port={} dbname={} user={} schema={schema} tenant={tenant:?}",
        hosts.join(","),
        if ports.is_empty() {
            "5432".to_owned()
        } else {
            ports.join(",")
        },
        config.get_dbname().unwrap_or(""),
        config.get_user().unwrap_or(""),
    )
}

/// A pool of `size` connections whose every wait is bounded by `timeout`: for a connection
/// from the pool, to make one, to check one before reuse.
///
/// # Errors
///
/// [`StartError::Environment`] when the pool can't be built.
pub fn postgres_pool(
    config: tokio_postgres::Config,
    size: usize,
    timeout: Duration,
) -> Result<deadpool_postgres::Pool, StartError> {
    use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .map_err(|e| StartError::Environment(format!("TAP_DATABASE_URL: {e}")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::server_timeouts;

    #[test]
    fn the_server_gives_up_on_a_statement_before_the_service_does() {
        assert_eq!(
            server_timeouts(Duration::from_secs(5)),
            "-c statement_timeout=4000 -c lock_timeout=2000 \
             -c idle_in_transaction_session_timeout=5000 \
             -c default_transaction_isolation=read\\ committed"
        );
        assert_eq!(
            server_timeouts(Duration::from_millis(1)),
            "-c statement_timeout=1 -c lock_timeout=1 -c idle_in_transaction_session_timeout=1 \
             -c default_transaction_isolation=read\\ committed",
            "never zero, which would mean no timeout at all"
        );
    }
}
