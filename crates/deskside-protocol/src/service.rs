//! Service management as technicians and the console see it: ticket types
//! and channels, teams, SLA calendars and policies, and each ticket's SLA
//! clocks.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// ITIL's two kinds of ticket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    /// Something is broken.
    #[default]
    Incident,
    /// The employee needs something.
    ServiceRequest,
}

/// How a ticket reached the desk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The tray app's Report a problem.
    #[default]
    Tray,
    /// A phone call.
    Phone,
    /// Someone at the desk.
    WalkIn,
    /// An e-mail.
    Email,
    /// A chat message.
    Chat,
}

/// How a team hands out new tickets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoAssign {
    /// Technicians pick tickets themselves.
    #[default]
    None,
    /// Each member in turn.
    RoundRobin,
    /// The member with the fewest open tickets.
    LeastOpen,
}

/// A team of technicians.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// Name, unique ignoring case.
    pub name: String,
    /// Automatic assignment of its new tickets.
    pub auto_assign: AutoAssign,
    /// Its members.
    pub members: Vec<TeamMember>,
}

/// A member of a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TeamMember {
    /// User id.
    pub user_id: i64,
    /// E-mail.
    pub email: String,
    /// Marked away: automatic assignment skips them.
    pub away: bool,
    /// Their open (new, open or pending) tickets.
    pub open_tickets: i64,
}

/// `POST /api/v1/teams`, `PUT /api/v1/teams/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Name, 1–100 characters.
    pub name: String,
    /// Automatic assignment.
    #[serde(default)]
    pub auto_assign: AutoAssign,
    /// Members by e-mail (active users).
    #[serde(default)]
    pub members: Vec<String>,
}

/// An SLA clock.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    /// To the first public technician reply.
    FirstResponse,
    /// To resolution.
    Resolution,
    /// From each employee reply to the technician's answer.
    NextResponse,
}

/// An SLA clock's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// Counting, below the warning.
    Running,
    /// Counting, past the warning.
    Warning,
    /// Not counting: the ticket's status pauses it.
    Paused,
    /// Stopped within its target.
    Met,
    /// Past its target, stopped or not.
    Breached,
}

/// A ticket status that can pause a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PausingStatus {
    /// New.
    New,
    /// Open.
    Open,
    /// Pending.
    Pending,
}

/// One working interval of a day, `["09:00", "12:30"]`.
pub type WorkingInterval = [String; 2];

/// Working intervals per weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekHours {
    /// Monday.
    #[serde(default)]
    pub mon: Vec<WorkingInterval>,
    /// Tuesday.
    #[serde(default)]
    pub tue: Vec<WorkingInterval>,
    /// Wednesday.
    #[serde(default)]
    pub wed: Vec<WorkingInterval>,
    /// Thursday.
    #[serde(default)]
    pub thu: Vec<WorkingInterval>,
    /// Friday.
    #[serde(default)]
    pub fri: Vec<WorkingInterval>,
    /// Saturday.
    #[serde(default)]
    pub sat: Vec<WorkingInterval>,
    /// Sunday.
    #[serde(default)]
    pub sun: Vec<WorkingInterval>,
}

impl WeekHours {
    /// The days, Monday first.
    pub fn days(&self) -> [&Vec<WorkingInterval>; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }
}

/// Business hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaCalendar {
    /// Id.
    pub id: i64,
    /// Name, unique ignoring case.
    pub name: String,
    /// IANA time zone (`Europe/Berlin`).
    pub time_zone: String,
    /// Working intervals per weekday, local time.
    pub week: WeekHours,
    /// Days off, local dates.
    pub holidays: Vec<NaiveDate>,
}

/// `POST /api/v1/sla/calendars`, `PUT /api/v1/sla/calendars/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaCalendarInput {
    /// Name, 1–100 characters.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Working intervals per weekday.
    pub week: WeekHours,
    /// Days off.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

