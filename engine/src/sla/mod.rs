//! Service-level agreements: business hours and the clocks that run on them.

pub mod business_hours;

pub use business_hours::{Holiday, Schedule, ScheduleError, Window};
