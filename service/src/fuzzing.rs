//! The fuzz targets' bodies (feature `fuzzing`): what the service reads from strangers, each
//! with the properties that must hold for any input, not only that nothing panics.
//!
//! - [`http`]: a short sequence of HTTP requests through the whole router (every layer, every
//!   route, Graph's bodies through `GraphJson`), on a fresh in-memory service per input;
//! - [`jwt`]: access tokens, their claims signed with the issuer's real key, and key sets;
//! - [`webauthn`]: a passkey's creation and sign-in answers against the relying party's own
//!   state, and the attestation object's authenticator data.
//!
//! `fuzz/` (cargo-fuzz) wraps each in a `fuzz_target!`; the service's test `fuzz_corpus`
//! replays every input the fuzzer kept (`fuzz/corpus/<target>/`) through the same function,
//! so a finding stays a test. A broken property panics: that is the fuzzer's signal.

pub mod http;
pub mod jwt;
pub mod webauthn;

use arbitrary::Unstructured;

/// `data` as the structured input `T`, or `None` when the bytes do not make one.
fn input<'a, T: arbitrary::Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// A current-thread runtime for one input's requests.
#[expect(
    clippy::expect_used,
    reason = "a fuzz target without a runtime cannot run at all: that is the target's failure"
)]
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
}
