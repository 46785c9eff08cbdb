//! Registered methods and ceremonies (SPEC 8.4) on PostgreSQL: `tap_methods` and
//! `tap_ceremonies`, one row per tenant, user and method or ceremony, each with a version.
//!
//! A change whose condition reads other rows than the one it writes (a method within the cap,
//! a ceremony evicting the user's oldest) runs in a transaction holding the user's advisory
//! lock, the one a held decision about the user's record takes, so two such changes for one
//! user take turns and a count cannot be read twice. The others are one conditional
//! statement. A method's audit events are appended by the same statement, as a record's are.

use std::sync::LazyLock;

use deadpool_postgres::Object;
use temporary_access_pass::UserId;
use temporary_access_pass::ceremony::{Ceremony, CeremonyId, CeremonyKind};
use temporary_access_pass::method::RegisteredMethod;
use temporary_access_pass::store::{Change, Commit, Versioned, Write, epoch_nanos};
use temporary_access_pass::time::UtcDateTime;
use tokio_postgres::types::ToSql;

use super::{
    BEGIN, HeldConnection, LOCK_USER, PgError, PgStore, Sql, decode, pick, sql_version, statements,
    written,
};

/// A method added: `$2` user, `$3` id, `$4` document, `$5` the pass held (or null), `$6` the
/// cap, `$7` events. The pass's row is held (`FOR KEY SHARE`) to the commit, so a deletion
/// lands before (nothing is added) or after.
static ADD_METHOD: LazyLock<Sql> = LazyLock::new(|| {
    statements(
        "INSERT INTO tap_methods (tenant, user_id, id, version, document)
         SELECT $1, $2, $3, 1, $4
         WHERE ($5::text IS NULL OR EXISTS (
                   SELECT 1 FROM tap_passes
                   WHERE tenant = $1 AND user_id = $2 AND pass_id = $5 FOR KEY SHARE))
           AND (SELECT count(*) FROM tap_methods WHERE tenant = $1 AND user_id = $2) < $6
         ON CONFLICT (tenant, user_id, id) DO NOTHING
         RETURNING version",
        7,
    )
});

/// A method replaced at the version read: `$2` user, `$3` id, `$4` document, `$5` version,
/// `$6` events.
static UPDATE_METHOD: LazyLock<Sql> = LazyLock::new(|| {
    statements(
        "UPDATE tap_methods SET version = version + 1, document = $4
         WHERE tenant = $1 AND user_id = $2 AND id = $3 AND version = $5
         RETURNING version",
        6,
    )
});

/// A method deleted, whatever its version: `$2` user, `$3` id, `$4` events.
static REMOVE_METHOD: LazyLock<Sql> = LazyLock::new(|| {
    statements(
        "DELETE FROM tap_methods WHERE tenant = $1 AND user_id = $2 AND id = $3
         RETURNING version",
        4,
    )
});

/// The user's ceremonies of a kind that are over at `$4`, and the oldest beyond the `$5 - 1`
/// newest: `$2` user, `$3` kind.
const MAKE_ROOM: &str = "
    DELETE FROM tap_ceremonies c USING (
        SELECT id, expires <= $4 AS over,
               row_number() OVER (PARTITION BY expires <= $4 ORDER BY seq DESC) AS newer
        FROM tap_ceremonies WHERE tenant = $1 AND user_id = $2 AND kind = $3) m
    WHERE c.tenant = $1 AND c.user_id = $2 AND c.id = m.id AND (m.over OR m.newer >= $5)";

/// A ceremony stored, if its id is new for the user and the pass `$7` (or null) is held: `$2`
/// user, `$3` id, `$4` kind, `$5` pass, `$6` expires, `$8` document.
const INSERT_CEREMONY: &str = "
    INSERT INTO tap_ceremonies (tenant, user_id, id, kind, pass_id, expires, version, document)
    SELECT $1, $2, $3, $4, $5, $6, 1, $8
    WHERE $7::text IS NULL OR EXISTS (
        SELECT 1 FROM tap_passes WHERE tenant = $1 AND user_id = $2 AND pass_id = $7
        FOR KEY SHARE)
    ON CONFLICT (tenant, user_id, id) DO NOTHING
    RETURNING version";

/// A ceremony replaced at the version read: `$2` user, `$3` id, `$4` document, `$5` version,
/// `$6` kind.
const UPDATE_CEREMONY: &str = "
    UPDATE tap_ceremonies SET version = version + 1, document = $4
    WHERE tenant = $1 AND user_id = $2 AND id = $3 AND version = $5 AND kind = $6
    RETURNING version";

