//! The Rhai playbook runtime: sandbox, registered functions, compile/validate and the
//! durable interpreter used by the PlaybookRun workflow. It depends only on `engine`.
//! Nothing is built here yet: the runtime arrives with the Playbooks issue, and the
//! crate exists now so the workspace's dependency arrows are fixed from the start.
