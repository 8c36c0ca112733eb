//! SLA evaluation at the desk: the administrators' calendars and policies
//! turned into [`deskside_sla`]'s types, each ticket's policy chosen and
//! its clocks computed from its stored history, and the result stored —
//! the cached state the queue sorts and filters on, and the warnings and
//! breaches at the instants they happened, each recorded (and escalated)
//! once however many nodes evaluate the ticket ([`ServiceStore::record_sla`]).
//!
//! A ticket is evaluated after every change of what its SLA depends on
//! (the database counts those changes) and when its next warning or
//! breach comes due; [`run_pass`] does both, and every node may run it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deskside_protocol::{
    PausingStatus, SlaCalendar, SlaClock, SlaClockView, SlaConditions, SlaEscalation, SlaEventKind,
    SlaPauses, SlaState, TicketSla, WeekHours,
};
use deskside_sla::{
    Calendar, ClockKind, ClockReport, ClockState, Conditions, Evaluation, Event, Happening,
    History, Hours, Pauses, Span, Status, StatusSet, Targets, TicketFacts,
};

use crate::store::{
    CalendarRow, EscalationAction, KpiFacts, NewSlaEvent, PolicyRow, ServiceStore, SlaInput,
    SlaRecord, StoreResult,
};

/// Instants this recent are not recorded yet: a reply committed a moment
/// late by another node must not be missed by an evaluation that already
/// declared the breach it prevents.
pub const SETTLE_SECS: i64 = 5;
/// Tickets evaluated per batch of a pass.
const BATCH: u32 = 500;

/// A policy, ready to evaluate with.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Which tickets.
    pub conditions: Conditions,
    /// Business hours.
    pub calendar_id: Option<i64>,
    /// Targets and pauses.
    pub targets: Targets,
    /// Escalations.
    pub escalations: Vec<SlaEscalation>,
}

/// The calendars and policies in force.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// In order.
    pub policies: Vec<Policy>,
    /// By id: (name, calendar).
    pub calendars: HashMap<i64, (String, Calendar)>,
}

/// A calendar's rows as the library's type, or why not.
pub fn calendar_of(
    time_zone: &str,
    week: &WeekHours,
    holidays: &[chrono::NaiveDate],
) -> Result<Calendar, String> {
    let mut days: [Vec<Span>; 7] = Default::default();
    for (day, intervals) in days.iter_mut().zip(week.days()) {
        for [from, to] in intervals {
            let start = deskside_sla::parse_time(from).map_err(|e| e.to_string())?;
            let end = deskside_sla::parse_time(to).map_err(|e| e.to_string())?;
            day.push(Span { start, end });
        }
    }
    Calendar::new(time_zone, days, holidays.iter().copied()).map_err(|e| e.to_string())
}

/// A stored calendar as the API shows it (unreadable JSON reads as empty).
pub fn calendar_view(c: &CalendarRow) -> SlaCalendar {
    SlaCalendar {
        id: c.id,
        name: c.name.clone(),
        time_zone: c.time_zone.clone(),
        week: serde_json::from_str(&c.week).unwrap_or_default(),
        holidays: serde_json::from_str(&c.holidays).unwrap_or_default(),
    }
}

