//! Client lookups the contact and asset pages share: names for list rows and the
//! options of a client select.

use activities::clients::{self, Client, ClientFilter};
use activities::pagination::{PageRequest, MAX_LIMIT};
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
