//! The Graph-shaped service: `cargo run -p temporary-access-pass-graph-service`, configured by
//! environment variables (see the README and `Config`).

use std::process::ExitCode;

use temporary_access_pass_graph_service::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let started = match Config::from_env() {
        Ok(config) => config.start().await,
        Err(e) => Err(e),
    };
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("temporary-access-pass-graph-service: {e}");
            ExitCode::FAILURE
        }
    }
}