/// Which tickets a policy applies to; an empty list matches any value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaConditions {
    /// Ticket types.
    #[serde(default)]
    pub types: Vec<TicketType>,
    /// Priorities 1–5.
    #[serde(default)]
    pub priorities: Vec<u8>,
    /// Categories.
    #[serde(default)]
    pub categories: Vec<crate::TicketCategory>,
    /// Team ids.
    #[serde(default)]
    pub teams: Vec<i64>,
}

/// Which statuses pause which clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPauses {
    /// Pausing first response (none by default).
    #[serde(default)]
    pub first_response: Vec<PausingStatus>,
    /// Pausing resolution (pending by default).
    #[serde(default = "pending")]
    pub resolution: Vec<PausingStatus>,
    /// Pausing next response (pending by default).
    #[serde(default = "pending")]
    pub next_response: Vec<PausingStatus>,
}

fn pending() -> Vec<PausingStatus> {
    vec![PausingStatus::Pending]
}

impl Default for SlaPauses {
    fn default() -> Self {
        Self {
            first_response: Vec::new(),
            resolution: pending(),
            next_response: pending(),
        }
    }
}

/// When an escalation fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaEventKind {
    /// A clock passed its warning share.
    Warning,
    /// A clock passed its target.
    Breach,
}

/// What the desk does when a clock warns or breaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaEscalation {
    /// At the warning or at the breach.
    pub on: SlaEventKind,
    /// Of these clocks (empty: any).
    #[serde(default)]
    pub clocks: Vec<SlaClock>,
    /// Tell the assignee and the team in the console.
    #[serde(default)]
    pub notify: bool,
    /// Raise the support tier by one (up to 3).
    #[serde(default)]
    pub raise_tier: bool,
    /// Move the ticket to this team.
    #[serde(default)]
    pub move_to_team: Option<i64>,
    /// Raise the priority by one step (up to 1, critical).
    #[serde(default)]
    pub raise_priority: bool,
}

/// An SLA policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaPolicy {
    /// Id.
    pub id: i64,
    /// Name, unique ignoring case.
    pub name: String,
    /// Order of evaluation, from 1: the first matching policy applies.
    pub position: i64,
    /// Which tickets it applies to.
    pub conditions: SlaConditions,
    /// Business hours; absent: around the clock.
    pub calendar_id: Option<i64>,
    /// First response target, minutes of working time.
    pub first_response_minutes: Option<i64>,
    /// Resolution target, minutes.
    pub resolution_minutes: Option<i64>,
    /// Next response target, minutes.
    pub next_response_minutes: Option<i64>,
    /// Warn at this share of a target (1–99 %).
    pub warn_percent: u8,
    /// Which statuses pause which clock.
    pub pauses: SlaPauses,
    /// Actions at warnings and breaches.
    pub escalations: Vec<SlaEscalation>,
}

/// `POST /api/v1/sla/policies`, `PUT /api/v1/sla/policies/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyInput {
    /// Name, 1–100 characters.
    pub name: String,
    /// Which tickets it applies to.
    #[serde(default)]
    pub conditions: SlaConditions,
    /// Business hours; absent: around the clock.
    #[serde(default)]
    pub calendar_id: Option<i64>,
    /// First response target, minutes (1 to 525,600).
    #[serde(default)]
    pub first_response_minutes: Option<i64>,
    /// Resolution target, minutes.
    #[serde(default)]
    pub resolution_minutes: Option<i64>,
    /// Next response target, minutes.
    #[serde(default)]
    pub next_response_minutes: Option<i64>,
    /// Warn at this share of a target (1–99 %, default 75).
    #[serde(default = "seventy_five")]
    pub warn_percent: u8,
    /// Which statuses pause which clock.
    #[serde(default)]
    pub pauses: SlaPauses,
    /// Actions at warnings and breaches.
    #[serde(default)]
    pub escalations: Vec<SlaEscalation>,
}

fn seventy_five() -> u8 {
    75
}

