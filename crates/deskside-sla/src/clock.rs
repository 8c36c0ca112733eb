//! SLA clocks, computed from a ticket's recorded history: its status
//! changes and its public replies. Nothing is stored but that history, so
//! the same rows give the same answer on every server node and at any
//! later time: a warning or breach instant, once passed, never moves.
//!
//! The clocks:
//! - **first response** runs from creation to the first public technician
//!   reply (or to resolution, when the ticket is resolved without one) and
//!   never runs again;
//! - **resolution** runs while the ticket is not resolved or closed; a
//!   reopened ticket resumes its accumulated time (and counts a reopen);
//! - **next response** runs while the employee waits: from an employee
//!   reply that follows a technician's (or a reopen while one is
//!   unanswered) to the next public technician reply or resolution. Each
//!   such wait is a cycle with its own target.
//!
//! A clock *counts* while it runs in a status that does not pause it and
//! in working time ([`Hours`]). It is **breached** at the first counting
//! second beyond its target, so a clock is met exactly when the time it
//! counted is at most the target; **warned** likewise at a share of it.

use crate::calendar::Hours;

/// A ticket's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Not looked at yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting (for the employee, a supplier, …).
    Pending,
    /// Solved.
    Resolved,
    /// Finished.
    Closed,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::New,
        Self::Open,
        Self::Pending,
        Self::Resolved,
        Self::Closed,
    ];

    /// Resolved or closed: the ticket needs nothing more.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Resolved | Self::Closed)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Statuses, as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    /// No status.
    pub const EMPTY: Self = Self(0);

    /// The set of these statuses.
    pub fn of(statuses: &[Status]) -> Self {
        Self(statuses.iter().fold(0, |m, s| m | 1 << *s as u8))
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Status) -> bool {
        self.0 & (1 << s as u8) != 0
    }

    /// The statuses in the set, in workflow order.
    pub fn statuses(self) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .collect()
    }
}

/// Something recorded on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// Its status became this.
    Status(Status),
    /// A technician replied publicly (internal notes are not replies).
    TechnicianReply,
    /// The employee (requester) wrote.
    RequesterReply,
}

/// A happening at a UTC instant (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// When.
    pub at: i64,
    /// What.
    pub what: Happening,
}

/// A ticket's recorded history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// When it was created.
    pub created_at: i64,
    /// Its status when created.
    pub initial: Status,
    /// What happened since, in the order recorded (events at one instant
    /// apply in this order).
    pub events: Vec<Event>,
}

/// The clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClockKind {
    /// To the first public technician reply.
    FirstResponse,
    /// To resolution.
    Resolution,
    /// From each employee reply to the technician's answer.
    NextResponse,
}

impl ClockKind {
    /// Every clock.
    pub const ALL: [Self; 3] = [Self::FirstResponse, Self::Resolution, Self::NextResponse];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::Resolution => "resolution",
            Self::NextResponse => "next_response",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Which statuses pause which clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pauses {
    /// Pausing first response (none by default: a pending ticket still
    /// has not been answered).
    pub first_response: StatusSet,
    /// Pausing resolution (pending by default).
    pub resolution: StatusSet,
    /// Pausing next response (pending by default).
    pub next_response: StatusSet,
}

impl Default for Pauses {
    fn default() -> Self {
        Self {
            first_response: StatusSet::EMPTY,
            resolution: StatusSet::of(&[Status::Pending]),
            next_response: StatusSet::of(&[Status::Pending]),
        }
    }
}

impl Pauses {
    /// The statuses pausing `kind`.
    pub fn of(&self, kind: ClockKind) -> StatusSet {
        match kind {
            ClockKind::FirstResponse => self.first_response,
            ClockKind::Resolution => self.resolution,
            ClockKind::NextResponse => self.next_response,
        }
    }
}

/// An SLA policy's targets (counting seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// First response within.
    pub first_response: Option<i64>,
    /// Resolution within.
    pub resolution: Option<i64>,
    /// Each next response within.
    pub next_response: Option<i64>,
    /// Warn at this share of a target, 1–99 % (rounded down to a whole
    /// minute).
    pub warn_percent: u8,
    /// Which statuses pause which clock.
    pub pauses: Pauses,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            first_response: None,
            resolution: None,
            next_response: None,
            warn_percent: 75,
            pauses: Pauses::default(),
        }
    }
}

