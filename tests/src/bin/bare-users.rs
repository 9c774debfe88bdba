//! The benchmark baseline: a bare axum handler running the same users query as
//! `GET /api/v1/users`, with no auth, no RLS transaction and no middleware. It
//! connects as the database owner. Used only by `scripts/bench.sh`.

use axum::{extract::State, routing::get, Json, Router};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Queryable, serde::Serialize)]
struct Row {
    id: uuid::Uuid,
    email: String,
    full_name: String,
    is_active: bool,
    created_at: chrono::DateTime<chrono::Utc>,
    roles: Vec<String>,
}

async fn users(State(pool): State<Pool<AsyncPgConnection>>) -> Json<Vec<Row>> {
    use activities::schema::users_with_roles::dsl as u;
    let mut conn = pool.get().await.expect("connection");
    let rows = u::users_with_roles
        .select((
            u::id,
            u::email,
            u::full_name,
            u::is_active,
            u::created_at,
            u::roles,
        ))
        .order(u::id.desc())
        .limit(51)
        .load(&mut conn)
        .await
        .expect("query");
    Json(rows)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let listen = std::env::var("BARE_LISTEN").unwrap_or_else(|_| "127.0.0.1:58181".to_owned());
    let pool = Pool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(url))
        .max_size(16)
        .build()
        .expect("pool");
    let app = Router::new().route("/users", get(users)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
