//! Lookups the record and ticket pages share: client and user names for list rows,
//! and the options of client and user selects.

use activities::clients::{self, Client, ClientFilter};
use activities::pagination::{PageRequest, MAX_LIMIT};
use activities::users::{self, User};
use activities::{DbError, TenantTx};
use std::collections::HashMap;
use uuid::Uuid;

/// Names of the clients `ids`, for lists of contacts and assets that show whose
/// they are (one primary-key lookup per distinct client of the page).
pub async fn client_names(
    tx: &mut TenantTx,
    ids: Vec<Uuid>,
) -> Result<HashMap<String, String>, DbError> {
    let mut names = HashMap::new();
    for id in ids {
        let key = id.to_string();
        if names.contains_key(&key) {
            continue;
        }
        if let Some(client) = clients::find_client(tx, id).await? {
            names.insert(key, client.name);
        }
    }
    Ok(names)
}

/// Live clients to choose from in a select (the first 200 by recency), with
/// `current` added when it is not among them, so an edit form never loses its value.
pub async fn client_options(
    tx: &mut TenantTx,
    current: Option<Uuid>,
) -> Result<Vec<Client>, DbError> {
    let filter = ClientFilter {
        is_inactive: Some(false),
        ..ClientFilter::default()
    };
    let request = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let mut options = clients::list_clients(tx, &filter, request).await?.data;
    if let Some(id) = current.filter(|id| !options.iter().any(|c| c.id == *id)) {
        if let Some(client) = clients::find_client(tx, id).await? {
            options.push(client);
        }
    }
    options.sort_by_key(|c| c.name.to_lowercase());
    Ok(options)
}

/// Display names of the users `ids` (assignees, comment authors), one primary-key
/// lookup per distinct user; unknown ids are left out.
pub async fn user_names(
    tx: &mut TenantTx,
    ids: Vec<Uuid>,
) -> Result<HashMap<String, String>, DbError> {
    let mut names = HashMap::new();
    for id in ids {
        let key = id.to_string();
        if names.contains_key(&key) {
            continue;
        }
        if let Some(user) = users::find_user(tx, id).await? {
            names.insert(key, user.full_name);
        }
    }
    Ok(names)
}

/// Active users to choose from in a select (the first 200), by name, with the
/// users `current` added when missing (deactivated, or beyond the first 200), so a
/// form never loses its value.
pub async fn user_options(
    tx: &mut TenantTx,
    current: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<User>, DbError> {
    let request = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let mut options: Vec<User> = users::list_users(tx, request)
        .await?
        .data
        .into_iter()
        .filter(|u| u.is_active)
        .collect();
    for id in current {
        if options.iter().any(|u| u.id == id) {
            continue;
        }
        if let Some(user) = users::find_user(tx, id).await? {
            options.push(user);
        }
    }
    options.sort_by_key(|u| u.full_name.to_lowercase());
    Ok(options)
}
