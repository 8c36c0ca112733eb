//! Business hours: an IANA time zone, weekly working intervals (several a
//! day) and holidays. A UTC instant is *working* when its local time, in
//! that zone, falls in one of its weekday's intervals on a date that is not
//! a holiday. Everything here is measured in whole seconds of UTC time.
//!
//! Daylight-saving changes follow from that definition: on the night the
//! clocks go forward a 09:00–17:00 day has 8 working hours as always (the
//! skipped hour is at night); a working interval that spans the skipped
//! hour is an hour shorter, one that spans the repeated hour an hour longer.

use std::collections::BTreeSet;

use chrono::{Datelike as _, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

const DAY: i64 = 86_400;
/// How far ahead [`Hours::beyond`] looks for working time before it gives
/// up (a calendar whose every day is a holiday has none).
const HORIZON: i64 = 10 * 366 * DAY;
/// Offset changes are looked for at this step. Real zones change their
/// offset at most a few times a year, never twice within it.
const STEP: i64 = DAY / 2;

/// A working interval of a day, in minutes after local midnight:
/// `start..end`, `end` at most 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// First working minute.
    pub start: u32,
    /// The minute working ends (exclusive).
    pub end: u32,
}

/// Why a calendar cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not a time zone of the IANA database.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// Not `HH:MM`.
    #[error("{0:?} is not a time of day (HH:MM, 00:00 to 24:00)")]
    Time(String),
    /// Start not before end, or an interval overlapping another.
    #[error("working intervals must start before they end and must not overlap ({0})")]
    Span(String),
}

/// Business hours. Build with [`Calendar::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    tz: Tz,
    /// Monday first.
    week: [Vec<Span>; 7],
    /// Days since 1970-01-01 of the holidays.
    holidays: BTreeSet<i64>,
}

