//! Row mapping, once for both backends: the stored types derive
//! `sqlx::FromRow`, and every query selects the same column lists.

use sqlx::{FromRow, Row};

use super::{AttachmentRow, DeviceSummary, EnrollSecret, StoreResult, TicketRow, TicketWork, User};

/// An enroll secret's columns.
pub(crate) const SECRET_COLUMNS: &str = "id, label, created_at, expires_at, revoked_at";

/// A ticket's columns.
pub(crate) const TICKET_COLUMNS: &str = "id, subject, description, category, urgency, status, priority, created_at, updated_at, ticket_type, rating_opens_at";

/// The technician fields read with [`TICKET_COLUMNS`] for a [`TicketWork`].
pub(crate) const WORK_COLUMNS: &str = "device_id, impact, tier, assignee_id, version, channel, \
     requester_name, requester_email, team_id, created_by, problem_id, sla_state, sla_due_at";

/// A device's columns as technicians list them.
pub(crate) const DEVICE_COLUMNS: &str = "id, hostname, serial_number, agent_version, health, last_seen, enrolled_at, \
     os_name, os_version, users, duplicate_of, revoked_at";

fn row<'r, T: FromRow<'r, R>, R: Row>(r: &'r R) -> StoreResult<T> {
    Ok(T::from_row(r)?)
}

pub(crate) fn user<'r, R: Row>(r: &'r R) -> StoreResult<User>
where
    User: FromRow<'r, R>,
{
    row(r)
}

pub(crate) fn secret<'r, R: Row>(r: &'r R) -> StoreResult<EnrollSecret>
where
    EnrollSecret: FromRow<'r, R>,
{
    row(r)
}

pub(crate) fn ticket_row<'r, R: Row>(r: &'r R) -> StoreResult<TicketRow>
where
    TicketRow: FromRow<'r, R>,
{
    row(r)
}

pub(crate) fn ticket_work<'r, R: Row>(r: &'r R) -> StoreResult<TicketWork>
where
    TicketWork: FromRow<'r, R>,
{
    row(r)
}

pub(crate) fn device_summary<'r, R: Row>(r: &'r R) -> StoreResult<DeviceSummary>
where
    DeviceSummary: FromRow<'r, R>,
{
    row(r)
}

pub(crate) fn attachment_row<'r, R: Row>(r: &'r R) -> StoreResult<AttachmentRow>
where
    AttachmentRow: FromRow<'r, R>,
{
    row(r)
}
