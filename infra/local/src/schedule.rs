//! EventBridge schedule expressions: `rate(...)` and `cron(...)`, and the scheduled event.

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Timelike, Utc};
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Rate(Duration),
    Cron(Cron),
}

/// The subset of EventBridge cron this tool runs: minutes and hours as `*`, numbers, lists,
/// ranges and steps; day-of-month, month, day-of-week and year only as `*` or `?`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
}

pub fn parse(expr: &str) -> Result<Schedule> {
    let expr = expr.trim();
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        let mut parts = inner.split_whitespace();
        let n: u64 = parts
            .next()
            .ok_or_else(|| anyhow!("rate() needs a value"))?
            .parse()
            .map_err(|_| anyhow!("rate value must be a positive integer: {expr}"))?;
        let unit = parts.next().ok_or_else(|| anyhow!("rate() needs a unit: {expr}"))?;
        if n == 0 || parts.next().is_some() {
            bail!("invalid rate expression {expr}");
        }
        let secs = match unit {
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3600,
            "day" | "days" => 86_400,
            other => bail!("unknown rate unit {other}"),
        };
        if (n == 1) != unit.ends_with(|c| c != 's') {
            bail!("rate unit must be singular for 1 and plural otherwise: {expr}");
        }
        return Ok(Schedule::Rate(Duration::from_secs(n * secs)));
    }
    if let Some(inner) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        let f: Vec<&str> = inner.split_whitespace().collect();
        if f.len() != 6 {
            bail!("cron needs 6 fields (minutes hours day-of-month month day-of-week year): {expr}");
        }
        for (i, field) in f[2..].iter().enumerate() {
            if *field != "*" && *field != "?" {
                bail!("cron field {} ({field}) is not supported locally; this schedule runs on demand only", i + 3);
            }
        }
        return Ok(Schedule::Cron(Cron { minutes: field_values(f[0], 0, 59)?, hours: field_values(f[1], 0, 23)? }));
    }
    bail!("unknown schedule expression {expr}")
}

fn field_values(field: &str, min: u32, max: u32) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| anyhow!("bad step in {field}"))?),
            None => (part, 1),
        };
        if step == 0 {
            bail!("zero step in {field}");
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse()?, b.parse()?)
        } else {
            let v: u32 = range.parse().map_err(|_| anyhow!("bad cron value {range}"))?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            bail!("cron value out of range in {field}");
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Schedule {
    /// The next time the schedule fires strictly after `after`. Rates count from `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Rate(d) => after + chrono::Duration::from_std(*d).unwrap_or_default(),
            Schedule::Cron(c) => {
                let mut t = after.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(after)
                    + chrono::Duration::minutes(1);
                // At most one day of minutes to scan: every hour list is non-empty.
                for _ in 0..(24 * 60 + 1) {
                    if c.minutes.contains(&t.minute()) && c.hours.contains(&t.hour()) {
                        return t;
                    }
                    t += chrono::Duration::minutes(1);
                }
                t
            }
        }
    }
}

/// The event EventBridge delivers for a scheduled rule.
pub fn scheduled_event(rule_arn: &str, account: &str, region: &str, time: DateTime<Utc>) -> Value {
    json!({
        "version": "0",
        "id": crate::util::uuid().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": region,
        "resources": [rule_arn],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rates_parse_with_singular_and_plural_units() {
        assert_eq!(parse("rate(1 minute)").unwrap(), Schedule::Rate(Duration::from_secs(60)));
        assert_eq!(parse("rate(5 minutes)").unwrap(), Schedule::Rate(Duration::from_secs(300)));
        assert_eq!(parse("rate(2 hours)").unwrap(), Schedule::Rate(Duration::from_secs(7200)));
        assert_eq!(parse("rate(1 day)").unwrap(), Schedule::Rate(Duration::from_secs(86400)));
        assert!(parse("rate(1 minutes)").is_err());
        assert!(parse("rate(5 minute)").is_err());
        assert!(parse("rate(0 minutes)").is_err());
        assert!(parse("rate(5 weeks)").is_err());
    }

    #[test]
    fn cron_with_fixed_minute_and_hour_fires_daily() {
        let s = parse("cron(30 2 * * ? *)").unwrap();
        assert_eq!(s.next_after(at("2024-05-01T01:00:00Z")), at("2024-05-01T02:30:00Z"));
        assert_eq!(s.next_after(at("2024-05-01T02:30:00Z")), at("2024-05-02T02:30:00Z"));
    }

    #[test]
    fn cron_steps_lists_and_ranges_work_for_minutes_and_hours() {
        let s = parse("cron(0/15 8-9 * * ? *)").unwrap();
        assert_eq!(s.next_after(at("2024-05-01T08:01:10Z")), at("2024-05-01T08:15:00Z"));
        assert_eq!(s.next_after(at("2024-05-01T09:45:00Z")), at("2024-05-02T08:00:00Z"));
        let s = parse("cron(5,35 * * * ? *)").unwrap();
        assert_eq!(s.next_after(at("2024-05-01T10:06:00Z")), at("2024-05-01T10:35:00Z"));
    }

    #[test]
    fn cron_with_day_fields_is_on_demand_only() {
        let err = parse("cron(0 3 ? * MON *)").unwrap_err();
        assert!(err.to_string().contains("on demand only"));
        assert!(parse("cron(0 3 * *)").is_err());
        assert!(parse("cron(61 3 * * ? *)").is_err());
    }

    #[test]
    fn rates_fire_one_interval_later_and_events_have_eventbridge_shape() {
        let s = parse("rate(1 minute)").unwrap();
        assert_eq!(s.next_after(at("2024-05-01T00:00:10Z")), at("2024-05-01T00:01:10Z"));
        let ev = scheduled_event("arn:aws:events:us-east-1:0:rule/r", "0", "us-east-1", at("2024-05-01T00:00:00Z"));
        assert_eq!(ev["detail-type"], "Scheduled Event");
        assert_eq!(ev["source"], "aws.events");
        assert_eq!(ev["time"], "2024-05-01T00:00:00Z");
        assert_eq!(ev["resources"][0], "arn:aws:events:us-east-1:0:rule/r");
    }
}