/// Parses `HH:MM` (00:00 to 24:00) to minutes after midnight.
pub fn parse_time(s: &str) -> Result<u32, CalendarError> {
    let bad = || CalendarError::Time(s.to_owned());
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if m > 59 || h * 60 + m > 1440 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Minutes after midnight as `HH:MM`.
pub fn format_time(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 719_163
}

impl Calendar {
    /// A calendar in the IANA zone `tz`, with each weekday's intervals
    /// (Monday first) and the holidays (local dates).
    pub fn new(
        tz: &str,
        week: [Vec<Span>; 7],
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        let tz: Tz = tz
            .parse()
            .map_err(|_| CalendarError::TimeZone(tz.to_owned()))?;
        let mut week = week;
        for day in &mut week {
            day.sort();
            for s in day.iter() {
                if s.start >= s.end || s.end > 1440 {
                    return Err(CalendarError::Span(format!(
                        "{}–{}",
                        format_time(s.start),
                        format_time(s.end)
                    )));
                }
            }
            for w in day.windows(2) {
                if w[1].start < w[0].end {
                    return Err(CalendarError::Span(format!(
                        "{}–{} and {}–{}",
                        format_time(w[0].start),
                        format_time(w[0].end),
                        format_time(w[1].start),
                        format_time(w[1].end)
                    )));
                }
            }
        }
        Ok(Self {
            tz,
            week,
            holidays: holidays.into_iter().map(day_number).collect(),
        })
    }

    /// The time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Seconds local time is ahead of UTC at `t`.
    fn offset(&self, t: i64) -> i64 {
        let Some(dt) = chrono::DateTime::from_timestamp(t, 0) else {
            return 0;
        };
        i64::from(
            self.tz
                .offset_from_utc_datetime(&dt.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    }

    /// The stretch from `a` (before `limit`) over which the offset stays
    /// what it is at `a`: (its end, the offset).
    fn constant_offset_until(&self, a: i64, limit: i64) -> (i64, i64) {
        let off = self.offset(a);
        let probe = (a + STEP).min(limit);
        if self.offset(probe) == off {
            return (probe, off);
        }
        // The change lies in (a, probe]: find its first second.
        let (mut lo, mut hi) = (a, probe);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.offset(mid) == off {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (hi, off)
    }

    /// The working pieces of local time `la..lb` (seconds since the epoch
    /// on the local wall clock), in order, passed to `f` until it returns
    /// false.
    fn local_pieces(&self, la: i64, lb: i64, f: &mut impl FnMut(i64, i64) -> bool) -> bool {
        let mut day = la.div_euclid(DAY);
        let last = (lb - 1).div_euclid(DAY);
        while day <= last {
            if !self.holidays.contains(&day) {
                // 1970-01-01 was a Thursday (3 days after a Monday).
                let weekday = (day + 3).rem_euclid(7) as usize;
                for s in &self.week[weekday] {
                    let p = (day * DAY + i64::from(s.start) * 60).max(la);
                    let q = (day * DAY + i64::from(s.end) * 60).min(lb);
                    if p < q && !f(p, q) {
                        return false;
                    }
                }
            }
            day += 1;
        }
        true
    }

    /// The working seconds in `from..to` (UTC seconds).
    pub fn working_secs(&self, from: i64, to: i64) -> i64 {
        let mut total = 0;
        let mut a = from;
        while a < to {
            let (b, off) = self.constant_offset_until(a, to);
            self.local_pieces(a + off, b + off, &mut |p, q| {
                total += q - p;
                true
            });
            a = b;
        }
        total
    }

    /// The first working instant `t` at or after `from` with `amount`
    /// working seconds in `from..t`; `None` when there is no working time
    /// within ten years.
    pub fn beyond(&self, from: i64, amount: i64) -> Option<i64> {
        let mut rem = amount.max(0);
        let mut a = from;
        let end = from.saturating_add(HORIZON);
        while a < end {
            let (b, off) = self.constant_offset_until(a, end);
            let mut found = None;
            self.local_pieces(a + off, b + off, &mut |p, q| {
                if rem < q - p {
                    found = Some(p + rem - off);
                    false
                } else {
                    rem -= q - p;
                    true
                }
            });
            if found.is_some() {
                return found;
            }
            a = b;
        }
        None
    }

    /// Whether the second starting at `t` is working time.
    pub fn is_working(&self, t: i64) -> bool {
        self.working_secs(t, t + 1) == 1
    }
}

/// When SLA time counts: around the clock, or a calendar's business hours.
#[derive(Debug, Clone, Copy)]
pub enum Hours<'a> {
    /// Every second counts.
    AroundTheClock,
    /// Only the calendar's working time counts.
    Business(&'a Calendar),
}

impl Hours<'_> {
    /// The counting seconds in `from..to`.
    pub fn working_secs(&self, from: i64, to: i64) -> i64 {
        match self {
            Self::AroundTheClock => (to - from).max(0),
            Self::Business(c) => c.working_secs(from, to),
        }
    }

    /// The first counting instant `t ≥ from` with `amount` counting
    /// seconds in `from..t` ([`Calendar::beyond`]).
    pub fn beyond(&self, from: i64, amount: i64) -> Option<i64> {
        match self {
            Self::AroundTheClock => Some(from + amount.max(0)),
            Self::Business(c) => c.beyond(from, amount),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nine_to_five(tz: &str, holidays: &[NaiveDate]) -> Calendar {
        let day = vec![
            Span {
                start: 9 * 60,
                end: 12 * 60,
            },
            Span {
                start: 13 * 60,
                end: 17 * 60,
            },
        ];
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ];
        Calendar::new(tz, week, holidays.iter().copied()).expect("calendar")
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("time")
            .timestamp()
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn times_of_day() {
        assert_eq!(parse_time("09:30"), Ok(570));
        assert_eq!(parse_time("24:00"), Ok(1440));
        for bad in ["9:30", "24:01", "12:60", "ab:cd", "1230", ""] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(format_time(570), "09:30");
    }

    #[test]
    fn refuses_bad_calendars() {
        let week = || std::array::from_fn::<Vec<Span>, 7, _>(|_| vec![]);
        assert!(matches!(
            Calendar::new("Mars/Olympus", week(), []),
            Err(CalendarError::TimeZone(_))
        ));
        let mut w = week();
        w[0] = vec![Span {
            start: 600,
            end: 540,
        }];
        assert!(matches!(
            Calendar::new("UTC", w, []),
            Err(CalendarError::Span(_))
        ));
        let mut w = week();
        w[0] = vec![
            Span {
                start: 540,
                end: 720,
            },
            Span {
                start: 700,
                end: 800,
            },
        ];
        assert!(matches!(
            Calendar::new("UTC", w, []),
            Err(CalendarError::Span(_))
        ));
    }

    #[test]
    fn counts_working_time_in_the_local_zone() {
        let c = nine_to_five("Europe/Berlin", &[]);
        // Monday 2026-11-30, 08:00 to 18:00 Berlin (UTC+1): 7 hours.
        assert_eq!(
            c.working_secs(at("2026-11-30T07:00:00Z"), at("2026-11-30T17:00:00Z")),
            7 * 3600
        );
        // Friday 16:00 to Monday 10:00: 1 + 1 hours.
        assert_eq!(
            c.working_secs(at("2026-12-04T15:00:00Z"), at("2026-12-07T09:00:00Z")),
            2 * 3600
        );
        // 2 working hours from Friday 16:00 are used up at Monday 10:00;
        // the first working second beyond them is then.
        assert_eq!(
            c.beyond(at("2026-12-04T15:00:00Z"), 2 * 3600),
            Some(at("2026-12-07T09:00:00Z"))
        );
        // Used up exactly at noon: the next working second is at 13:00.
        assert_eq!(
            c.beyond(at("2026-11-30T08:00:00Z"), 3 * 3600),
            Some(at("2026-11-30T12:00:00Z"))
        );
        assert!(c.is_working(at("2026-11-30T08:00:00Z")));
        assert!(!c.is_working(at("2026-11-30T11:30:00Z")));
    }

    #[test]
    fn skips_holidays() {
        let c = nine_to_five("Europe/Berlin", &[date("2026-12-24"), date("2026-12-25")]);
        // Wednesday 23 Dec 16:00 → Monday 28 Dec 10:00: 1 + 1 hours.
        assert_eq!(
            c.working_secs(at("2026-12-23T15:00:00Z"), at("2026-12-28T09:00:00Z")),
            2 * 3600
        );
    }

    #[test]
    fn daylight_saving_changes() {
        // Berlin goes to summer time on Sunday 29 March 2026; Monday's
        // 09:00 is then 07:00 UTC, not 08:00.
        let c = nine_to_five("Europe/Berlin", &[]);
        assert_eq!(
            c.beyond(at("2026-03-27T15:00:00Z"), 3600),
            Some(at("2026-03-30T07:00:00Z"))
        );
        assert_eq!(
            c.working_secs(at("2026-03-27T00:00:00Z"), at("2026-03-31T00:00:00Z")),
            14 * 3600
        );
        // An interval across the skipped hour is an hour shorter, across
        // the repeated one an hour longer.
        let night = std::array::from_fn::<Vec<Span>, 7, _>(|_| {
            vec![Span {
                start: 60,
                end: 240,
            }]
        });
        let c = Calendar::new("Europe/Berlin", night, []).expect("calendar");
        // From 20:00 UTC the day before to noon UTC: that date's night only.
        let day = |d: &str| {
            let midnight = at(&format!("{d}T00:00:00Z"));
            c.working_secs(midnight - 4 * 3600, midnight + 12 * 3600)
        };
        assert_eq!(day("2026-03-29"), 2 * 3600);
        assert_eq!(day("2026-10-25"), 4 * 3600);
        assert_eq!(day("2026-11-01"), 3 * 3600);
    }

    #[test]
    fn around_the_clock_and_no_working_time() {
        assert_eq!(Hours::AroundTheClock.working_secs(10, 70), 60);
        assert_eq!(Hours::AroundTheClock.beyond(10, 60), Some(70));
        let none = std::array::from_fn::<Vec<Span>, 7, _>(|_| vec![]);
        let c = Calendar::new("UTC", none, []).expect("calendar");
        assert_eq!(c.beyond(0, 1), None);
        assert_eq!(c.working_secs(0, 10 * 86_400), 0);
    }
}
