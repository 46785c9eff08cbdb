//! A passkey's creation and sign-in answers against the relying party's own state: nothing
//! is taken without the challenge and the key it was issued for.
//! The body is `temporary_access_pass_graph_service::fuzzing::webauthn::run`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The verdict is for the corpus test; a broken property panics inside.
    let _ = temporary_access_pass_graph_service::fuzzing::webauthn::run(data);
});
