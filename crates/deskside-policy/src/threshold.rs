//! Thresholds: quantities with units, and which side of them is bad.
//!
//! Comparisons are strict, as in the Monitoring Plugins: `check_disk -w 15%`
//! warns when *less than* 15 % is free, `check_load -w 4` when the load is
//! *more than* 4. Deskside reaches the same state for the same thresholds.

use std::time::Duration;

use deskside_protocol::{CheckState, Threshold};

/// A parsed threshold value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// A plain number in the kind's natural unit.
    Number(f64),
    /// A percentage.
    Percent(f64),
    /// A size in bytes.
    Bytes(f64),
    /// A duration.
    Duration(Duration),
}

/// What kind of quantity a check measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Percent, or bytes when the threshold says so (free space, memory).
    PercentOrBytes,
    /// Percent only (battery health).
    Percent,
    /// A plain number (load, °C).
    Number,
    /// A duration (uptime, latency).
    Duration,
}

/// Which side of the threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Less is worse (free space, battery health).
    LowIsBad,
    /// More is worse (load, uptime, latency).
    HighIsBad,
}

const BYTE_UNITS: &[(&str, f64)] = &[
    ("kib", 1024.0),
    ("mib", 1024.0 * 1024.0),
    ("gib", 1024.0 * 1024.0 * 1024.0),
    ("tib", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("kb", 1e3),
    ("mb", 1e6),
    ("gb", 1e9),
    ("tb", 1e12),
    ("k", 1024.0),
    ("m", 1024.0 * 1024.0),
    ("g", 1024.0 * 1024.0 * 1024.0),
    ("t", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("b", 1.0),
];

/// Parses a threshold for a check measuring `unit`. The error says what
/// was expected.
pub fn parse(t: &Threshold, unit: Unit) -> Result<Quantity, String> {
    let q = match t {
        Threshold::Number(n) if n.is_finite() => Quantity::Number(*n),
        Threshold::Number(_) => return Err("must be a finite number".into()),
        Threshold::Text(s) => parse_text(s.trim())?,
    };
    let q = match (unit, q) {
        (Unit::PercentOrBytes | Unit::Percent, Quantity::Number(n)) => Quantity::Percent(n),
        (Unit::Number, Quantity::Percent(p)) => Quantity::Number(p),
        (Unit::Duration, Quantity::Number(_)) => {
            return Err("needs a unit, such as \"200ms\", \"30s\" or \"14d\"".into());
        }
        (_, q) => q,
    };
    let fits = matches!(
        (unit, q),
        (
            Unit::PercentOrBytes,
            Quantity::Percent(_) | Quantity::Bytes(_)
        ) | (Unit::Percent, Quantity::Percent(_))
            | (Unit::Number, Quantity::Number(_))
            | (Unit::Duration, Quantity::Duration(_))
    );
    if !fits {
        return Err(match unit {
            Unit::PercentOrBytes => "must be a percentage (\"15%\") or a size (\"10GiB\")",
            Unit::Percent => "must be a percentage (\"70%\")",
            Unit::Number => "must be a number",
            Unit::Duration => "must be a duration (\"200ms\", \"14d\")",
        }
        .into());
    }
    if let Quantity::Percent(p) = q
        && !(0.0..=100.0).contains(&p)
    {
        return Err(format!("{p}% is not between 0% and 100%"));
    }
    Ok(q)
}

fn parse_text(s: &str) -> Result<Quantity, String> {
    if let Some(p) = s.strip_suffix('%') {
        return p
            .trim()
            .parse::<f64>()
            .map(Quantity::Percent)
            .map_err(|_| format!("{s:?} is not a percentage"));
    }
    if let Ok(n) = s.parse::<f64>() {
        return Ok(Quantity::Number(n));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = (s[..split].trim(), s[split..].trim().to_ascii_lowercase());
    if let (Ok(n), Some((_, mult))) = (
        num.parse::<f64>(),
        BYTE_UNITS.iter().find(|(u, _)| *u == suffix),
    ) {
        return Ok(Quantity::Bytes(n * mult));
    }
    humantime::parse_duration(s)
        .map(Quantity::Duration)
        .map_err(|_| format!("{s:?} is not a number, percentage, size or duration"))
}

impl Quantity {
    /// The value as one number in its own unit (seconds for durations).
    pub fn value(self) -> f64 {
        match self {
            Self::Number(n) | Self::Percent(n) | Self::Bytes(n) => n,
            Self::Duration(d) => d.as_secs_f64(),
        }
    }

    /// Same kind of quantity (both percent, both bytes, …)?
    pub fn same_unit(self, other: Quantity) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }

    /// How the threshold reads in perfdata and messages.
    pub fn display(self) -> String {
        match self {
            Self::Number(n) => format!("{n}"),
            Self::Percent(p) => format!("{p}%"),
            Self::Bytes(b) => format!("{b}B"),
            Self::Duration(d) => humantime::format_duration(d).to_string(),
        }
    }
}

/// Checks that warn and crit fit together: same unit, and crit on the bad
/// side of warn.
pub fn validate_pair(
    warn: Option<Quantity>,
    crit: Option<Quantity>,
    dir: Direction,
) -> Result<(), String> {
    if let (Some(w), Some(c)) = (warn, crit) {
        if !w.same_unit(c) {
            return Err("warn and crit must use the same unit".into());
        }
        let ordered = match dir {
            Direction::LowIsBad => c.value() <= w.value(),
            Direction::HighIsBad => c.value() >= w.value(),
        };
        if !ordered {
            return Err(match dir {
                Direction::LowIsBad => {
                    "crit must not be above warn (lower values are worse)".into()
                }
                Direction::HighIsBad => {
                    "crit must not be below warn (higher values are worse)".into()
                }
            });
        }
    }
    Ok(())
}

/// The state of `value` against the thresholds; `value` must be in the
/// thresholds' unit (use [`pick`] for percent-or-bytes checks).
pub fn evaluate(
    value: f64,
    warn: Option<Quantity>,
    crit: Option<Quantity>,
    dir: Direction,
) -> CheckState {
    let breached = |t: Option<Quantity>| {
        t.is_some_and(|t| match dir {
            Direction::LowIsBad => value < t.value(),
            Direction::HighIsBad => value > t.value(),
        })
    };
    if breached(crit) {
        CheckState::Critical
    } else if breached(warn) {
        CheckState::Warning
    } else {
        CheckState::Ok
    }
}

/// A number as performance data writes it: at most three decimals, no
/// trailing zeros.
pub fn perf_number(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// A threshold as a Monitoring Plugins range, `value` already in the
/// unit of the performance data it goes with: `"15:"` (alert below 15)
/// when lower is worse, `"80"` (alert above 80) when higher is worse.
pub fn perf_range(value: f64, dir: Direction) -> String {
    match dir {
        Direction::LowIsBad => format!("{}:", perf_number(value)),
        Direction::HighIsBad => perf_number(value),
    }
}

/// For a percent-or-bytes check: the measured value in the unit the
/// thresholds use.
pub fn pick(percent: f64, bytes: f64, warn: Option<Quantity>, crit: Option<Quantity>) -> f64 {
    match warn.or(crit) {
        Some(Quantity::Bytes(_)) => bytes,
        _ => percent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_ranges_follow_the_monitoring_plugins_guidelines() {
        assert_eq!(perf_range(15.0, Direction::LowIsBad), "15:");
        assert_eq!(perf_range(0.2, Direction::HighIsBad), "0.2");
        assert_eq!(perf_range(1_209_600.0, Direction::HighIsBad), "1209600");
        assert_eq!(perf_number(51.84444), "51.844");
        assert_eq!(perf_number(2.0), "2");
    }

    fn t(s: &str) -> Threshold {
        Threshold::Text(s.into())
    }

    #[test]
    fn parses_units() {
        assert_eq!(
            parse(&t("15%"), Unit::PercentOrBytes),
            Ok(Quantity::Percent(15.0))
        );
        assert_eq!(
            parse(&Threshold::Number(5.0), Unit::PercentOrBytes),
            Ok(Quantity::Percent(5.0))
        );
        assert_eq!(
            parse(&t("10GiB"), Unit::PercentOrBytes),
            Ok(Quantity::Bytes(10.0 * 1024.0 * 1024.0 * 1024.0))
        );
        assert_eq!(
            parse(&t("500 MB"), Unit::PercentOrBytes),
            Ok(Quantity::Bytes(5e8))
        );
        assert_eq!(
            parse(&t("14d"), Unit::Duration),
            Ok(Quantity::Duration(Duration::from_secs(14 * 86400)))
        );
        assert_eq!(
            parse(&t("200ms"), Unit::Duration),
            Ok(Quantity::Duration(Duration::from_millis(200)))
        );
        assert_eq!(
            parse(&Threshold::Number(0.9), Unit::Number),
            Ok(Quantity::Number(0.9))
        );
        assert_eq!(parse(&t("4.5"), Unit::Number), Ok(Quantity::Number(4.5)));
    }

    #[test]
    fn rejects_what_does_not_fit() {
        assert!(
            parse(&Threshold::Number(200.0), Unit::Duration)
                .unwrap_err()
                .contains("unit")
        );
        assert!(parse(&t("10GiB"), Unit::Percent).is_err());
        assert!(
            parse(&t("150%"), Unit::Percent)
                .unwrap_err()
                .contains("between")
        );
        assert!(parse(&t("lots"), Unit::Number).is_err());
        assert!(parse(&t("5d"), Unit::PercentOrBytes).is_err());
        assert!(parse(&Threshold::Number(f64::NAN), Unit::Number).is_err());
    }

    #[test]
    fn pairs_must_agree() {
        let p = |v| Some(Quantity::Percent(v));
        assert!(validate_pair(p(15.0), p(5.0), Direction::LowIsBad).is_ok());
        assert!(validate_pair(p(5.0), p(15.0), Direction::LowIsBad).is_err());
        assert!(validate_pair(p(80.0), p(90.0), Direction::HighIsBad).is_ok());
        assert!(validate_pair(p(15.0), Some(Quantity::Bytes(1.0)), Direction::LowIsBad).is_err());
    }

    #[test]
    fn strict_comparisons_like_the_monitoring_plugins() {
        let (w, c) = (Some(Quantity::Percent(15.0)), Some(Quantity::Percent(5.0)));
        assert_eq!(evaluate(15.0, w, c, Direction::LowIsBad), CheckState::Ok);
        assert_eq!(
            evaluate(14.9, w, c, Direction::LowIsBad),
            CheckState::Warning
        );
        assert_eq!(
            evaluate(4.0, w, c, Direction::LowIsBad),
            CheckState::Critical
        );
        let (w, c) = (Some(Quantity::Number(1.0)), Some(Quantity::Number(2.0)));
        assert_eq!(evaluate(1.0, w, c, Direction::HighIsBad), CheckState::Ok);
        assert_eq!(
            evaluate(1.5, w, c, Direction::HighIsBad),
            CheckState::Warning
        );
        assert_eq!(
            evaluate(2.5, w, c, Direction::HighIsBad),
            CheckState::Critical
        );
        assert_eq!(
            evaluate(99.0, None, None, Direction::HighIsBad),
            CheckState::Ok
        );
        assert_eq!(pick(20.0, 1e9, Some(Quantity::Bytes(5e9)), None), 1e9);
    }
}
