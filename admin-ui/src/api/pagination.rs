//! `?limit=&cursor=` on list endpoints, and the `{data, next_cursor}` envelope.

use crate::error::ApiError;
use activities::pagination::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
use serde::Deserialize;
use utoipa::IntoParams;

/// Paging parameters of a list request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// Validates into a page request (422 for a bad limit or cursor).
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(uuid::Uuid::try_parse(text).map_err(|_| {
                ApiError::invalid_field("cursor", "is not a cursor returned by this endpoint")
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// One page of a list: `{data, next_cursor}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Listed<T: utoipa::ToSchema> {
    /// The items, in the list's stable order.
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: utoipa::ToSchema> Listed<T> {
    /// Wraps a page whose cursor is the last row's id.
    pub fn from_page(page: activities::pagination::Page<T>) -> Listed<T> {
        Listed {
            data: page.data,
            next_cursor: page.next_cursor.map(|id| id.to_string()),
        }
    }
}

/// A page request from the `limit` and `cursor` of a resource's own query struct.
pub fn page_of(limit: Option<i64>, cursor: Option<String>) -> Result<PageRequest, ApiError> {
    ListParams { limit, cursor }.page()
}

/// The search parameter `q` as a contains-pattern (422 when too long).
pub fn search_of(q: Option<&str>) -> Result<Option<String>, ApiError> {
    engine::validation::contains_pattern(q).map_err(|e| ApiError::invalid_field("q", e.to_string()))
}