fn status_set(statuses: &[PausingStatus]) -> StatusSet {
    let v: Vec<Status> = statuses
        .iter()
        .map(|s| match s {
            PausingStatus::New => Status::New,
            PausingStatus::Open => Status::Open,
            PausingStatus::Pending => Status::Pending,
        })
        .collect();
    StatusSet::of(&v)
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A stored policy as the library's conditions and targets.
pub fn policy_of(p: &PolicyRow) -> Policy {
    let conditions: SlaConditions = serde_json::from_str(&p.conditions).unwrap_or_default();
    let pauses: SlaPauses = serde_json::from_str(&p.pauses).unwrap_or_default();
    Policy {
        id: p.id,
        name: p.name.clone(),
        conditions: Conditions {
            types: conditions.types.into_iter().map(snake).collect(),
            priorities: conditions.priorities.into_iter().map(i64::from).collect(),
            categories: conditions.categories.into_iter().map(snake).collect(),
            teams: conditions.teams,
        },
        calendar_id: p.calendar_id,
        targets: Targets {
            first_response: p.first_response,
            resolution: p.resolution,
            next_response: p.next_response,
            warn_percent: u8::try_from(p.warn_percent.clamp(1, 99)).unwrap_or(75),
            pauses: Pauses {
                first_response: status_set(&pauses.first_response),
                resolution: status_set(&pauses.resolution),
                next_response: status_set(&pauses.next_response),
            },
        },
        escalations: serde_json::from_str(&p.escalations).unwrap_or_default(),
    }
}

impl Config {
    /// Reads the calendars and policies.
    pub async fn load<S: ServiceStore>(store: &S) -> StoreResult<Self> {
        let calendars = store.list_sla_calendars().await?;
        let policies = store.list_sla_policies().await?;
        Ok(Self::from_rows(&policies, &calendars))
    }

    /// From stored rows. A calendar that no longer reads (a time zone the
    /// tz database dropped) counts around the clock, with a warning.
    pub fn from_rows(policies: &[PolicyRow], calendars: &[CalendarRow]) -> Self {
        let calendars = calendars
            .iter()
            .filter_map(|c| {
                let v = calendar_view(c);
                match calendar_of(&v.time_zone, &v.week, &v.holidays) {
                    Ok(cal) => Some((c.id, (c.name.clone(), cal))),
                    Err(e) => {
                        tracing::warn!(
                            calendar = c.id,
                            "calendar unusable, counting around the clock: {e}"
                        );
                        None
                    }
                }
            })
            .collect();
        Self {
            policies: policies.iter().map(policy_of).collect(),
            calendars,
        }
    }

    /// The policy that applies to a ticket.
    pub fn policy_for(&self, t: &SlaInput) -> Option<&Policy> {
        let facts = TicketFacts {
            ticket_type: &t.ticket_type,
            priority: t.priority,
            category: &t.category,
            team: t.team_id,
        };
        self.policies.iter().find(|p| p.conditions.matches(&facts))
    }

    fn hours(&self, p: Option<&Policy>) -> Hours<'_> {
        p.and_then(|p| p.calendar_id)
            .and_then(|id| self.calendars.get(&id))
            .map_or(Hours::AroundTheClock, |(_, c)| Hours::Business(c))
    }
}

/// A ticket's stored history as the library reads it.
pub fn history(t: &SlaInput) -> History {
    let initial = t
        .statuses
        .first()
        .and_then(|s| Status::parse(&s.0))
        .unwrap_or(Status::New);
    let mut events: Vec<Event> = t
        .statuses
        .iter()
        .skip(1)
        .filter_map(|(s, at)| {
            Some(Event {
                at: at.timestamp(),
                what: Happening::Status(Status::parse(s)?),
            })
        })
        .collect();
    events.extend(t.replies.iter().map(|(technician, at)| Event {
        at: at.timestamp(),
        what: if *technician {
            Happening::TechnicianReply
        } else {
            Happening::RequesterReply
        },
    }));
    // By time; a status change before a reply of the same second (a
    // reopen by the employee's message comes first).
    events.sort_by_key(|e| (e.at, !matches!(e.what, Happening::Status(_))));
    History {
        created_at: t.created_at.timestamp(),
        initial,
        events,
    }
}

/// A ticket's clocks at `now` under the policy that applies (none: no
/// policy matches).
pub fn evaluate<'c>(
    config: &'c Config,
    t: &SlaInput,
    now: i64,
) -> Option<(&'c Policy, Evaluation)> {
    let policy = config.policy_for(t)?;
    let eval = deskside_sla::evaluate(
        &history(t),
        &policy.targets,
        config.hours(Some(policy)),
        now,
    );
    Some((policy, eval))
}

fn clock_name(k: ClockKind) -> &'static str {
    k.as_str()
}

fn clock_wire(k: ClockKind) -> SlaClock {
    match k {
        ClockKind::FirstResponse => SlaClock::FirstResponse,
        ClockKind::Resolution => SlaClock::Resolution,
        ClockKind::NextResponse => SlaClock::NextResponse,
    }
}

fn state_wire(s: ClockState) -> SlaState {
    match s {
        ClockState::Running => SlaState::Running,
        ClockState::Warning => SlaState::Warning,
        ClockState::Paused => SlaState::Paused,
        ClockState::Met => SlaState::Met,
        ClockState::Breached => SlaState::Breached,
    }
}

/// How urgent a state is for the queue's badge: breached first.
fn urgency(s: ClockState) -> u8 {
    match s {
        ClockState::Breached => 4,
        ClockState::Warning => 3,
        ClockState::Running => 2,
        ClockState::Paused => 1,
        ClockState::Met => 0,
    }
}

/// The current clocks: the first response, the resolution and the latest
/// next-response cycle (earlier cycles are history).
fn current(eval: &Evaluation) -> impl Iterator<Item = &ClockReport> {
    eval.clocks.iter().enumerate().filter_map(|(i, c)| {
        let later_cycle = eval.clocks[i + 1..].iter().any(|d| d.kind == c.kind);
        (!later_cycle && c.target.is_some()).then_some(c)
    })
}

