//! Time tracking's pure rules: time periods ([`periods`]) and the timesheet
//! approval state machine with overlap detection ([`timesheets`]).

pub mod periods;
pub mod timesheets;