impl Targets {
    /// The counting seconds at which a clock with `target` warns: the
    /// warning share, rounded down to a whole minute as targets are.
    pub fn warning_after(&self, target: i64) -> i64 {
        target * i64::from(self.warn_percent.min(100)) / 100 / 60 * 60
    }

    /// The target of `kind`.
    pub fn of(&self, kind: ClockKind) -> Option<i64> {
        match kind {
            ClockKind::FirstResponse => self.first_response,
            ClockKind::Resolution => self.resolution,
            ClockKind::NextResponse => self.next_response,
        }
    }
}

/// A clock's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockState {
    /// Counting, below the warning.
    Running,
    /// Counting, past the warning.
    Warning,
    /// Not counting: the ticket is in a status that pauses this clock.
    Paused,
    /// Stopped within its target (or stopped, when it has none).
    Met,
    /// Past its target, stopped or not.
    Breached,
}

impl ClockState {
    /// The name shown and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Warning => "warning",
            Self::Paused => "paused",
            Self::Met => "met",
            Self::Breached => "breached",
        }
    }
}

/// One clock (or one next-response cycle) of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockReport {
    /// Which clock.
    pub kind: ClockKind,
    /// Next response: which wait, from 1; 1 for the other clocks.
    pub cycle: u32,
    /// Its target (counting seconds), when the policy sets one.
    pub target: Option<i64>,
    /// When it started.
    pub started_at: i64,
    /// When it (last) stopped; `None` while it runs or is paused.
    pub stopped_at: Option<i64>,
    /// Counting seconds: running, unpaused, in working time.
    pub elapsed: i64,
    /// Running and unpaused seconds around the clock.
    pub elapsed_calendar: i64,
    /// Paused seconds around the clock.
    pub paused: i64,
    /// When it is, or was, breached: the breach instant once past, else
    /// the projection if it keeps counting; `None` while paused or when
    /// met.
    pub due_at: Option<i64>,
    /// When it passed its warning share, if it has.
    pub warning_at: Option<i64>,
    /// When it was breached, if it has been.
    pub breached_at: Option<i64>,
    /// Its state now.
    pub state: ClockState,
}

/// Every clock of a ticket at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// First response and resolution always; next-response cycles while
    /// the policy has a target for them.
    pub clocks: Vec<ClockReport>,
    /// How often the ticket was reopened (resolved or closed, then not).
    pub reopens: u32,
}

impl Evaluation {
    /// The latest report of `kind`.
    pub fn latest(&self, kind: ClockKind) -> Option<&ClockReport> {
        self.clocks.iter().rev().find(|c| c.kind == kind)
    }
}

/// A clock's run so far: its stretches, each paused or not.
struct Tracker {
    kind: ClockKind,
    cycle: u32,
    started_at: i64,
    stopped_at: Option<i64>,
    /// (from, to, paused), closed stretches.
    stretches: Vec<(i64, i64, bool)>,
    /// The open stretch: (from, paused), while active.
    open: Option<(i64, bool)>,
}

impl Tracker {
    fn start(kind: ClockKind, cycle: u32, at: i64, paused: bool) -> Self {
        Self {
            kind,
            cycle,
            started_at: at,
            stopped_at: None,
            stretches: Vec::new(),
            open: Some((at, paused)),
        }
    }

    /// Closes the open stretch at `at` and, when still active, opens the
    /// next with `paused`.
    fn cut(&mut self, at: i64, paused: bool) {
        if let Some((from, was)) = self.open.take() {
            if at > from {
                self.stretches.push((from, at, was));
            }
            self.open = Some((at, paused));
        }
    }

    fn stop(&mut self, at: i64) {
        self.cut(at, false);
        if self.open.take().is_some() {
            self.stopped_at = Some(at);
        }
    }

    fn resume(&mut self, at: i64, paused: bool) {
        if self.open.is_none() {
            self.open = Some((at, paused));
            self.stopped_at = None;
        }
    }