fn utc(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// What to store after evaluating `t` at `now`.
pub fn record(config: &Config, t: &SlaInput, now: i64) -> SlaRecord {
    let mut r = SlaRecord {
        ticket_id: t.id,
        seq: t.seq,
        policy_id: None,
        state: None,
        due_at: None,
        next_at: None,
        events: Vec::new(),
        kpi: KpiFacts::default(),
    };
    let Some((policy, eval)) = evaluate(config, t, now) else {
        // No SLA: the KPIs still count its times, around the clock.
        let eval =
            deskside_sla::evaluate(&history(t), &Targets::default(), Hours::AroundTheClock, now);
        r.kpi = kpi_facts(t, &eval);
        return r;
    };
    r.kpi = kpi_facts(t, &eval);
    let hours = config.hours(Some(policy));
    r.policy_id = Some(policy.id);
    let settled = now - SETTLE_SECS;
    let mut next: Vec<i64> = Vec::new();
    for c in &eval.clocks {
        // Stopped within its target: met, for the compliance KPI.
        if let (Some(_), Some(stop), None) = (c.target, c.stopped_at, c.breached_at) {
            if stop > settled {
                next.push(stop + SETTLE_SECS);
            } else {
                r.events.push(NewSlaEvent {
                    clock: clock_name(c.kind),
                    cycle: c.cycle,
                    kind: "met",
                    at: utc(stop),
                    actions: Vec::new(),
                    notify: false,
                });
            }
        }
        for (kind, at) in [
            (SlaEventKind::Warning, c.warning_at),
            (SlaEventKind::Breach, c.breached_at),
        ] {
            let Some(at) = at else { continue };
            if at > settled {
                next.push(at + SETTLE_SECS);
                continue;
            }
            let matching: Vec<&SlaEscalation> = policy
                .escalations
                .iter()
                .filter(|e| {
                    e.on == kind && (e.clocks.is_empty() || e.clocks.contains(&clock_wire(c.kind)))
                })
                .collect();
            let mut actions = Vec::new();
            for e in &matching {
                if e.raise_tier {
                    actions.push(EscalationAction::RaiseTier);
                }
                if e.raise_priority {
                    actions.push(EscalationAction::RaisePriority);
                }
                if let Some(team) = e.move_to_team {
                    actions.push(EscalationAction::MoveToTeam(team));
                }
            }
            r.events.push(NewSlaEvent {
                clock: clock_name(c.kind),
                cycle: c.cycle,
                kind: match kind {
                    SlaEventKind::Warning => "warning",
                    SlaEventKind::Breach => "breach",
                },
                at: utc(at),
                actions,
                notify: matching.iter().any(|e| e.notify),
            });
        }
    }
    let mut worst: Option<ClockState> = None;
    for c in current(&eval) {
        if worst.is_none_or(|w| urgency(c.state) > urgency(w)) {
            worst = Some(c.state);
        }
        if c.stopped_at.is_some() {
            continue;
        }
        if let Some(due) = c.due_at {
            r.due_at = Some(r.due_at.map_or(due, |d: i64| d.min(due)));
            if due > now {
                next.push(due);
            }
        }
        // A running clock not yet warned: when it will be. A warning due
        // at this very instant (a share that rounds down to no minute at
        // all, as 75 % of a one-minute target does) is looked at again
        // in a second, not forgotten until the due time.
        if let (ClockState::Running, Some(target)) = (c.state, c.target) {
            let warn = policy.targets.warning_after(target);
            if let Some(w) = hours.beyond(now, warn - c.elapsed) {
                next.push(w.max(now + 1));
            }
        }
    }
    r.state = worst.map(ClockState::as_str);
    r.next_at = next.into_iter().filter(|n| *n > now).min();
    r
}

/// The KPI facts of a ticket from its clocks (see docs/KPIS.md): the
/// first response only when a technician's reply stopped it, the
/// resolution while the ticket is resolved or closed, and first contact
/// resolution (resolved with exactly one public technician reply, no
/// employee reply after it, never reopened).
pub fn kpi_facts(t: &SlaInput, eval: &Evaluation) -> KpiFacts {
    let mut k = KpiFacts {
        reopens: i64::from(eval.reopens),
        ..KpiFacts::default()
    };
    let first_reply = t.replies.iter().find(|r| r.0).map(|r| r.1.timestamp());
    if let Some(c) = eval.latest(ClockKind::FirstResponse)
        && c.stopped_at.is_some()
        && c.stopped_at == first_reply
    {
        k.first_response_at = c.stopped_at;
        k.first_response_secs = Some(c.elapsed);
        k.first_response_cal = Some(c.elapsed_calendar);
    }
    if let Some(c) = eval.latest(ClockKind::Resolution)
        && let Some(stop) = c.stopped_at
    {
        k.resolved_at = Some(stop);
        k.resolution_secs = Some(c.elapsed);
        k.resolution_cal = Some(c.elapsed_calendar);
        let technician: Vec<i64> = t
            .replies
            .iter()
            .filter(|r| r.0)
            .map(|r| r.1.timestamp())
            .collect();
        k.fcr = eval.reopens == 0
            && technician.len() == 1
            && !t
                .replies
                .iter()
                .any(|r| !r.0 && r.1.timestamp() > technician[0]);
    }
    k
}

/// The SLA of a ticket no policy applies to.
pub fn no_sla() -> TicketSla {
    TicketSla {
        policy_id: None,
        policy_name: None,
        calendar_name: None,
        clocks: Vec::new(),
        reopens: 0,
    }
}

/// A ticket's SLA as the API shows it.
pub fn view(config: &Config, t: &SlaInput, now: i64) -> TicketSla {
    let Some((policy, eval)) = evaluate(config, t, now) else {
        return no_sla();
    };
    TicketSla {
        policy_id: Some(policy.id),
        policy_name: Some(policy.name.clone()),
        calendar_name: policy
            .calendar_id
            .and_then(|id| config.calendars.get(&id))
            .map(|c| c.0.clone()),
        clocks: eval
            .clocks
            .iter()
            .map(|c| SlaClockView {
                clock: clock_wire(c.kind),
                cycle: c.cycle,
                target_secs: c.target,
                elapsed_secs: c.elapsed,
                elapsed_calendar_secs: c.elapsed_calendar,
                paused_secs: c.paused,
                started_at: utc(c.started_at),
                stopped_at: c.stopped_at.map(utc),
                due_at: c.due_at.map(utc),
                warning_at: c.warning_at.map(utc),
                breached_at: c.breached_at.map(utc),
                state: state_wire(c.state),
            })
            .collect(),
        reopens: eval.reopens,
    }
}

/// What one evaluation recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The ticket.
    pub ticket_id: i64,
    /// The warning or breach, with what it did.
    pub event: NewSlaEvent,
}