/// One clock of a ticket (or one next-response cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SlaClockView {
    /// Which clock.
    pub clock: SlaClock,
    /// Next response: which wait, from 1.
    pub cycle: u32,
    /// Target, seconds of working time; absent when the policy has none.
    pub target_secs: Option<i64>,
    /// Working time counted so far (pauses excluded).
    pub elapsed_secs: i64,
    /// Time counted around the clock (pauses excluded).
    pub elapsed_calendar_secs: i64,
    /// Time paused.
    pub paused_secs: i64,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it stopped; absent while it runs or is paused.
    pub stopped_at: Option<DateTime<Utc>>,
    /// When it is (or was) breached; absent while paused or when met.
    pub due_at: Option<DateTime<Utc>>,
    /// When it passed its warning share.
    pub warning_at: Option<DateTime<Utc>>,
    /// When it passed its target.
    pub breached_at: Option<DateTime<Utc>>,
    /// State now.
    pub state: SlaState,
}

/// A ticket's SLA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TicketSla {
    /// The policy that applies (id, name); absent when none matches.
    pub policy_id: Option<i64>,
    /// Its name.
    pub policy_name: Option<String>,
    /// The calendar's name; absent: around the clock.
    pub calendar_name: Option<String>,
    /// Each clock; next response once per wait.
    pub clocks: Vec<SlaClockView>,
    /// How often the ticket was reopened.
    pub reopens: u32,
}

/// A problem record (ITIL problem management): the common cause of
/// incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// Id.
    pub id: i64,
    /// One line.
    pub subject: String,
    /// What is known.
    pub description: String,
    /// The root cause, once found.
    pub root_cause: String,
    /// How to get around it meanwhile.
    pub workaround: String,
    /// A known error: root cause and workaround documented.
    pub known_error: bool,
    /// `open` or `resolved`.
    pub status: String,
    /// Who opened it.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Incidents linked to it.
    pub incidents: i64,
}

/// `POST /api/v1/problems`, `PATCH /api/v1/problems/{id}` (absent fields
/// stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemInput {
    /// One line, 1–200 characters (required to create).
    #[serde(default)]
    pub subject: Option<String>,
    /// What is known.
    #[serde(default)]
    pub description: Option<String>,
    /// The root cause.
    #[serde(default)]
    pub root_cause: Option<String>,
    /// The workaround.
    #[serde(default)]
    pub workaround: Option<String>,
    /// A known error.
    #[serde(default)]
    pub known_error: Option<bool>,
}

/// What resolving a problem does to its open incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkedIncidents {
    /// Resolve them (with the message as a public reply, when given).
    Resolve,
    /// Tell their requesters (the message as a public reply).
    Notify,
    /// Leave them as they are.
    Leave,
}

/// A problem the desk proposes: several devices had incidents (tickets,
/// checks turning failing) within 48 hours of the same software change
/// (a package added or upgraded to one version). A technician accepts it
/// (a problem record with those incidents) or dismisses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProblemCandidate {
    /// Id.
    pub id: i64,
    /// The package.
    pub name: String,
    /// The version added or upgraded to.
    pub version: String,
    /// `proposed`, `accepted` or `dismissed`.
    pub state: String,
    /// The devices with an incident after the change.
    pub devices: Vec<CandidateDevice>,
    /// Those incidents, oldest first.
    pub incidents: Vec<CandidateIncident>,
    /// Other devices that have this version, without an incident (yet).
    pub others: Vec<CandidateDevice>,
    /// The problem record it became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<i64>,
    /// When the desk first proposed it.
    pub created_at: DateTime<Utc>,
    /// When its evidence last changed.
    pub updated_at: DateTime<Utc>,
}

/// A device of a [`ProblemCandidate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CandidateDevice {
    /// Id.
    pub id: i64,
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// When the change reached it (absent for other devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
}

/// An incident of a [`ProblemCandidate`]: a ticket, or a check that
/// began failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CandidateIncident {
    /// The device.
    pub device_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i64>,
    /// Its subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The check that began failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_id: Option<String>,
}

/// `POST /api/v1/problems/{id}/resolve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemResolution {
    /// What to do with the open incidents linked to it.
    pub incidents: LinkedIncidents,
    /// A public reply to each of them (required to notify).
    #[serde(default)]
    pub message: Option<String>,
}
