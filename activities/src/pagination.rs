//! Keyset pagination over UUIDv7 ids: ids grow with time, so "newest first" is
//! `ORDER BY id DESC` and the cursor is the last id of the page.

use uuid::Uuid;

/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 200;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 50;

/// A request for one page.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    /// How many rows (1..=MAX_LIMIT).
    pub limit: i64,
    /// Rows strictly older than this id.
    pub after: Option<Uuid>,
}

/// One page of rows and the cursor of the next, if any.
#[derive(Debug)]
pub struct Page<T> {
    /// The rows, newest first.
    pub data: Vec<T>,
    /// The cursor for the next page, `None` on the last one.
    pub next_cursor: Option<Uuid>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells whether
    /// another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> Uuid) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if has_more {
            rows.last().map(&id_of)
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }

    /// Transforms the rows, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
