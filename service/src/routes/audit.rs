//! The audit trail: `GET /v1.0/auditLogs/directoryAudits`, the store's outbox read in Graph's
//! `directoryAudit` shape (SPEC 7.4), oldest first (commit order), `$top` entries a page
//! (100 unless asked, at most 1,000), the next page at `@odata.nextLink`. Only the roles
//! Microsoft lets read audit logs may call it ([`DirectoryRole::may_read_audit_logs`]).
//!
//! [`DirectoryRole::may_read_audit_logs`]: temporary_access_pass::DirectoryRole::may_read_audit_logs

use axum::Json;
use axum::extract::{RawQuery, State};
use temporary_access_pass::graph::{DirectoryAudit, DirectoryAuditList};
use temporary_access_pass::store::{AsyncStore, Sequence};
use temporary_access_pass::{AppId, DirectoryRole, UserId};

use super::AppState;
use crate::http::{Caller, GraphError};
use crate::identity::{Authenticator, Directory};

/// The route.
pub(crate) const PATH: &str = "/v1.0/auditLogs/directoryAudits";

/// Entries a page when `$top` is not given.
pub(super) const DEFAULT_TOP: usize = 100;

/// The most entries a page holds.
pub(super) const MAX_TOP: usize = 1000;

/// What a request asks: how many, after which entry.
#[derive(Debug, PartialEq, Eq)]
struct Page {
    top: usize,
    after: Sequence,
}

/// Reads `$top` and `$skiptoken`; any other option (`$filter`, `$orderby`...) is refused by
/// name, as Graph refuses what a resource does not support, rather than ignored.
fn page(query: Option<&str>) -> Result<Page, GraphError> {
    let mut page = Page {
        top: DEFAULT_TOP,
        after: Sequence::START,
    };
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // `$` may come percent-encoded.
        let name = name.replace("%24", "$");
        match name.as_str() {
            "$top" => {
                page.top = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_TOP).contains(n))
                    .ok_or_else(|| {
                        GraphError::bad_request(format_args!(
                            "$top={value}: a number from 1 to {MAX_TOP}"
                        ))
                    })?;
            }
            "$skiptoken" => {
                // Exactly as the service writes it: 1 to 19 decimal digits (no sign), the
                // pattern openapi.json states.
                let digits =
                    (1..=19).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
                page.after = value
                    .parse()
                    .ok()
                    .filter(|_| digits)
                    .map(Sequence::new)
                    .ok_or_else(|| {
                        GraphError::bad_request("$skiptoken: use the @odata.nextLink as given")
                    })?;
            }
            other => {
                let shown: String = other.chars().take(32).collect();
                return Err(GraphError::bad_request(format_args!(
                    "the query option '{shown}' is not supported here: $top and $skiptoken are"
                )));
            }
        }
    }
    Ok(page)
}

pub(super) async fn list<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<DirectoryAuditList>, GraphError> {
    if !caller.roles_allow(DirectoryRole::may_read_audit_logs) {
        return Err(GraphError::forbidden(format!(
            "{} may not read audit logs: Global Administrator, Global Reader, Reports Reader, \
             Security Reader and Security Administrator may",
            caller.initiator()
        )));
    }
    if !caller.grant().allows_reading_audit_logs() {
        return Err(GraphError::forbidden(format!(
            "{} may not read audit logs under the scopes granted: AuditLog.Read.All is needed",
            caller.initiator()
        )));
    }
    let page = page(query.as_deref())?;
    let recorded = app
        .bounded(app.engine.store().read_events(page.after, page.top))
        .await?
        .map_err(GraphError::store)?;
    // A full page may have a next one; a short page is the end, for now.
    let next_link = (recorded.len() == page.top)
        .then(|| recorded.last())
        .flatten()
        .map(|last| {
            format!(
                "{}{PATH}?$top={}&$skiptoken={}",
                app.public_url,
                page.top,
                last.sequence.get()
            )
        });
    let mut entries: Vec<DirectoryAudit> = recorded.iter().map(DirectoryAudit::from).collect();
    for entry in &mut entries {
        with_names(&app.directory, entry).await;
    }
    Ok(Json(DirectoryAuditList::new(entries, next_link)))
}

/// Shows each user of `entry` by the user principal name the directory has for their object id
/// (SPEC 3.6: the event records the id; the name is today's alias of it). A user the
/// directory has no name for keeps what the event says. An application shows with the display
/// name and service principal the directory has for its app id.
async fn with_names<D: Directory>(directory: &D, entry: &mut DirectoryAudit) {
    async fn name<D: Directory>(directory: &D, id: Option<&String>) -> Option<String> {
        let id = UserId::new(id?).ok()?;
        directory.principal_name(&id).await
    }
    if let Some(user) = entry.initiated_by.user.as_mut()
        && let Some(found) = name(directory, user.id.as_ref()).await
    {
        user.user_principal_name = Some(found);
    }
    // An application by its display name and service principal (SPEC 3.7).
    if let Some(app) = entry.initiated_by.app.as_mut()
        && let Some(id) = app.app_id.as_deref().and_then(|id| AppId::new(id).ok())
        && let Some(known) = directory.application(&id).await
    {
        app.service_principal_id = Some(known.object_id.as_str().to_owned());
        app.display_name.clone_from(&known.display_name);
        app.service_principal_name.clone_from(&known.display_name);
    }
    for target in &mut entry.target_resources {
        if target.kind.as_deref() == Some("User")
            && let Some(found) = name(directory, target.id.as_ref()).await
        {
            target.user_principal_name = Some(found);
        }
    }
}

#[cfg(test)]
mod tests {
    use temporary_access_pass::store::Sequence;

    use super::{DEFAULT_TOP, MAX_TOP, Page, page};

    #[test]
    fn top_and_skiptoken_are_read_and_everything_else_is_refused_by_name() {
        assert_eq!(
            page(None).unwrap(),
            Page {
                top: DEFAULT_TOP,
                after: Sequence::START
            }
        );
        assert_eq!(
            page(Some("$top=5&%24skiptoken=42")).unwrap(),
            Page {
                top: 5,
                after: Sequence::new(42)
            }
        );
        assert_eq!(page(Some(&format!("$top={MAX_TOP}"))).unwrap().top, MAX_TOP);
        for refused in [
            "$top=0",
            "$top=1001",
            "$top=x",
            "$skiptoken=-1",
            "$skiptoken=",
            "$skiptoken=+5",
            "$skiptoken=10000000000000000000",
        ] {
            assert_eq!(
                page(Some(refused)).unwrap_err().status.as_u16(),
                400,
                "{refused}"
            );
        }
        let e = page(Some("$filter=activityDisplayName eq 'x'")).unwrap_err();
        assert!(e.message.contains("'$filter'"), "{}", e.message);
    }
}
