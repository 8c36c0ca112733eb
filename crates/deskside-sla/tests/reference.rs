//! The SLA library against a brute-force reference that walks time one
//! minute at a time and decides, for each minute, from first principles:
//! is it working time (its local time in the zone, the weekday's
//! intervals, the holidays), what the ticket's status is, and whether each
//! clock runs. Random calendars in zones with daylight-saving changes
//! (and odd offsets), random holidays, random histories around the
//! changes.

use chrono::{Datelike as _, NaiveDate, TimeZone as _, Timelike as _};
use chrono_tz::Tz;
use deskside_sla::{
    Calendar, ClockKind, ClockState, Event, Happening, History, Hours, Pauses, Span, Status,
    StatusSet, Targets, evaluate,
};
use proptest::prelude::*;

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe", // half-hour daylight saving
    "Asia/Kolkata",        // +05:30, none
    "America/Santiago",    // southern hemisphere
];

/// Starting points near 2026's daylight-saving changes of those zones.
const AROUND: [&str; 5] = [
    "2026-03-08T00:00:00Z",
    "2026-03-28T12:00:00Z",
    "2026-04-04T00:00:00Z",
    "2026-10-03T12:00:00Z",
    "2026-10-24T12:00:00Z",
];

#[derive(Debug, Clone)]
struct Cal {
    tz: &'static str,
    week: [Vec<Span>; 7],
    holidays: Vec<NaiveDate>,
}

impl Cal {
    fn build(&self) -> Calendar {
        Calendar::new(self.tz, self.week.clone(), self.holidays.iter().copied()).expect("calendar")
    }

    /// Whether the minute starting at `t` is working, from first principles.
    fn working_minute(&self, t: i64) -> bool {
        let tz: Tz = self.tz.parse().expect("zone");
        let local = tz
            .timestamp_opt(t, 0)
            .single()
            .expect("UTC instants map to one local time")
            .naive_local();
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let minute = local.hour() * 60 + local.minute();
        self.week[local.weekday().num_days_from_monday() as usize]
            .iter()
            .any(|s| s.start <= minute && minute < s.end)
    }
}

fn spans() -> impl Strategy<Value = Vec<Span>> {
    // Up to three intervals a day on a quarter-hour grid, made disjoint by
    // sorting their edges.
    prop::collection::vec(0u32..=96, 0..=6).prop_map(|mut edges| {
        edges.sort_unstable();
        edges.dedup();
        edges
            .chunks_exact(2)
            .map(|p| Span {
                start: p[0] * 15,
                end: p[1] * 15,
            })
            .collect()
    })
}

fn cal() -> impl Strategy<Value = Cal> {
    (
        prop::sample::select(ZONES.to_vec()),
        prop::array::uniform7(spans()),
        prop::collection::vec(0i64..30, 0..4),
        prop::sample::select(AROUND.to_vec()),
    )
        .prop_map(|(tz, week, holiday_days, around)| {
            let base = chrono::DateTime::parse_from_rfc3339(around)
                .expect("time")
                .date_naive();
            Cal {
                tz,
                week,
                holidays: holiday_days
                    .into_iter()
                    .map(|d| base + chrono::Days::new(d as u64) - chrono::Days::new(5))
                    .collect(),
            }
        })
}

