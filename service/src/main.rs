//! The Graph-shaped service: `cargo run -p temporary-access-pass-graph-service`, configured by
//! environment variables (the table in `config`, and the README). It logs JSON lines to
//! standard error and exits non-zero, with the reason logged, when it can't start.

use std::process::ExitCode;

use temporary_access_pass_graph_service::{Config, run, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let filter = std::env::var("TAP_LOG").unwrap_or_else(|_| "info".to_owned());
    if let Err(e) = telemetry::init(&filter) {
        eprintln!("temporary-access-pass-graph-service: {e}");
        return ExitCode::FAILURE;
    }
    let started = match Config::from_env() {
        Ok(config) => run(config).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "the service could not start or serve");
            ExitCode::FAILURE
        }
    }
}
