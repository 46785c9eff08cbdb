//! The outbox (SPEC 7.1): events written by their change's own statement, without a shared
//! counter, and numbered for readers in transaction-id order below the visibility horizon.
//!
//! A change's statement inserts its events with the writing transaction's id
//! (`pg_current_xact_id()`, `xid8`) and an id from a sequence; nothing else, so a tenant's
//! writers never wait for each other's events (the sequence's `nextval` takes no lock that
//! lasts). Those events are *pending*: no reader sees them yet. A change of a pass's row
//! gives its events, instead of its own id, the greater of it and the one the row's previous
//! change gave (kept in `tap_passes.event_xid`, [`Key`]), so that a pass's events follow its
//! row's commits even when a later writer of the row was given a lower id. Below, "a
//! transaction id" of an event is that key: never below its own transaction's id.
//!
//! A read numbers the pending events first, then reads by number. The numbering takes the
//! tenant's numbering lock (a transaction-scoped advisory lock, so readers take turns, writers
//! never), and numbers, from the tenant's high-water mark in `tap_outbox_head`, the pending
//! events of every transaction that has ended: those whose transaction id is below the
//! snapshot's horizon (`pg_snapshot_xmin(pg_current_snapshot())`, the oldest transaction still
//! running). They are numbered in transaction-id order, then by id (a transaction's own
//! order). A transaction still running holds back the events of every transaction that began
//! after it, never skipping them: its own may still come, with a lower transaction id, and
//! must take a lower number than theirs. A reader that saw number `n` has therefore seen every
//! number below it, and a number once given never changes.
//!
//! Before numbering, a read waits, for at most the store's horizon wait
//! ([`PgStore::with_horizon_wait`], a second by default), for the transactions running when
//! it began to end, so that what committed before a read is what it serves. A transaction
//! still running past that (a long one, or one a client abandoned) delays the events after it
//! until it ends; set `idle_in_transaction_session_timeout` for the server's clients so that an
//! abandoned one ends (the reference service sets it on its own connections). The horizon is
//! the cluster's: a long transaction in another database of the same server delays readers
//! too.
//!
//! Pending rows whose transaction id is at or above the snapshot's `xmax` cannot be this
//! server's (no transaction of the snapshot's time has such an id): they were restored from a
//! logical dump of another server, whose transaction ids run on from elsewhere. They are
//! numbered at once, before the others, in their own order, rather than waiting for this
//! server's ids to catch up with them.

use std::time::Duration;

use tokio::time::Instant;

use temporary_access_pass::store::{Recorded, Sequence};
use tokio_postgres::types::ToSql;

use crate::{BEGIN, PgError, PgStore, sql_sequence};

/// Migration 4: events carry the writing transaction's id and their own id; `seq` is given by
/// the reader's numbering (so a pending event has none) and stays unique per tenant.
/// `tap_outbox_head` keeps the tenant's last number, written only by the numbering now. Rows
/// already numbered keep their numbers, so readers' positions carry over.
pub(crate) const MIGRATION: &str = "
    ALTER TABLE tap_events DROP CONSTRAINT tap_events_pkey;
    ALTER TABLE tap_events ALTER COLUMN seq DROP NOT NULL;
    ALTER TABLE tap_events ADD COLUMN id bigserial PRIMARY KEY;
    ALTER TABLE tap_events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
    CREATE UNIQUE INDEX tap_events_seq ON tap_events (tenant, seq) WHERE seq IS NOT NULL;
    CREATE INDEX tap_events_pending ON tap_events (tenant, xid, id) WHERE seq IS NULL;";

/// Migration 5: a pass's row keeps the order key its last change's events took, so that the
/// next change of the row orders its events after them (see [`append`]).
pub(crate) const MIGRATION_5: &str = "ALTER TABLE tap_passes ADD COLUMN event_xid xid8;";

/// The order key of a change's events: the transaction's id, or, for a change of a pass's
/// row, the greater of it and the key the row's previous change gave its events.
///
/// A transaction's id is given at its first write, which may come before it waits for a row
/// another transaction then changes and commits first: a deletion waiting behind a key's
/// registration (`FOR KEY SHARE`) while a sign-in updates the row would otherwise take a lower
/// id than the sign-in it follows, and be read before it. Carried in the row, the key follows
/// the row's commits. It is never below the transaction's own id, so the events of a
/// transaction still running are never below the horizon a read numbers up to.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// The transaction's id.
    Transaction,
    /// `changed.key`, which the pass's statement returns.
    Chained,
}