/// Evaluates these tickets at `now` and stores the results.
pub async fn refresh<S: ServiceStore>(
    store: &S,
    config: &Config,
    ids: &[i64],
    now: DateTime<Utc>,
) -> StoreResult<Vec<Recorded>> {
    let mut out = Vec::new();
    for t in store.sla_inputs(ids).await? {
        let r = record(config, &t, now.timestamp());
        for event in store.record_sla(&r).await? {
            out.push(Recorded {
                ticket_id: t.id,
                event,
            });
        }
    }
    Ok(out)
}

/// One pass: every ticket changed since its last evaluation or due to
/// change by itself, evaluated at `now`; the events this node recorded.
pub async fn run_pass<S: ServiceStore>(
    store: &S,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Recorded>> {
    let config = Config::load(store).await?;
    let mut out = Vec::new();
    // Each batch leaves its tickets evaluated (or rescheduled past now),
    // so the loop ends; the bound guards against a ticket changing
    // faster than it is evaluated.
    for _ in 0..10_000 {
        let ids = store.sla_work(now.timestamp(), BATCH).await?;
        if ids.is_empty() {
            break;
        }
        out.extend(refresh(store, &config, &ids, now).await?);
        if ids.len() < BATCH as usize {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn input(statuses: &[(&str, &str)], replies: &[(bool, &str)]) -> SlaInput {
        SlaInput {
            id: 1,
            ticket_type: "incident".into(),
            priority: 3,
            category: "network".into(),
            team_id: None,
            created_at: at(statuses[0].1),
            seq: 4,
            statuses: statuses.iter().map(|(s, t)| ((*s).into(), at(t))).collect(),
            replies: replies.iter().map(|(b, t)| (*b, at(t))).collect(),
        }
    }

    fn config(escalations: &str) -> Config {
        let row = PolicyRow {
            id: 9,
            name: "Default".into(),
            position: 1,
            conditions: "{}".into(),
            calendar_id: None,
            first_response: Some(3600),
            resolution: Some(8 * 3600),
            next_response: None,
            warn_percent: 50,
            pauses: "{}".into(),
            escalations: escalations.into(),
        };
        Config::from_rows(&[row], &[])
    }

    #[test]
    fn records_settled_events_with_their_escalations_and_schedules_the_next() {
        let c = config(
            r#"[{"on":"breach","clocks":["first_response"],"raise_tier":true,"notify":true}]"#,
        );
        let t = input(&[("new", "2026-12-01T08:00:00Z")], &[]);
        let now = at("2026-12-01T09:30:00Z").timestamp();
        let r = record(&c, &t, now);
        assert_eq!(
            (r.policy_id, r.seq, r.state),
            (Some(9), 4, Some("breached"))
        );
        let kinds: Vec<_> = r.events.iter().map(|e| (e.clock, e.kind, e.at)).collect();
        assert_eq!(
            kinds,
            [
                ("first_response", "warning", at("2026-12-01T08:30:00Z")),
                ("first_response", "breach", at("2026-12-01T09:00:00Z")),
            ]
        );
        assert_eq!(r.events[1].actions, [EscalationAction::RaiseTier]);
        assert!(r.events[1].notify && !r.events[0].notify);
        // Due soonest: the breached first response (09:00); next change:
        // the resolution's warning at 12:00.
        assert_eq!(r.due_at, Some(at("2026-12-01T09:00:00Z").timestamp()));
        assert_eq!(r.next_at, Some(at("2026-12-01T12:00:00Z").timestamp()));
    }

    #[test]
    fn a_warning_due_at_once_is_looked_at_again_before_the_due_time() {
        // 75 % of one minute rounds down to no minute: the clock warns at
        // its first counting second. The next look used to be the due
        // time, so the warning was recorded a minute late, with the breach.
        let row = PolicyRow {
            id: 9,
            name: "Fast".into(),
            position: 1,
            conditions: "{}".into(),
            calendar_id: None,
            first_response: Some(60),
            resolution: None,
            next_response: None,
            warn_percent: 75,
            pauses: "{}".into(),
            escalations: r#"[{"on":"warning","notify":true}]"#.into(),
        };
        let c = Config::from_rows(&[row], &[]);
        let t = input(&[("new", "2026-12-01T08:00:00Z")], &[]);
        let created = at("2026-12-01T08:00:00Z").timestamp();
        let r = record(&c, &t, created);
        assert_eq!(r.state, Some("running"));
        let next = r.next_at.expect("a next look");
        assert!(
            next > created && next <= created + 1 + SETTLE_SECS,
            "{next}"
        );
        // Once settled, the warning is recorded, well before the due time.
        let settled = record(&c, &t, created + 1 + SETTLE_SECS);
        let kinds: Vec<_> = settled.events.iter().map(|e| (e.kind, e.notify)).collect();
        assert_eq!(kinds, [("warning", true)]);
    }

    #[test]
    fn a_fresh_instant_waits_to_settle() {
        let c = config("[]");
        let t = input(&[("new", "2026-12-01T08:00:00Z")], &[]);
        let now = at("2026-12-01T08:30:02Z").timestamp();
        let r = record(&c, &t, now);
        assert!(r.events.is_empty(), "{:?}", r.events);
        assert_eq!(r.next_at, Some(at("2026-12-01T08:30:05Z").timestamp()));
        assert_eq!(r.state, Some("warning"));
    }

    #[test]
    fn a_met_ticket_needs_nothing_more() {
        let c = config("[]");
        let t = input(
            &[
                ("new", "2026-12-01T08:00:00Z"),
                ("resolved", "2026-12-01T08:40:00Z"),
            ],
            &[(true, "2026-12-01T08:10:00Z")],
        );
        let r = record(&c, &t, at("2026-12-02T00:00:00Z").timestamp());
        assert_eq!((r.state, r.due_at, r.next_at), (Some("met"), None, None));
        let met: Vec<_> = r.events.iter().map(|e| (e.clock, e.kind, e.at)).collect();
        assert_eq!(
            met,
            [
                ("first_response", "met", at("2026-12-01T08:10:00Z")),
                ("resolution", "met", at("2026-12-01T08:40:00Z")),
            ]
        );
        // Answered once, resolved, never reopened: first contact.
        assert_eq!(
            (r.kpi.first_response_secs, r.kpi.resolution_secs, r.kpi.fcr),
            (Some(600), Some(2400), true)
        );
        let v = view(&c, &t, at("2026-12-02T00:00:00Z").timestamp());
        assert_eq!(v.clocks.len(), 2);
        assert_eq!(v.clocks[0].elapsed_secs, 600);
    }

    #[test]
    fn no_policy_no_clocks() {
        let t = input(&[("new", "2026-12-01T08:00:00Z")], &[]);
        let r = record(&Config::default(), &t, 0);
        assert_eq!((r.policy_id, r.state, r.seq), (None, None, 4));
        assert!(view(&Config::default(), &t, 0).clocks.is_empty());
    }
}