    fn active(&self) -> bool {
        self.open.is_some()
    }
}

/// Evaluates every clock of a ticket with `history` under `targets`, at
/// `now` (events after `now` are not looked at).
pub fn evaluate(history: &History, targets: &Targets, hours: Hours<'_>, now: i64) -> Evaluation {
    let pauses = targets.pauses;
    let mut status = history.initial;
    let created = history.created_at;
    let mut first = Tracker::start(
        ClockKind::FirstResponse,
        1,
        created,
        pauses.first_response.contains(status),
    );
    let mut resolution = Tracker::start(
        ClockKind::Resolution,
        1,
        created,
        pauses.resolution.contains(status),
    );
    if status.is_done() {
        first.stop(created);
        resolution.stop(created);
    }
    let mut cycles: Vec<Tracker> = Vec::new();
    let mut technician_replied = false;
    // The employee's last message is unanswered.
    let mut awaiting = false;
    let mut reopens = 0;
    let track_next = targets.next_response.is_some();

    for e in history.events.iter().filter(|e| e.at <= now) {
        let t = e.at.max(created);
        match e.what {
            Happening::Status(to) => {
                let from = status;
                status = to;
                if !from.is_done() && to.is_done() {
                    first.stop(t);
                    resolution.stop(t);
                    if let Some(c) = cycles.last_mut() {
                        c.stop(t);
                    }
                } else if from.is_done() && !to.is_done() {
                    reopens += 1;
                    resolution.resume(t, pauses.resolution.contains(to));
                    if awaiting && track_next {
                        let n = cycles.len() as u32 + 1;
                        cycles.push(Tracker::start(
                            ClockKind::NextResponse,
                            n,
                            t,
                            pauses.next_response.contains(to),
                        ));
                    }
                }
            }
            Happening::TechnicianReply => {
                technician_replied = true;
                awaiting = false;
                first.stop(t);
                if let Some(c) = cycles.last_mut() {
                    c.stop(t);
                }
            }
            Happening::RequesterReply => {
                if technician_replied {
                    awaiting = true;
                    let running = cycles.last().is_some_and(Tracker::active);
                    if track_next && !running && !status.is_done() {
                        let n = cycles.len() as u32 + 1;
                        cycles.push(Tracker::start(
                            ClockKind::NextResponse,
                            n,
                            t,
                            pauses.next_response.contains(status),
                        ));
                    }
                }
            }
        }
        // Every active clock continues at `t` in the status now in force.
        first.cut(t, pauses.first_response.contains(status));
        resolution.cut(t, pauses.resolution.contains(status));
        if let Some(c) = cycles.last_mut() {
            c.cut(t, pauses.next_response.contains(status));
        }
    }

    let mut clocks = vec![
        report(first, targets, hours, now),
        report(resolution, targets, hours, now),
    ];
    clocks.extend(cycles.into_iter().map(|c| report(c, targets, hours, now)));
    Evaluation { clocks, reopens }
}

/// The first counting instant beyond `amount` counting seconds of the
/// running stretches `run` (in order), if they reach past it.
fn crossing(run: &[(i64, i64)], amount: i64, hours: Hours<'_>) -> Option<i64> {
    let mut acc = 0;
    for &(a, b) in run {
        let w = hours.working_secs(a, b);
        if acc + w > amount {
            return hours.beyond(a, amount - acc);
        }
        acc += w;
    }
    None
}