/// The clause that appends a change's events (parameter `$events`, a `text[]`) when `changed`
/// returned its row, in the events' own order, under `key`.
pub(crate) fn append(events: usize, key: Key) -> String {
    let key = match key {
        Key::Transaction => "pg_current_xact_id()",
        Key::Chained => "changed.key",
    };
    format!(
        "appended AS (
             INSERT INTO tap_events (tenant, event, xid)
             SELECT $1, e.doc, {key}
             FROM changed, unnest(${events}::text[]) WITH ORDINALITY AS e(doc, ord)
             ORDER BY e.ord)"
    )
}

/// The tenant's numbering lock: `hashtextextended` of the tenant under a prefix of its own.
const LOCK_NUMBERING: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('tap_outbox' || chr(31) || $1, 0))";

/// The horizon a read waits for: every transaction running when it began (ids below the
/// snapshot's `xmax`) has ended when `xmin` reaches it. Text, as `xid8` has no Rust type here.
const HORIZON: &str = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text";

const PASSED: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8";

/// Numbers up to `$2` pending events of tenant `$1` whose transactions have ended (or that
/// were restored from another server: at or past `xmax`), from the tenant's last number.
const NUMBER: &str = "
    WITH horizon AS (SELECT pg_current_snapshot() AS s),
    pending AS (
        SELECT e.id, row_number() OVER (
                   ORDER BY e.xid >= pg_snapshot_xmax(h.s) DESC, e.xid, e.id) AS n
        FROM tap_events e, horizon h
        WHERE e.tenant = $1 AND e.seq IS NULL
          AND (e.xid < pg_snapshot_xmin(h.s) OR e.xid >= pg_snapshot_xmax(h.s))
        ORDER BY n
        LIMIT $2),
    counted AS (SELECT count(*) AS k FROM pending),
    head AS (
        INSERT INTO tap_outbox_head AS o (tenant, last)
        SELECT $1, k FROM counted WHERE k > 0
        ON CONFLICT (tenant) DO UPDATE SET last = o.last + EXCLUDED.last
        RETURNING last),
    numbered AS (
        UPDATE tap_events e SET seq = head.last - counted.k + p.n
        FROM pending p, head, counted
        WHERE e.id = p.id
        RETURNING 1)
    SELECT count(*) FROM numbered";

/// At most this many events are numbered by one read (the next read numbers the rest).
const NUMBER_AT_MOST: i64 = 10_000;

/// How long a read waits for the horizon by default.
pub(crate) const DEFAULT_HORIZON_WAIT: Duration = Duration::from_secs(1);

impl PgStore {
    /// The outbox's events after `after`, at most `limit`, once the events of the
    /// transactions that have ended are numbered (see the module).
    pub(crate) async fn read_outbox(
        &self,
        after: Sequence,
        limit: usize,
    ) -> Result<Vec<Recorded>, PgError> {
        let client = self.pool.get().await?;
        let tenant: &str = &self.tenant;
        // What committed before this read: wait for the transactions running now to end.
        let horizon: String = client.query_one(HORIZON, &[]).await?.try_get(0)?;
        let passed = client.prepare_cached(PASSED).await?;
        let deadline = Instant::now().checked_add(self.horizon_wait);
        let mut pause = Duration::from_millis(1);
        while !client
            .query_one(&passed, &[&horizon])
            .await?
            .try_get::<_, bool>(0)?
        {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(Duration::from_millis(20));
        }
        // Number what has ended, under the tenant's numbering lock.
        let held = crate::HeldConnection {
            client: Some(client),
        };
        let client = held.client();
        let (lock, number) = futures_util::future::join(
            client.prepare_cached(LOCK_NUMBERING),
            client.prepare_cached(NUMBER),
        )
        .await;
        let (lock, number) = (lock?, number?);
        let numbering: [&(dyn ToSql + Sync); 2] = [&tenant, &NUMBER_AT_MOST];
        let (begun, locked, numbered, committed) = futures_util::future::join4(
            client.batch_execute(BEGIN),
            client.execute(&lock, &[&tenant]),
            client.query_one(&number, &numbering),
            client.batch_execute("COMMIT"),
        )
        .await;
        begun?;
        locked?;
        numbered?;
        committed?;
        let read = client
            .prepare_cached(
                "SELECT seq, event FROM tap_events WHERE tenant = $1 AND seq > $2
                 ORDER BY seq LIMIT $3",
            )
            .await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(&read, &[&tenant, &sql_sequence(after), &limit])
            .await?;
        held.finish();
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get(0)?;
                let sequence = Sequence::from_i64(seq)
                    .ok_or_else(|| PgError::Corrupt(format!("negative sequence {seq}")))?;
                let event: String = row.try_get(1)?;
                Ok(Recorded::new(sequence, serde_json::from_str(&event)?))
            })
            .collect()
    }
}
