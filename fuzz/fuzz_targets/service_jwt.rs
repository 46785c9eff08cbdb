//! Access tokens, their claims signed with the issuer's real key, and key sets: a token is
//! refused or names exactly the caller its claims state.
//! The body is `temporary_access_pass_graph_service::fuzzing::jwt::run`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The verdict is for the corpus test; a broken property panics inside.
    let _ = temporary_access_pass_graph_service::fuzzing::jwt::run(data);
});