/// A ceremony deleted at the version read: `$2` user, `$3` id, `$4` version.
const REMOVE_CEREMONY: &str = "
    DELETE FROM tap_ceremonies WHERE tenant = $1 AND user_id = $2 AND id = $3 AND version = $4
    RETURNING version";

const LOAD_METHODS: &str = "
    SELECT version, document FROM tap_methods WHERE tenant = $1 AND user_id = $2 ORDER BY seq";

const LOAD_CEREMONY: &str = "
    SELECT version, document FROM tap_ceremonies WHERE tenant = $1 AND user_id = $2 AND id = $3";

fn pass_of(ceremony: &Ceremony) -> Option<String> {
    match ceremony.kind() {
        CeremonyKind::Registration { pass, .. } => Some(pass.to_string()),
        _ => None,
    }
}

type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// Runs `sql` with the tenant and `params` on `client`.
async fn run(
    client: &Object,
    tenant: &str,
    sql: &str,
    params: &Params,
) -> Result<Option<tokio_postgres::Row>, PgError> {
    let prepared = client.prepare_cached(sql).await?;
    let mut all: Vec<&(dyn ToSql + Sync)> = vec![&tenant];
    all.extend(params.iter().map(|p| &**p as &(dyn ToSql + Sync)));
    Ok(client.query_opt(&prepared, &all).await?)
}

impl PgStore {
    pub(super) async fn load_methods_on(
        &self,
        client: &Object,
        user: &UserId,
    ) -> Result<Vec<Versioned<RegisteredMethod>>, PgError> {
        let statement = client.prepare_cached(LOAD_METHODS).await?;
        let rows = client
            .query(&statement, &[&&*self.tenant, &user.as_str()])
            .await?;
        rows.iter()
            .map(|row| {
                decode(row.try_get(0)?, row.try_get(1)?)?
                    .ok_or_else(|| PgError::Corrupt("a method row without a document".into()))
            })
            .collect()
    }