fn start() -> impl Strategy<Value = i64> {
    (prop::sample::select(AROUND.to_vec()), -3000i64..3000).prop_map(|(a, m)| {
        chrono::DateTime::parse_from_rfc3339(a)
            .expect("time")
            .timestamp()
            + m * 60
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn working_time_matches_minute_by_minute(c in cal(), from in start(), minutes in 0i64..6000) {
        let calendar = c.build();
        let to = from + minutes * 60;
        let expected = (0..minutes).filter(|m| c.working_minute(from + m * 60)).count() as i64 * 60;
        prop_assert_eq!(calendar.working_secs(from, to), expected);
    }

    #[test]
    fn beyond_matches_minute_by_minute(c in cal(), from in start(), amount in 0i64..1500) {
        let calendar = c.build();
        // The first working minute with `amount` working minutes before it.
        let mut seen = 0;
        let mut expected = None;
        for m in 0..20_000i64 {
            let t = from + m * 60;
            if c.working_minute(t) {
                if seen == amount {
                    expected = Some(t);
                    break;
                }
                seen += 1;
            }
        }
        let got = calendar.beyond(from, amount * 60);
        match expected {
            Some(t) => prop_assert_eq!(got, Some(t)),
            // Beyond the reference's horizon: the library looks further.
            None => prop_assert!(got.is_none_or(|g| g > from + 19_999 * 60)),
        }
    }
}

// ---- clocks -------------------------------------------------------------

#[derive(Debug, Clone)]
struct Case {
    cal: Option<Cal>,
    created: i64,
    initial: Status,
    /// (minutes after creation, strictly increasing; what).
    events: Vec<(i64, Happening)>,
    now_after: i64,
    targets: Targets,
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        3 => prop::sample::select(Status::ALL.to_vec()).prop_map(Happening::Status),
        2 => Just(Happening::TechnicianReply),
        2 => Just(Happening::RequesterReply),
    ]
}

fn status_set() -> impl Strategy<Value = StatusSet> {
    prop::sample::subsequence(vec![Status::New, Status::Open, Status::Pending], 0..=2)
        .prop_map(|s| StatusSet::of(&s))
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::option::weighted(0.7, cal()),
        start(),
        prop::sample::select(vec![Status::New, Status::Open, Status::Pending]),
        prop::collection::vec((1i64..400, happening()), 0..12),
        0i64..3000,
        (
            prop::option::of(1i64..600),
            prop::option::of(1i64..1500),
            prop::option::of(1i64..400),
            1u8..100,
        ),
        (status_set(), status_set(), status_set()),
    )
        .prop_map(|(cal, created, initial, gaps, now_after, t, p)| {
            let mut at = 0;
            let events = gaps
                .into_iter()
                .map(|(gap, what)| {
                    at += gap;
                    (at, what)
                })
                .collect();
            Case {
                cal,
                created,
                initial,
                events,
                now_after,
                targets: Targets {
                    first_response: t.0.map(|m| m * 60),
                    resolution: t.1.map(|m| m * 60),
                    next_response: t.2.map(|m| m * 60),
                    warn_percent: t.3,
                    pauses: Pauses {
                        first_response: p.0,
                        resolution: p.1,
                        next_response: p.2,
                    },
                },
            }
        })
}

/// How many minutes past now the reference looks for a due time.
const DUE_HORIZON: i64 = 100_000;

/// What the reference knows of one clock (or cycle).
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    kind: ClockKind,
    elapsed: i64,
    elapsed_calendar: i64,
    paused: i64,
    warning_at: Option<i64>,
    breached_at: Option<i64>,
    due_at: Option<i64>,
    state: ClockState,
}

