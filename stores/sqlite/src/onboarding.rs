//! Registered methods and ceremonies (SPEC 8.4): `tap_methods`, one row per user and method,
//! and `tap_ceremonies`, one row per user and ceremony, each with a version. Every change is
//! conditional, in the write transaction that also appends its events.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use temporary_access_pass::UserId;
use temporary_access_pass::ceremony::{Ceremony, CeremonyId, CeremonyKind};
use temporary_access_pass::method::{MethodId, RegisteredMethod};
use temporary_access_pass::store::{Change, Version, Versioned, Write, epoch_nanos};

use super::{SqliteError, one_row, returned, sql_version, version_of};

/// `user`'s methods, oldest first.
pub(super) fn load_methods(
    conn: &Connection,
    user: &UserId,
) -> Result<Vec<Versioned<RegisteredMethod>>, SqliteError> {
    let rows: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT version, document FROM tap_methods WHERE user_id = ?1 ORDER BY rowid",
        )?
        .query_map(params![user.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(v, json)| Ok(Versioned::new(version_of(v)?, serde_json::from_str(&json)?)))
        .collect()
}

/// `user`'s ceremony `id`, if stored.
pub(super) fn load_ceremony(
    conn: &Connection,
    user: &UserId,
    id: &CeremonyId,
) -> Result<Option<Versioned<Ceremony>>, SqliteError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT version, document FROM tap_ceremonies WHERE user_id = ?1 AND id = ?2",
        )?
        .query_row(params![user.as_str(), id.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(v, json)| Ok(Versioned::new(version_of(v)?, serde_json::from_str(&json)?)))
        .transpose()
}

/// Forgets `user`'s registration sessions of any pass but `kept` (SPEC 8.4): a deletion or a
/// replacement of the pass ends its sessions in its own transaction.
pub(super) fn end_sessions(
    tx: &Transaction<'_>,
    user: &UserId,
    kept: Option<&str>,
) -> Result<(), SqliteError> {
    tx.prepare_cached(
        "DELETE FROM tap_ceremonies
         WHERE user_id = ?1 AND kind = 'registration' AND pass_id IS NOT ?2",
    )?
    .execute(params![user.as_str(), kept])?;
    Ok(())
}

fn holds(tx: &Transaction<'_>, user: &UserId, pass: Option<&str>) -> Result<bool, SqliteError> {
    let Some(pass) = pass else {
        return Ok(true);
    };
    Ok(tx
        .prepare_cached("SELECT 1 FROM tap_passes WHERE user_id = ?1 AND pass_id = ?2")?
        .query_row(params![user.as_str(), pass], |_| Ok(()))
        .optional()?
        .is_some())
}

fn add_method(
    tx: &Transaction<'_>,
    user: &UserId,
    held: Option<&str>,
    method: &RegisteredMethod,
    cap: u32,
) -> Result<Write, SqliteError> {
    if method.user() != user {
        return Ok(Write::Conflict);
    }
    // One statement: the pass held, the cap, and the id new for the user, under the write lock.
    let changed = tx
        .prepare_cached(
            "INSERT INTO tap_methods (user_id, id, version, document)
             SELECT ?1, ?2, 1, ?3
             WHERE (?4 IS NULL OR EXISTS
                     (SELECT 1 FROM tap_passes WHERE user_id = ?1 AND pass_id = ?4))
               AND (SELECT count(*) FROM tap_methods WHERE user_id = ?1) < ?5
             ON CONFLICT (user_id, id) DO NOTHING",
        )?
        .execute(params![
            user.as_str(),
            method.id().as_str(),
            serde_json::to_string(method)?,
            held,
            i64::from(cap),
        ])?;
    one_row(changed, Version::FIRST)
}

fn update_method(
    tx: &Transaction<'_>,
    user: &UserId,
    expected: Version,
    method: &RegisteredMethod,
) -> Result<Write, SqliteError> {
    if method.user() != user || expected.next() == expected {
        return Ok(Write::Conflict);
    }
    let changed = tx
        .prepare_cached(
            "UPDATE tap_methods SET version = ?1, document = ?2
             WHERE user_id = ?3 AND id = ?4 AND version = ?5",
        )?
        .execute(params![
            sql_version(expected.next())?,
            serde_json::to_string(method)?,
            user.as_str(),
            method.id().as_str(),
            sql_version(expected)?,
        ])?;
    one_row(changed, expected.next())
}

fn remove_method(tx: &Transaction<'_>, user: &UserId, id: &MethodId) -> Result<Write, SqliteError> {
    returned(
        tx.prepare_cached(
            "DELETE FROM tap_methods WHERE user_id = ?1 AND id = ?2 RETURNING version",
        )?
        .query_row(params![user.as_str(), id.as_str()], |r| r.get(0))
        .optional()?,
    )
}

