//! The Rhai playbook runtime: the sandboxed engine, the action catalogue, compile
//! and static validation with `line:column` errors, and the replaying interpreter
//! the `PlaybookRun` workflow drives. It depends only on `engine` and does no I/O:
//! every side effect a script asks for comes back to the caller as a [`Request`].

pub mod catalogue;
pub mod cron;
pub mod helpers;
pub mod input_schema;
pub mod manifest;
pub mod replay;
pub mod sandbox;
pub mod testing;
pub mod triggers;
pub mod validate;
pub mod workflow;

pub use catalogue::{ActionSpec, FieldSpec, ACTIONS};
pub use replay::{evaluate, Evaluation, JournalEntry, Request};
pub use validate::{compile, CompileError, Program};
pub use workflow::PlaybookRun;
