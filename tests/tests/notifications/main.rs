//! E-mail notifications end to end: what Keel sends goes through a real SMTP
//! server (`scripts/smtp_sink.py`, see `keel_tests::smtp`) and is read back from
//! what that server stored.

mod delivery;
mod sink;
