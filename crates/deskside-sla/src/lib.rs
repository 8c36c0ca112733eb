//! Service-level agreements for the desk: business-hours calendars
//! ([`calendar`], holidays importable from `.ics` files by [`ics`]), the
//! choice of a ticket's policy ([`selection`]) and each SLA clock's state
//! computed from the ticket's recorded history ([`clock`]).
//!
//! Pure and deterministic: no I/O, no reading of the system clock. The
//! desk stores a ticket's status changes and replies, passes them here
//! with the instant to evaluate at, and stores the warnings and breaches
//! this reports; every node computes the same instants from the same rows.

pub mod calendar;
pub mod clock;
pub mod ics;
pub mod selection;

pub use calendar::{Calendar, CalendarError, Hours, Span, format_time, parse_time};
pub use clock::{
    ClockKind, ClockReport, ClockState, Evaluation, Event, Happening, History, Pauses, Status,
    StatusSet, Targets, evaluate,
};
pub use ics::{IcsError, holidays_from_ics};
pub use selection::{Conditions, TicketFacts, select};
