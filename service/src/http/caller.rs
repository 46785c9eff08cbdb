//! The caller of a request, as an extractor: a handler that takes a [`Caller`] runs only for
//! an authenticated caller, and a refused one is answered 401 in Graph's body before the
//! handler or its body is read. The state says how callers are identified
//! ([`IdentifyCaller`]); the caller is recorded in the request's log line.

use std::future::Future;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use temporary_access_pass::Principal;

use super::error::GraphError;
use super::trace::record_caller;

/// What a service's state does to identify the caller of a request.
pub trait IdentifyCaller: Send + Sync + 'static {
    /// The caller of a request with these headers.
    fn identify(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Principal, GraphError>> + Send;
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<T: IdentifyCaller> FromRequestParts<Arc<T>> for Caller {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<T>) -> Result<Self, GraphError> {
        let caller = state.identify(&parts.headers).await?;
        record_caller(caller.id().as_str());
        Ok(Self(caller))
    }
}