fn report(mut t: Tracker, targets: &Targets, hours: Hours<'_>, now: i64) -> ClockReport {
    // The open stretch counts up to now.
    let open = t.open;
    if let Some((_, paused)) = open {
        t.cut(now, paused);
    }
    let run: Vec<(i64, i64)> = t
        .stretches
        .iter()
        .filter(|s| !s.2)
        .map(|s| (s.0, s.1))
        .collect();
    let elapsed = run.iter().map(|&(a, b)| hours.working_secs(a, b)).sum();
    let elapsed_calendar = run.iter().map(|&(a, b)| b - a).sum();
    let paused_secs = t.stretches.iter().filter(|s| s.2).map(|s| s.1 - s.0).sum();
    let target = targets.of(t.kind);
    let paused_now = open.is_some_and(|o| o.1);
    let (mut warning_at, mut breached_at, mut due_at) = (None, None, None);
    if let Some(target) = target {
        breached_at = crossing(&run, target, hours);
        let warn = targets.warning_after(target);
        warning_at = crossing(&run, warn, hours);
        due_at = breached_at.or_else(|| {
            (open.is_some() && !paused_now)
                .then(|| hours.beyond(now, target - elapsed))
                .flatten()
        });
    }
    let state = if breached_at.is_some() {
        ClockState::Breached
    } else if open.is_none() {
        ClockState::Met
    } else if paused_now {
        ClockState::Paused
    } else if warning_at.is_some() {
        ClockState::Warning
    } else {
        ClockState::Running
    };
    ClockReport {
        kind: t.kind,
        cycle: t.cycle,
        target,
        started_at: t.started_at,
        stopped_at: t.stopped_at,
        elapsed,
        elapsed_calendar,
        paused: paused_secs,
        due_at,
        warning_at,
        breached_at,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Calendar, Span};

    const H: i64 = 3600;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("time")
            .timestamp()
    }

    fn ev(t: &str, what: Happening) -> Event {
        Event { at: at(t), what }
    }

    fn targets() -> Targets {
        Targets {
            first_response: Some(H),
            resolution: Some(8 * H),
            next_response: Some(2 * H),
            ..Targets::default()
        }
    }

    fn office() -> Calendar {
        let day = vec![Span {
            start: 9 * 60,
            end: 17 * 60,
        }];
        let mut week: [Vec<Span>; 7] = Default::default();
        for d in week.iter_mut().take(5) {
            *d = day.clone();
        }
        Calendar::new("Europe/Berlin", week, []).expect("calendar")
    }

    #[test]
    fn pending_pauses_resolution_but_not_first_response() {
        use Happening::{Status as S, TechnicianReply};
        let h = History {
            created_at: at("2026-12-01T09:00:00Z"),
            initial: Status::New,
            events: vec![
                ev("2026-12-01T09:30:00Z", S(Status::Pending)),
                ev("2026-12-01T10:30:00Z", TechnicianReply),
                ev("2026-12-01T12:00:00Z", S(Status::Open)),
                ev("2026-12-01T13:00:00Z", S(Status::Resolved)),
            ],
        };
        let e = evaluate(
            &h,
            &targets(),
            Hours::AroundTheClock,
            at("2026-12-02T00:00:00Z"),
        );
        let first = e.latest(ClockKind::FirstResponse).expect("first");
        // Pending did not pause it: 90 minutes against a 60-minute target.
        assert_eq!(
            (first.elapsed, first.state),
            (90 * 60, ClockState::Breached)
        );
        assert_eq!(first.breached_at, Some(at("2026-12-01T10:00:00Z")));
        assert_eq!(first.warning_at, Some(at("2026-12-01T09:45:00Z")));
        let res = e.latest(ClockKind::Resolution).expect("resolution");
        // 09:00–09:30 and 12:00–13:00 count; 09:30–12:00 was paused.
        assert_eq!(
            (res.elapsed, res.paused, res.state),
            (90 * 60, 150 * 60, ClockState::Met)
        );
        assert_eq!(res.stopped_at, Some(at("2026-12-01T13:00:00Z")));
    }

    #[test]
    fn a_reopened_ticket_resumes_its_time_and_counts_a_reopen() {
        use Happening::Status as S;
        let h = History {
            created_at: at("2026-12-01T00:00:00Z"),
            initial: Status::Open,
            events: vec![
                ev("2026-12-01T05:00:00Z", S(Status::Resolved)),
                ev("2026-12-01T10:00:00Z", S(Status::Open)),
            ],
        };
        let e = evaluate(
            &h,
            &targets(),
            Hours::AroundTheClock,
            at("2026-12-01T12:00:00Z"),
        );
        assert_eq!(e.reopens, 1);
        let res = e.latest(ClockKind::Resolution).expect("resolution");
        assert_eq!((res.elapsed, res.state), (7 * H, ClockState::Warning));
        assert_eq!(res.due_at, Some(at("2026-12-01T13:00:00Z")));
        // The first response stopped at the resolution and stays stopped.
        let first = e.latest(ClockKind::FirstResponse).expect("first");
        assert_eq!(first.stopped_at, Some(at("2026-12-01T05:00:00Z")));
    }

    #[test]
    fn next_response_cycles_follow_the_conversation() {
        use Happening::{RequesterReply, TechnicianReply};
        let h = History {
            created_at: at("2026-12-01T08:00:00Z"),
            initial: Status::New,
            events: vec![
                // Before any technician reply the first response covers it.
                ev("2026-12-01T08:10:00Z", RequesterReply),
                ev("2026-12-01T08:30:00Z", TechnicianReply),
                ev("2026-12-01T09:00:00Z", RequesterReply),
                ev("2026-12-01T09:20:00Z", RequesterReply),
                ev("2026-12-01T10:00:00Z", TechnicianReply),
                ev("2026-12-01T11:00:00Z", RequesterReply),
            ],
        };
        let e = evaluate(
            &h,
            &targets(),
            Hours::AroundTheClock,
            at("2026-12-01T14:00:00Z"),
        );
        let cycles: Vec<_> = e
            .clocks
            .iter()
            .filter(|c| c.kind == ClockKind::NextResponse)
            .map(|c| (c.cycle, c.elapsed, c.state))
            .collect();
        assert_eq!(
            cycles,
            [(1, H, ClockState::Met), (2, 3 * H, ClockState::Breached)]
        );
        assert_eq!(
            e.latest(ClockKind::NextResponse)
                .and_then(|c| c.breached_at),
            Some(at("2026-12-01T13:00:00Z"))
        );
    }

    #[test]
    fn business_hours_and_instants_that_do_not_move() {
        let c = office();
        // Created Friday 16:00 Berlin (15:00 UTC), 8 working hours to
        // resolve: 1 on Friday, 7 on Monday (09:00–16:00), breached at
        // Monday 16:00 Berlin, the first working second beyond them.
        let h = History {
            created_at: at("2026-12-04T15:00:00Z"),
            initial: Status::New,
            events: vec![],
        };
        let t = targets();
        let monday_noon = evaluate(&h, &t, Hours::Business(&c), at("2026-12-07T11:00:00Z"));
        let res = monday_noon.latest(ClockKind::Resolution).expect("res");
        assert_eq!((res.elapsed, res.state), (4 * H, ClockState::Running));
        assert_eq!(res.due_at, Some(at("2026-12-07T15:00:00Z")));
        assert_eq!(res.elapsed_calendar, 68 * H);
        for now in [
            "2026-12-07T15:00:01Z",
            "2026-12-09T00:00:00Z",
            "2027-01-01T00:00:00Z",
        ] {
            let e = evaluate(&h, &t, Hours::Business(&c), at(now));
            let res = e.latest(ClockKind::Resolution).expect("res");
            assert_eq!(res.breached_at, Some(at("2026-12-07T15:00:00Z")), "{now}");
            // 75 % of 8 hours: 6 hours, used up Monday 14:00 Berlin.
            assert_eq!(res.warning_at, Some(at("2026-12-07T13:00:00Z")), "{now}");
        }
    }

    #[test]
    fn without_targets_clocks_only_measure() {
        let h = History {
            created_at: 0,
            initial: Status::New,
            events: vec![Event {
                at: 600,
                what: Happening::TechnicianReply,
            }],
        };
        let e = evaluate(&h, &Targets::default(), Hours::AroundTheClock, 3600);
        assert_eq!(
            e.clocks.len(),
            2,
            "no next-response cycles without a target"
        );
        let first = &e.clocks[0];
        assert_eq!(
            (first.elapsed, first.target, first.state),
            (600, None, ClockState::Met)
        );
        assert_eq!(
            (e.clocks[1].due_at, e.clocks[1].state),
            (None, ClockState::Running)
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for k in ClockKind::ALL {
            assert_eq!(ClockKind::parse(k.as_str()), Some(k));
        }
        let set = StatusSet::of(&[Status::Pending, Status::New]);
        assert_eq!(set.statuses(), [Status::New, Status::Pending]);
        assert!(!set.contains(Status::Open));
    }
}
