//! Holidays from an iCalendar (`.ics`, RFC 5545) file, as public-holiday
//! calendars publish them: each `VEVENT`'s dates, an all-day event's
//! `DTEND` exclusive, yearly recurrences (`RRULE:FREQ=YEARLY` with
//! `COUNT` or `UNTIL`) expanded. Everything else in the file is ignored.

use std::collections::BTreeSet;

use chrono::{Datelike as _, NaiveDate};

/// How many years a yearly recurrence without an end is expanded.
const OPEN_YEARS: i32 = 10;
/// The longest event taken (days); longer ones are not holidays.
const LONGEST: i64 = 366;

/// Why an `.ics` file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    /// Not an iCalendar file.
    #[error("not an iCalendar file (no BEGIN:VCALENDAR)")]
    NotCalendar,
    /// A date that is not `YYYYMMDD` (optionally followed by a time).
    #[error("line {line}: {value:?} is not a date")]
    Date {
        /// 1-based line of the (unfolded) property.
        line: usize,
        /// The value.
        value: String,
    },
    /// An event without `DTSTART`.
    #[error("line {0}: an event without DTSTART")]
    NoStart(usize),
}

/// Unfolds continuation lines (a line starting with a space or a tab
/// continues the previous one): (first line number, content).
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.1.push_str(rest),
            _ => out.push((i + 1, raw.to_owned())),
        }
    }
    out
}

fn parse_date(line: usize, value: &str) -> Result<NaiveDate, IcsError> {
    let bad = || IcsError::Date {
        line,
        value: value.to_owned(),
    };
    let digits = value.get(..8).ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").map_err(|_| bad())
}

#[derive(Default)]
struct Event {
    line: usize,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    yearly: bool,
    count: Option<u32>,
    until: Option<NaiveDate>,
}

impl Event {
    fn dates(&self, out: &mut BTreeSet<NaiveDate>) -> Result<(), IcsError> {
        let start = self.start.ok_or(IcsError::NoStart(self.line))?;
        let days = self
            .end
            .map_or(1, |e| (e - start).num_days())
            .clamp(1, LONGEST + 1);
        if days > LONGEST {
            return Ok(());
        }
        let years = if self.yearly {
            self.count.map_or(OPEN_YEARS, |c| c.min(100) as i32)
        } else {
            1
        };
        for y in 0..years {
            let Some(first) = start.with_year(start.year() + y) else {
                continue; // 29 February in a common year
            };
            if self.until.is_some_and(|u| first > u) {
                break;
            }
            for d in 0..days {
                out.insert(first + chrono::Days::new(d as u64));
            }
        }
        Ok(())
    }
}

/// The holiday dates in an `.ics` file, sorted.
pub fn holidays_from_ics(text: &str) -> Result<Vec<NaiveDate>, IcsError> {
    let lines = unfold(text);
    if !lines
        .iter()
        .any(|(_, l)| l.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(IcsError::NotCalendar);
    }
    let mut out = BTreeSet::new();
    let mut event: Option<Event> = None;
    for (n, line) in lines {
        let Some((name_params, value)) = line.split_once(':') else {
            continue;
        };
        let name = name_params
            .split(';')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match (name.as_str(), event.as_mut()) {
            ("BEGIN", None) if value.eq_ignore_ascii_case("VEVENT") => {
                event = Some(Event {
                    line: n,
                    ..Event::default()
                });
            }
            ("END", Some(e)) if value.eq_ignore_ascii_case("VEVENT") => {
                e.dates(&mut out)?;
                event = None;
            }
            ("DTSTART", Some(e)) => e.start = Some(parse_date(n, value)?),
            ("DTEND", Some(e)) => e.end = Some(parse_date(n, value)?),
            ("RRULE", Some(e)) => {
                for part in value.split(';') {
                    let (k, v) = part.split_once('=').unwrap_or((part, ""));
                    match k.to_ascii_uppercase().as_str() {
                        "FREQ" => e.yearly = v.eq_ignore_ascii_case("YEARLY"),
                        "COUNT" => e.count = v.parse().ok(),
                        "UNTIL" => e.until = Some(parse_date(n, v)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn reads_public_holiday_calendars() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
            BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\n\
            SUMMARY:Christmas\r\n  Day\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20270101\r\nRRULE:FREQ=YEARLY;COUNT=3\r\nEND:VEVENT\r\n\
            BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20261003T000000\r\nEND:VEVENT\r\n\
            END:VCALENDAR\r\n";
        assert_eq!(
            holidays_from_ics(ics),
            Ok(vec![
                d("2026-10-03"),
                d("2026-12-25"),
                d("2026-12-26"),
                d("2027-01-01"),
                d("2028-01-01"),
                d("2029-01-01"),
            ])
        );
    }

    #[test]
    fn open_recurrences_and_until() {
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260501\nRRULE:FREQ=YEARLY\nEND:VEVENT\n\
            BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260815\nRRULE:FREQ=YEARLY;UNTIL=20270901\nEND:VEVENT\nEND:VCALENDAR\n";
        let days = holidays_from_ics(ics).expect("ics");
        assert_eq!(days.iter().filter(|x| x.month() == 5).count(), 10);
        assert_eq!(
            days.iter().filter(|x| x.month() == 8).collect::<Vec<_>>(),
            [&d("2026-08-15"), &d("2027-08-15")]
        );
    }

    #[test]
    fn clear_errors() {
        assert_eq!(holidays_from_ics("hello"), Err(IcsError::NotCalendar));
        assert_eq!(
            holidays_from_ics("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2026-12-25\nEND:VEVENT\n"),
            Err(IcsError::Date {
                line: 3,
                value: "2026-12-25".into()
            })
        );
        assert_eq!(
            holidays_from_ics("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n"),
            Err(IcsError::NoStart(2))
        );
    }
}