/// The reference: each minute from creation to now, the status and which
/// clock is active then, by definition.
fn reference(c: &Case) -> (Vec<Seen>, u32) {
    let working = |t: i64| c.cal.as_ref().is_none_or(|cal| cal.working_minute(t));
    let minutes = c.events.last().map_or(0, |e| e.0) + c.now_after;
    let now = c.created + minutes * 60;
    let events: Vec<(i64, Happening)> = c
        .events
        .iter()
        .map(|&(m, w)| (c.created + m * 60, w))
        .collect();
    let status_at = |t: i64| {
        events
            .iter()
            .filter(|e| e.0 <= t)
            .filter_map(|e| match e.1 {
                Happening::Status(s) => Some(s),
                _ => None,
            })
            .next_back()
            .unwrap_or(c.initial)
    };
    let done_at = |t: i64| status_at(t).is_done();
    // First response: until the first technician reply or resolution.
    let first_stop = std::iter::once(c.initial.is_done().then_some(c.created))
        .chain(events.iter().map(|e| match e.1 {
            Happening::TechnicianReply | Happening::Status(Status::Resolved | Status::Closed) => {
                Some(e.0)
            }
            _ => None,
        }))
        .flatten()
        .next();
    // Waiting for an answer: the last public message up to t is the
    // employee's, after a technician's.
    let awaiting = |t: i64| {
        let mut replied = false;
        let mut waiting = false;
        for e in events.iter().filter(|e| e.0 <= t) {
            match e.1 {
                Happening::TechnicianReply => (replied, waiting) = (true, false),
                Happening::RequesterReply if replied => waiting = true,
                _ => {}
            }
        }
        waiting
    };
    let mut reopens = 0;
    let mut prev = c.initial;
    for e in &events {
        if let Happening::Status(s) = e.1 {
            if prev.is_done() && !s.is_done() {
                reopens += 1;
            }
            prev = s;
        }
    }

    let clock = |kind: ClockKind, active: &dyn Fn(i64) -> bool, span: (i64, i64)| -> Seen {
        let target = c.targets.of(kind);
        let pauses = c.targets.pauses.of(kind);
        let (mut elapsed, mut cal_secs, mut paused) = (0, 0, 0);
        let (mut warning_at, mut breached_at) = (None, None);
        let warn = target.map(|t| t * i64::from(c.targets.warn_percent) / 100 / 60 * 60);
        let mut t = span.0;
        while t < span.1 {
            if active(t) {
                if pauses.contains(status_at(t)) {
                    paused += 60;
                } else {
                    cal_secs += 60;
                    if working(t) {
                        if warn.is_some_and(|w| elapsed >= w) && warning_at.is_none() {
                            warning_at = Some(t);
                        }
                        if target.is_some_and(|x| elapsed >= x) && breached_at.is_none() {
                            breached_at = Some(t);
                        }
                        elapsed += 60;
                    }
                }
            }
            t += 60;
        }
        let running_now = span.1 == now && active(now) && !pauses.contains(status_at(now));
        let paused_now = span.1 == now && active(now) && pauses.contains(status_at(now));
        let open = running_now || paused_now;
        let due_at = target.and_then(|x| {
            breached_at.or_else(|| {
                running_now
                    .then(|| {
                        // Counting on from now with nothing else happening.
                        let mut seen = elapsed;
                        let mut t = now;
                        for _ in 0..DUE_HORIZON {
                            if working(t) {
                                if seen >= x {
                                    return Some(t);
                                }
                                seen += 60;
                            }
                            t += 60;
                        }
                        // Further than the reference looks.
                        Some(i64::MAX)
                    })
                    .flatten()
            })
        });
        let state = if breached_at.is_some() {
            ClockState::Breached
        } else if !open {
            ClockState::Met
        } else if paused_now {
            ClockState::Paused
        } else if warning_at.is_some() {
            ClockState::Warning
        } else {
            ClockState::Running
        };
        Seen {
            kind,
            elapsed,
            elapsed_calendar: cal_secs,
            paused,
            warning_at,
            breached_at,
            due_at,
            state,
        }
    };

    let mut out = vec![
        clock(
            ClockKind::FirstResponse,
            &|t| first_stop.is_none_or(|s| t < s),
            (c.created, now),
        ),
        clock(ClockKind::Resolution, &|t| !done_at(t), (c.created, now)),
    ];
    if c.targets.next_response.is_some() {
        // Each maximal stretch of minutes in which the employee waits on
        // a ticket that is not done is one cycle.
        let waits = |t: i64| !done_at(t) && awaiting(t);
        let mut t = c.created;
        while t <= now {
            if waits(t) && t < now {
                let from = t;
                while t < now && waits(t) {
                    t += 60;
                }
                let to = t;
                let end = if to == now { now } else { to };
                out.push(clock(
                    ClockKind::NextResponse,
                    &|x| x >= from && (x < to || to == now) && waits(x),
                    (from, end),
                ));
            } else if waits(t) && t == now {
                out.push(clock(ClockKind::NextResponse, &waits, (now, now)));
            }
            t += 60;
        }
    }
    (out, reopens)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn clocks_match_minute_by_minute(c in case()) {
        let calendar = c.cal.as_ref().map(Cal::build);
        let hours = calendar.as_ref().map_or(Hours::AroundTheClock, Hours::Business);
        let history = History {
            created_at: c.created,
            initial: c.initial,
            events: c.events.iter().map(|&(m, what)| Event { at: c.created + m * 60, what }).collect(),
        };
        let now = c.created + (c.events.last().map_or(0, |e| e.0) + c.now_after) * 60;
        let got = evaluate(&history, &c.targets, hours, now);
        let (expected, reopens) = reference(&c);
        prop_assert_eq!(got.reopens, reopens);
        let got: Vec<Seen> = got
            .clocks
            .iter()
            .map(|r| Seen {
                kind: r.kind,
                elapsed: r.elapsed,
                elapsed_calendar: r.elapsed_calendar,
                paused: r.paused,
                warning_at: r.warning_at,
                breached_at: r.breached_at,
                due_at: r.due_at,
                state: r.state,
            })
            .collect();
        // A due time beyond the reference's horizon is only known to be
        // beyond it; the library may also know it never comes (no working
        // time left in the calendar: `None`).
        prop_assert_eq!(got.len(), expected.len());
        let expected: Vec<Seen> = expected
            .into_iter()
            .zip(&got)
            .map(|(mut e, g)| {
                if e.due_at == Some(i64::MAX) && g.due_at.is_none_or(|d| d >= now + DUE_HORIZON * 60) {
                    e.due_at = g.due_at;
                }
                e
            })
            .collect();
        prop_assert_eq!(got, expected);
    }
}
