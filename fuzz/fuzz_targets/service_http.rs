//! A short sequence of hostile HTTP requests through the service's whole router, on a fresh
//! in-memory service per input: never a 5xx, always Graph's error body, no code leaked.
//! The body is `temporary_access_pass_graph_service::fuzzing::http::run`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The verdict is for the corpus test; a broken property panics inside.
    let _ = temporary_access_pass_graph_service::fuzzing::http::run(data);
});
