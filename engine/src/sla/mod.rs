//! Service-level agreements: business hours, policies, and the clock that runs on
//! them for each ticket.

pub mod business_hours;
pub mod clock;
pub mod policy;

pub use business_hours::{Holiday, Schedule, ScheduleError, Window};
pub use clock::{Measure, Milestone, SlaClock, TargetClock};