    pub(super) async fn load_ceremony_on(
        &self,
        client: &Object,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Option<Versioned<Ceremony>>, PgError> {
        let statement = client.prepare_cached(LOAD_CEREMONY).await?;
        match client
            .query_opt(&statement, &[&&*self.tenant, &user.as_str(), &id.as_str()])
            .await?
        {
            Some(row) => decode(row.try_get(0)?, row.try_get(1)?),
            None => Ok(None),
        }
    }

    /// Commits a change of a method or a ceremony; `None` for a change that is neither.
    #[expect(
        clippy::too_many_lines,
        reason = "one arm per change, each its statement's parameters"
    )]
    pub(super) async fn apply_onboarding(&self, commit: &Commit) -> Result<Option<Write>, PgError> {
        let events: Vec<String> = commit
            .events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        let evented = !events.is_empty();
        let with_events = |mut params: Params| {
            if evented {
                params.push(Box::new(events.clone()));
            }
            params
        };
        let tenant: &str = &self.tenant;
        Ok(Some(match &commit.change {
            Change::AddMethod {
                user,
                held,
                method,
                cap,
            } => {
                if method.user() != user {
                    return Ok(Some(Write::Conflict));
                }
                let params = with_events(vec![
                    Box::new(user.as_str().to_owned()),
                    Box::new(method.id().as_str().to_owned()),
                    Box::new(serde_json::to_string(method)?),
                    Box::new(held.map(|p| p.to_string())),
                    Box::new(i64::from(*cap)),
                ]);
                self.locked(user, pick(&ADD_METHOD, evented), &params)
                    .await?
            }
            Change::UpdateMethod {
                user,
                expected,
                method,
            } => {
                if method.user() != user {
                    return Ok(Some(Write::Conflict));
                }
                let params = with_events(vec![
                    Box::new(user.as_str().to_owned()),
                    Box::new(method.id().as_str().to_owned()),
                    Box::new(serde_json::to_string(method)?),
                    Box::new(sql_version(*expected)?),
                ]);
                let client = self.pool.get().await?;
                written(
                    run(&client, tenant, pick(&UPDATE_METHOD, evented), &params)
                        .await?
                        .as_ref(),
                )?
            }
            Change::RemoveMethod { user, id } => {
                let params = with_events(vec![
                    Box::new(user.as_str().to_owned()),
                    Box::new(id.as_str().to_owned()),
                ]);
                let client = self.pool.get().await?;
                written(
                    run(&client, tenant, pick(&REMOVE_METHOD, evented), &params)
                        .await?
                        .as_ref(),
                )?
            }
            Change::OpenCeremony {
                ceremony,
                held,
                per_user,
            } => {
                self.open_ceremony(ceremony, held.map(|p| p.to_string()), *per_user)
                    .await?
            }
            Change::UpdateCeremony { expected, ceremony } => {
                let params: Params = vec![
                    Box::new(ceremony.user().as_str().to_owned()),
                    Box::new(ceremony.id().as_str().to_owned()),
                    Box::new(serde_json::to_string(ceremony)?),
                    Box::new(sql_version(*expected)?),
                    Box::new(ceremony.kind().name()),
                ];
                let client = self.pool.get().await?;
                written(
                    run(&client, tenant, UPDATE_CEREMONY, &params)
                        .await?
                        .as_ref(),
                )?
            }
            Change::RemoveCeremony { user, id, expected } => {
                let params: Params = vec![
                    Box::new(user.as_str().to_owned()),
                    Box::new(id.as_str().to_owned()),
                    Box::new(sql_version(*expected)?),
                ];
                let client = self.pool.get().await?;
                written(
                    run(&client, tenant, REMOVE_CEREMONY, &params)
                        .await?
                        .as_ref(),
                )?
            }
            _ => return Ok(None),
        }))
    }

    /// Runs `sql` in a transaction holding `user`'s advisory lock.
    async fn locked(&self, user: &UserId, sql: &str, params: &Params) -> Result<Write, PgError> {
        let held = HeldConnection {
            client: Some(self.pool.get().await?),
        };
        let client = held.client();
        let tenant: &str = &self.tenant;
        let lock = client.prepare_cached(LOCK_USER).await?;
        client.batch_execute(BEGIN).await?;
        client.execute(&lock, &[&tenant, &user.as_str()]).await?;
        let row = run(client, tenant, sql, params).await?;
        client.batch_execute("COMMIT").await?;
        held.finish();
        written(row.as_ref())
    }

    /// Makes room among the user's ceremonies of its kind and stores `ceremony`, in a
    /// transaction holding the user's advisory lock; rolled back, room and all, when the
    /// ceremony is not stored (its id taken, or the pass not held).
    async fn open_ceremony(
        &self,
        ceremony: &Ceremony,
        held_pass: Option<String>,
        per_user: u32,
    ) -> Result<Write, PgError> {
        let user = ceremony.user();
        let held = HeldConnection {
            client: Some(self.pool.get().await?),
        };
        let client = held.client();
        let tenant: &str = &self.tenant;
        let lock = client.prepare_cached(LOCK_USER).await?;
        client.batch_execute(BEGIN).await?;
        client.execute(&lock, &[&tenant, &user.as_str()]).await?;
        let room: Params = vec![
            Box::new(user.as_str().to_owned()),
            Box::new(ceremony.kind().name()),
            Box::new(epoch_nanos(ceremony.opened())),
            Box::new(i64::from(per_user.max(1))),
        ];
        let prepared = client.prepare_cached(MAKE_ROOM).await?;
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&tenant];
        all.extend(room.iter().map(|p| &**p as &(dyn ToSql + Sync)));
        client.execute(&prepared, &all).await?;
        let insert: Params = vec![
            Box::new(user.as_str().to_owned()),
            Box::new(ceremony.id().as_str().to_owned()),
            Box::new(ceremony.kind().name()),
            Box::new(pass_of(ceremony)),
            Box::new(epoch_nanos(ceremony.expires())),
            Box::new(held_pass),
            Box::new(serde_json::to_string(ceremony)?),
        ];
        let row = run(client, tenant, INSERT_CEREMONY, &insert).await?;
        let done = written(row.as_ref())?;
        client
            .batch_execute(if done == Write::Conflict {
                "ROLLBACK"
            } else {
                "COMMIT"
            })
            .await?;
        held.finish();
        Ok(done)
    }

    /// Forgets the tenant's ceremonies over at `now`.
    pub(super) async fn prune_ceremonies_at(&self, now: UtcDateTime) -> Result<u64, PgError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached("DELETE FROM tap_ceremonies WHERE tenant = $1 AND expires <= $2")
            .await?;
        Ok(client
            .execute(&statement, &[&&*self.tenant, &epoch_nanos(now)])
            .await?)
    }
}
