//! Time tracking's pure rules: entries ([`entries`]), time periods ([`periods`]) and
//! the timesheet approval state machine with overlap detection ([`timesheets`]).

pub mod entries;
pub mod periods;
pub mod timesheets;
