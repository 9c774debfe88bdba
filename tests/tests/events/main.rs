//! The event bus against real Postgres and Redis: outbox → relay → Redis Streams →
//! consumer groups, including Redis outages and consumer crashes.

mod bus;
mod outage;
