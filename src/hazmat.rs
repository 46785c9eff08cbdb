//! Digest primitives and record parts, for hosts that persist records in their own format or
//! check digests themselves.
//!
//! Everything here can undo a guarantee if misused: a digest compared with `==` leaks timing, a
//! record rebuilt from edited parts can carry any counter. Everyday code never needs this
//! module: the crate seals, verifies and stores records through [`crate::create`],
//! [`crate::redeem`] and [`crate::Engine`].

pub use crate::digest::{CodeDigest, DIGEST_INPUT_LEN, DigestScheme, compute_digest};
pub use crate::pass::{RecordError, RecordParts};