fn pass_of(ceremony: &Ceremony) -> Option<String> {
    match ceremony.kind() {
        CeremonyKind::Registration { pass, .. } => Some(pass.to_string()),
        _ => None,
    }
}

fn open_ceremony(
    tx: &Transaction<'_>,
    ceremony: &Ceremony,
    held: Option<&str>,
    per_user: u32,
) -> Result<Write, SqliteError> {
    let user = ceremony.user();
    let taken = tx
        .prepare_cached("SELECT 1 FROM tap_ceremonies WHERE user_id = ?1 AND id = ?2")?
        .query_row(params![user.as_str(), ceremony.id().as_str()], |_| Ok(()))
        .optional()?
        .is_some();
    if taken || !holds(tx, user, held)? {
        return Ok(Write::Conflict);
    }
    let kind = ceremony.kind().name();
    // The user's ceremonies of this kind that are over, then the oldest beyond the cap.
    tx.prepare_cached(
        "DELETE FROM tap_ceremonies WHERE user_id = ?1 AND kind = ?2 AND expires <= ?3",
    )?
    .execute(params![user.as_str(), kind, epoch_nanos(ceremony.opened())])?;
    tx.prepare_cached(
        "DELETE FROM tap_ceremonies WHERE rowid IN (
             SELECT rowid FROM tap_ceremonies WHERE user_id = ?1 AND kind = ?2
             ORDER BY rowid
             LIMIT max(0, (SELECT count(*) FROM tap_ceremonies WHERE user_id = ?1 AND kind = ?2)
                          - ?3 + 1))",
    )?
    .execute(params![user.as_str(), kind, i64::from(per_user.max(1))])?;
    let changed = tx
        .prepare_cached(
            "INSERT INTO tap_ceremonies (user_id, id, kind, pass_id, expires, version, document)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
        )?
        .execute(params![
            user.as_str(),
            ceremony.id().as_str(),
            kind,
            pass_of(ceremony),
            epoch_nanos(ceremony.expires()),
            serde_json::to_string(ceremony)?,
        ])?;
    one_row(changed, Version::FIRST)
}

fn update_ceremony(
    tx: &Transaction<'_>,
    expected: Version,
    ceremony: &Ceremony,
) -> Result<Write, SqliteError> {
    if expected.next() == expected {
        return Ok(Write::Conflict);
    }
    let changed = tx
        .prepare_cached(
            "UPDATE tap_ceremonies SET version = ?1, document = ?2
             WHERE user_id = ?3 AND id = ?4 AND version = ?5 AND kind = ?6",
        )?
        .execute(params![
            sql_version(expected.next())?,
            serde_json::to_string(ceremony)?,
            ceremony.user().as_str(),
            ceremony.id().as_str(),
            sql_version(expected)?,
            ceremony.kind().name(),
        ])?;
    one_row(changed, expected.next())
}

fn remove_ceremony(
    tx: &Transaction<'_>,
    user: &UserId,
    id: &CeremonyId,
    expected: Version,
) -> Result<Write, SqliteError> {
    let changed = tx
        .prepare_cached(
            "DELETE FROM tap_ceremonies WHERE user_id = ?1 AND id = ?2 AND version = ?3",
        )?
        .execute(params![user.as_str(), id.as_str(), sql_version(expected)?])?;
    one_row(changed, expected)
}

/// Applies a change of a method or a ceremony in `tx`; `None` for a change that is neither.
pub(super) fn apply(tx: &Transaction<'_>, change: &Change) -> Result<Option<Write>, SqliteError> {
    Ok(Some(match change {
        Change::AddMethod {
            user,
            held,
            method,
            cap,
        } => add_method(
            tx,
            user,
            held.map(|p| p.to_string()).as_deref(),
            method,
            *cap,
        )?,
        Change::UpdateMethod {
            user,
            expected,
            method,
        } => update_method(tx, user, *expected, method)?,
        Change::RemoveMethod { user, id } => remove_method(tx, user, id)?,
        Change::OpenCeremony {
            ceremony,
            held,
            per_user,
        } => open_ceremony(
            tx,
            ceremony,
            held.map(|p| p.to_string()).as_deref(),
            *per_user,
        )?,
        Change::UpdateCeremony { expected, ceremony } => update_ceremony(tx, *expected, ceremony)?,
        Change::RemoveCeremony { user, id, expected } => remove_ceremony(tx, user, id, *expected)?,
        _ => return Ok(None),
    }))
}
