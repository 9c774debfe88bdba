//! A client's history across modules, newest first, from the `client_timeline` view
//! (each module adds its branch to the view).

use crate::db::{DbError, TenantTx};
use crate::schema::client_timeline;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use uuid::Uuid;

/// One entry of the timeline.
#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = client_timeline)]
pub struct TimelineEntry {
    /// `interaction` (and, as modules arrive, `ticket`, `invoice`).
    pub entry_type: String,
    /// The record's id.
    pub entry_id: Uuid,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// A one-line summary.
    pub title: String,
    /// Longer text.
    pub detail: String,
    /// A kind or status label (`call`, `open`, `paid`).
    pub label: String,
}

/// Position in a timeline: entries strictly older than this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineCursor {
    /// Time of the last entry seen.
    pub occurred_at: DateTime<Utc>,
    /// Its id, to break ties.
    pub entry_id: Uuid,
}

impl TimelineCursor {
    /// The opaque text form: `<microseconds>_<uuid>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.occurred_at.timestamp_micros(), self.entry_id)
    }

    /// Parses [`TimelineCursor::encode`]'s output.
    pub fn decode(text: &str) -> Option<TimelineCursor> {
        let (micros, id) = text.split_once('_')?;
        Some(TimelineCursor {
            occurred_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            entry_id: Uuid::try_parse(id).ok()?,
        })
    }
}

/// One page of the client's timeline and the cursor of the next.
pub async fn client_timeline(
    tx: &mut TenantTx,
    client_id: Uuid,
    after: Option<TimelineCursor>,
    limit: i64,
) -> Result<(Vec<TimelineEntry>, Option<TimelineCursor>), DbError> {
    let mut query = client_timeline::table
        .filter(client_timeline::client_id.eq(client_id))
        .select(TimelineEntry::as_select())
        .order((
            client_timeline::occurred_at.desc(),
            client_timeline::entry_id.desc(),
        ))
        .limit(limit + 1)
        .into_boxed();
    if let Some(cursor) = after {
        query = query.filter(
            client_timeline::occurred_at
                .lt(cursor.occurred_at)
                .or(client_timeline::occurred_at
                    .eq(cursor.occurred_at)
                    .and(client_timeline::entry_id.lt(cursor.entry_id))),
        );
    }
    let mut rows = query.load(tx.conn()).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| rows.last())
        .flatten()
        .map(|last| TimelineCursor {
            occurred_at: last.occurred_at,
            entry_id: last.entry_id,
        });
    Ok((rows, next))
}
