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
