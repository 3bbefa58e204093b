//! The production model: each series' level times a daily shape shared by its group (same
//! category and location).
//!
//! The shape of a group is its weekday profile (per weekday, the trimmed mean of the group's
//! total demand over the last 8 weeks: the largest and smallest week left out, so one absurd or
//! missing week does not move it) times three calendar effects learned from the group's own
//! history: benefit-payment days (e.g. SNAP) against other days over the last year, day of the
//! month, and each recurring event (Mother's Day, Easter, …) from its earlier occurrences.
//! Calendar effects are read as the ratio of the group's deseasonalised demand to its centred
//! 29-day moving average, shrunk towards 1 when seen rarely.
//!
//! *Closed* has two meanings, both with shape 0:
//! - a closed weekday: the group's profile is below 5% of its average weekday (a shop that never
//!   opens on Sundays);
//! - a closed day: fewer than a tenth of the group's usual sellers sold anything, where at least
//!   5 of its series sell on an average day of that weekday (a holiday closure, a stock-take).
//!
//! A series' shape is its group's, except on a weekday where that is below a quarter of the
//! series' own share although the series sells on it at least every other week: there it keeps
//! its own share, so its shape is never near zero on a day it habitually sells.
//!
//! A series' level is the exponentially weighted ratio Σ w·y ÷ Σ w·shape (decay 0.06 per day
//! over 84 days, from its first sale on): closed days weigh nothing, so they neither pull the
//! level down (an average of y ÷ shape counted them as 0) nor blow it up when something sold on
//! them anyway. The forecast, level × shape, is blended 4:1 with the series' own seasonal window
//! average (last 4 weeks, closed days left out), which keeps item-specific weekday patterns.
//!
//! Every constant here was chosen on rolling validation windows of M5 data that end before the
//! evaluation's test window (see `make eval`): windows ending at days 1521, 1549, 1829, 1857 and
//! 1885, mean WRMSSE 0.535 (0.548 with the older average of ratios and untrimmed profile)
//! against 0.617 for the seasonal window average.
//!
//! Groups are assumed to lie in one calendar region (a category × location does); the region of a
//! group is that of its first series.

use ndarray::{Array2, ArrayView1};

use crate::outliers::AbsurdDay;
use crate::panel::{Panel, flag};

/// Weeks of group demand behind the weekday profile.
const PROFILE_WEEKS: usize = 8;
/// Days behind the benefit-day effect.
const BENEFIT_SPAN: usize = 364;
/// Days behind the day-of-month and event effects.
const CALENDAR_SPAN: usize = 1092;
/// Width of the centred moving average the calendar effects are measured against.
const LOCAL_WINDOW: usize = 29;
/// Pseudo-observations at ratio 1 added to each day-of-month effect.
const DAY_OF_MONTH_PRIOR: f64 = 4.0;
/// Pseudo-observations at ratio 1 added to each event effect.
const EVENT_PRIOR: f64 = 1.0;
/// An event never takes more than this share of demand away.
const EVENT_FLOOR: f64 = 0.3;
/// Days behind a series' level, and the weight decay per day back.
const LEVEL_DAYS: usize = 84;
const LEVEL_DECAY: f64 = 0.06;
/// Weight of the series' own seasonal window average in the final blend.
const OWN_PATTERN_WEIGHT: f64 = 0.2;
const OWN_PATTERN_WEEKS: usize = 4;

/// A group's weekday is *closed* when its profile is below this share of an average weekday
/// (the group sells almost nothing on it).
const CLOSED_PROFILE: f64 = 0.05;
/// A series' shape is near zero on a weekday when its group's profile there is below this share
/// of the series' own; the series then keeps its own share on that weekday if it sold on it in
/// at least [`OWN_SELLING_WEEKS`] of the profile's 8 weeks (half of them: a habit, not a fluke).
const OWN_NEAR_ZERO: f64 = 0.25;
const OWN_SELLING_WEEKS: usize = 4;
/// A past day is *closed* for a group (a holiday closure, a stock-take) when fewer than a tenth
/// of the series that sell on an average day of that weekday sold anything, and that average is
/// at least [`CLOSED_MIN_SELLERS`]. With independent series so few sellers happen by chance on
/// fewer than one day in 140 (e^−5); one order booked during a closure does not reopen the day.
/// A closed day counts as no day at all: not in any level, profile or effect.
const CLOSED_MIN_SELLERS: f64 = 5.0;
const CLOSED_SELLER_SHARE: f64 = 0.1;

const TINY: f64 = 1e-9;

/// The daily shape of one group: weekday profile × calendar effects, and which past days were
/// closed.
struct GroupShape {
    /// Weekday profile, mean 1 over the week (0 on closed weekdays).
    profile: [f64; 7],
    /// Calendar effects per day `0..end + horizon`, 0 on closed days: the group's shape on day
    /// `t` is `profile[weekday(t)] × effects[t]`.
    effects: Vec<f64>,
}

/// Forecast every series of `panel` from its first `end` days (days `end..` are never read, except
/// for calendar flags and prices, which are known in advance) for `horizon` days.
/// Returns series × horizon.
///
/// The level of a series is the weighted ratio Σ w·y ÷ Σ w·shape over its level window: days on
/// which the shape is 0 (closed) carry no weight, so a closed weekday or a holiday closure does
/// not pull the level down, and a day of small shape cannot blow it up.
///
/// `untrusted` are the absurd days found in the panel (see [`crate::outliers`]): they count at
/// their clamped value in their own series' level, but in their group's shape as an ordinary day
/// of that series (its mean day), so one series' absurd day cannot move another's forecast.
pub fn forecast(panel: &Panel, end: usize, horizon: usize, untrusted: &[AbsurdDay]) -> Array2<f64> {
    let n = panel.n_series();
    let mut out = Array2::zeros((n, horizon));
    if n == 0 || horizon == 0 {
        return out;
    }
    let end = end.min(panel.n_days());
    let shapes = group_shapes(panel, end, horizon, untrusted);
    let weights: Vec<f64> = (0..LEVEL_DAYS.min(end)).map(|k| (1.0 - LEVEL_DECAY).powi(k as i32)).collect();
    for (i, mut row) in out.outer_iter_mut().enumerate() {
        let y = panel.demand.row(i);
        let group = &shapes[panel.group[i] as usize];
        let profile = own_weekday_profile(panel, y, end, &group.profile);
        let shape = |t: usize| profile[panel.weekday(t)] * group.effects[t];
        // Days before the first sale are not history: a SKU launched three weeks ago is measured
        // on those three weeks.
        let first_sale = y.iter().take(end).position(|&v| v != 0.0).unwrap_or(end);
        let days = weights.len().min(end - first_sale);
        let (mut sold, mut expected) = (0.0, 0.0);
        for (k, w) in weights[..days].iter().enumerate() {
            let t = end - 1 - k;
            sold += w * f64::from(y[t]);
            expected += w * shape(t);
        }
        let level = if expected > TINY { sold / expected } else { 0.0 };
        let own = own_pattern(y, end, |t| group.effects[t] <= 0.0);
        for (step, value) in row.iter_mut().enumerate() {
            let pooled = level * shape(end + step);
            let blended = match &own {
                Some(own) => (1.0 - OWN_PATTERN_WEIGHT) * pooled + OWN_PATTERN_WEIGHT * own[step % 7],
                None => pooled,
            };
            *value = blended.max(0.0);
        }
    }
    out
}

/// The weekday profile of one series: its group's, except on a weekday where the group's is
/// near zero for this series (below [`OWN_NEAR_ZERO`] of the series' own share of that weekday)
/// although the series sold on it in at least [`OWN_SELLING_WEEKS`] of the profile's weeks
/// (a shop closed on Sundays, one SKU sold on Sundays anyway). There it is the series' own:
/// its mean units on that weekday relative to its mean on the other weekdays, on the scale of
/// the group's profile on those.
fn own_weekday_profile(panel: &Panel, y: ArrayView1<f32>, end: usize, profile: &[f64; 7]) -> [f64; 7] {
    let mut own_profile = *profile;
    let weeks = (end / 7).min(PROFILE_WEEKS);
    if weeks == 0 {
        return own_profile;
    }
    let (mut units, mut selling) = ([0.0f64; 7], [0usize; 7]);
    for t in end - 7 * weeks..end {
        let (wd, v) = (panel.weekday(t), f64::from(y[t]));
        units[wd] += v;
        selling[wd] += usize::from(v > 0.0);
    }
    let mean_units = units.iter().sum::<f64>() / 7.0;
    if mean_units <= 0.0 {
        return own_profile;
    }
    let near_zero: Vec<usize> = (0..7)
        .filter(|&wd| selling[wd] >= OWN_SELLING_WEEKS && profile[wd] < OWN_NEAR_ZERO * units[wd] / mean_units)
        .collect();
    let others: Vec<usize> = (0..7).filter(|wd| !near_zero.contains(wd)).collect();
    if near_zero.is_empty() || others.is_empty() {
        return own_profile;
    }
    let own_others = others.iter().map(|&wd| units[wd]).sum::<f64>();
    let group_others = others.iter().map(|&wd| profile[wd]).sum::<f64>();
    if own_others <= 0.0 {
        return own_profile;
    }
    for wd in near_zero {
        own_profile[wd] = units[wd] / own_others * group_others;
    }
    own_profile
}

/// The seasonal window average of one series: mean of the last weeks per position in the week,
/// indexed by steps after `end` modulo 7, leaving out `closed` days. `None` before one full week
/// of history.
fn own_pattern(y: ArrayView1<f32>, end: usize, closed: impl Fn(usize) -> bool) -> Option<[f64; 7]> {
    let weeks = (end / 7).min(OWN_PATTERN_WEEKS);
    if weeks == 0 {
        return None;
    }
    let mut pattern = [0.0; 7];
    for (position, value) in pattern.iter_mut().enumerate() {
        let days = (0..weeks).map(|w| end - 7 * (w + 1) + position).filter(|&t| !closed(t));
        let (sum, count) = days.fold((0.0, 0usize), |(s, c), t| (s + f64::from(y[t]), c + 1));
        *value = if count > 0 { sum / count as f64 } else { 0.0 };
    }
    Some(pattern)
}

/// Each group's daily shape over days `0..end + horizon` (only the last spans are meaningful).
fn group_shapes(panel: &Panel, end: usize, horizon: usize, untrusted: &[AbsurdDay]) -> Vec<GroupShape> {
    let n_groups = panel.group.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
    let days = end + horizon;
    let lo = end.saturating_sub(CALENDAR_SPAN.max(BENEFIT_SPAN).max(PROFILE_WEEKS * 7));
    // Group totals and selling series over the days any effect reads, and each group's region.
    let mut totals = vec![vec![0.0f64; end - lo]; n_groups];
    let mut sellers = vec![vec![0u32; end - lo]; n_groups];
    let mut region = vec![None; n_groups];
    for (i, &g) in panel.group.iter().enumerate() {
        let row = panel.demand.row(i);
        let (total, selling) = (&mut totals[g as usize], &mut sellers[g as usize]);
        for (t, (value, count)) in total.iter_mut().zip(selling.iter_mut()).enumerate() {
            let v = row[lo + t];
            *value += f64::from(v);
            *count += u32::from(v > 0.0);
        }
        region[g as usize].get_or_insert(panel.region[i] as usize);
    }
    for day in untrusted.iter().filter(|d| (lo..end).contains(&d.day)) {
        let row = panel.demand.row(day.series);
        let ordinary = row.iter().take(end).map(|&v| f64::from(v)).sum::<f64>() / end as f64;
        totals[panel.group[day.series] as usize][day.day - lo] += ordinary - f64::from(row[day.day]);
    }
    totals
        .iter()
        .zip(&sellers)
        .zip(region)
        .map(|((total, selling), region)| group_shape(panel, total, selling, lo, end, days, region.unwrap_or(0)))
        .collect()
}

/// Whether a day on which `selling` series sold is closed, for a group in which `usual` series
/// sell on an average day of that weekday.
fn closed(selling: u32, usual: f64) -> bool {
    usual >= CLOSED_MIN_SELLERS && f64::from(selling) < CLOSED_SELLER_SHARE * usual
}

/// Per group, whether each of the days `0..end` was closed (by the rule of the module
/// documentation, with the usual sellers of the 8 weeks before `end`).
pub(crate) fn closed_days(panel: &Panel, end: usize) -> Vec<Vec<bool>> {
    let n_groups = panel.group.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
    let end = end.min(panel.n_days());
    let mut sellers = vec![vec![0u32; end]; n_groups];
    for (i, &g) in panel.group.iter().enumerate() {
        for (count, &v) in sellers[g as usize].iter_mut().zip(panel.demand.row(i).iter()) {
            *count += u32::from(v > 0.0);
        }
    }
    let weeks = (end / 7).min(PROFILE_WEEKS);
    sellers
        .iter()
        .map(|selling| {
            let mut usual = [0.0f64; 7];
            if weeks > 0 {
                for t in end - 7 * weeks..end {
                    usual[panel.weekday(t)] += f64::from(selling[t]) / weeks as f64;
                }
            }
            selling.iter().enumerate().map(|(t, &count)| closed(count, usual[panel.weekday(t)])).collect()
        })
        .collect()
}

/// Mean of `values` without their largest and smallest (when at least five remain).
fn trimmed_mean(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let kept = if values.len() >= 5 { &values[1..values.len() - 1] } else { &values[..] };
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// One group's shape; `total[t - lo]` is the group's demand on day `t` for `t in lo..end`, and
/// `selling[t - lo]` the number of its series that sold anything that day.
fn group_shape(
    panel: &Panel,
    total: &[f64],
    selling: &[u32],
    lo: usize,
    end: usize,
    days: usize,
    region: usize,
) -> GroupShape {
    let at = |t: usize| total[t - lo];
    // Closed days: (almost) no series sold although several sell on an average day of that weekday.
    let weeks = (end / 7).min(PROFILE_WEEKS);
    let mut usual_sellers = [0.0f64; 7];
    if weeks > 0 {
        for t in end - 7 * weeks..end {
            usual_sellers[panel.weekday(t)] += f64::from(selling[t - lo]) / weeks as f64;
        }
    }
    let closed_day = |t: usize| (lo..end).contains(&t) && closed(selling[t - lo], usual_sellers[panel.weekday(t)]);

    // Weekday profile: per weekday the trimmed mean over the profile's weeks (one absurd or
    // missing week does not move it), closed days left out; normalised to mean 1.
    let mut profile = [1.0f64; 7];
    if weeks > 0 {
        let mut means = [0.0f64; 7];
        for (wd, mean) in means.iter_mut().enumerate() {
            let mut values: Vec<f64> =
                (end - 7 * weeks..end).filter(|&t| panel.weekday(t) == wd && !closed_day(t)).map(at).collect();
            *mean = trimmed_mean(&mut values);
        }
        let mean = means.iter().sum::<f64>() / 7.0;
        if mean > 0.0 {
            for (p, m) in profile.iter_mut().zip(means) {
                *p = if m / mean < CLOSED_PROFILE { 0.0 } else { m / mean };
            }
        }
    }
    let mut effects: Vec<f64> = (0..days).map(|t| if closed_day(t) { 0.0 } else { 1.0 }).collect();
    let mut shape: Vec<f64> = (0..days).map(|t| profile[panel.weekday(t)] * effects[t]).collect();
    let Some(calendar) = panel.calendar.as_ref().filter(|c| c.days() >= days) else {
        return GroupShape { profile, effects };
    };
    let benefit_day = |t: usize| calendar.flags.get((region, t)).is_some_and(|f| f & flag::BENEFIT_DAY != 0);

    // Benefit days: mean deseasonalised demand on them against other days (open days only).
    let (mut on, mut on_days, mut off, mut off_days) = (0.0, 0usize, 0.0, 0usize);
    let first = end.saturating_sub(BENEFIT_SPAN).max(lo);
    for (t, s) in shape.iter().enumerate().take(end).skip(first) {
        if *s <= 0.0 {
            continue;
        }
        let value = at(t) / s;
        if benefit_day(t) {
            on += value;
            on_days += 1;
        } else {
            off += value;
            off_days += 1;
        }
    }
    if on_days > 0 && off_days > 0 && on > 0.0 && off > 0.0 {
        let effect = (on / on_days as f64) / (off / off_days as f64);
        for (t, (s, e)) in shape.iter_mut().zip(effects.iter_mut()).enumerate() {
            if benefit_day(t) {
                *s *= effect;
                *e *= effect;
            }
        }
    }

    // Day-of-month and event effects from the ratio of deseasonalised demand to its local mean,
    // over open days only.
    let span_lo = end.saturating_sub(CALENDAR_SPAN).max(lo);
    if end <= span_lo {
        return GroupShape { profile, effects };
    }
    let span = &shape[span_lo..end];
    let open_days = span.iter().filter(|&&s| s > 0.0).count();
    let shape_mean = span.iter().sum::<f64>() / open_days.max(1) as f64;
    let deseasonalised: Vec<Option<f64>> =
        (span_lo..end).map(|t| (shape[t] > 0.0).then(|| at(t) / (shape[t] / shape_mean.max(TINY)))).collect();
    let local = centred_mean(&deseasonalised, LOCAL_WINDOW);
    let ratio: Vec<Option<f64>> = deseasonalised.iter().zip(&local).map(|(d, l)| d.map(|d| d / l.max(TINY))).collect();

    // Per day of the month, the mean of its ratios shrunk towards 1. (A trimmed mean here scored
    // worse on every M5 window; absurd days are clamped in their series before they get here,
    // and closed days carry no ratio.)
    let mut by_day = [(0.0f64, 0usize); 32];
    for (k, r) in ratio.iter().enumerate() {
        let t = span_lo + k;
        if let (Some(r), 0) = (r, calendar.event[t]) {
            let slot = &mut by_day[calendar.day_of_month[t] as usize % 32];
            slot.0 += r;
            slot.1 += 1;
        }
    }
    let day_effect: Vec<f64> =
        by_day.iter().map(|&(sum, count)| (sum + DAY_OF_MONTH_PRIOR) / (count as f64 + DAY_OF_MONTH_PRIOR)).collect();

    let mut upcoming: Vec<u16> = calendar.event[end..days].iter().copied().filter(|&e| e != 0).collect();
    upcoming.sort_unstable();
    upcoming.dedup();
    let event_effect: Vec<(u16, f64)> = upcoming
        .into_iter()
        .filter_map(|event| {
            let (sum, count) = ratio
                .iter()
                .enumerate()
                .filter(|(k, _)| calendar.event[span_lo + k] == event)
                .filter_map(|(_, r)| *r)
                .fold((0.0, 0usize), |(s, c), r| (s + r, c + 1));
            (count > 0).then(|| (event, ((sum + EVENT_PRIOR) / (count as f64 + EVENT_PRIOR)).max(EVENT_FLOOR)))
        })
        .collect();

    for (t, (s, e)) in shape.iter_mut().zip(effects.iter_mut()).enumerate() {
        let mut factor = day_effect[calendar.day_of_month[t] as usize % 32];
        if let Some((_, effect)) = event_effect.iter().find(|(e, _)| *e == calendar.event[t]) {
            factor *= effect;
        }
        *s *= factor;
        *e *= factor;
    }
    GroupShape { profile, effects }
}

/// Centred moving average of width `window` (odd) over the known values, truncated at the ends
/// (0 where a window holds none).
fn centred_mean(values: &[Option<f64>], window: usize) -> Vec<f64> {
    let half = window / 2;
    let mut prefix = Vec::with_capacity(values.len() + 1);
    prefix.push((0.0, 0usize));
    for v in values {
        let (sum, count) = prefix.last().copied().unwrap_or((0.0, 0));
        prefix.push(match v {
            Some(v) => (sum + v, count + 1),
            None => (sum, count),
        });
    }
    (0..values.len())
        .map(|t| {
            let lo = t.saturating_sub(half);
            let hi = (t + half + 1).min(values.len());
            let count = prefix[hi].1 - prefix[lo].1;
            if count == 0 { 0.0 } else { (prefix[hi].0 - prefix[lo].0) / count as f64 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;
    use crate::panel::Calendar;

    #[test]
    fn a_steady_series_is_forecast_at_its_rate() {
        let panel = Panel::from_demand(Array2::from_elem((1, 70), 5.0), 0);
        let f = forecast(&panel, 70, 14, &[]);
        for v in f.iter() {
            assert!((v - 5.0).abs() < 1e-9, "{v}");
        }
    }

    #[test]
    fn the_weekday_profile_of_a_group_carries_over_to_a_young_series_of_that_group() {
        // An established series sells 10 on Saturdays and 2 on other days; a new one sells a flat 1
        // over its one week. Both share a group, so the new one inherits the weekend peak.
        let days = 56;
        let mut demand = Array2::zeros((2, days));
        for t in 0..days {
            demand[(0, t)] = if t % 7 == 5 { 10.0 } else { 2.0 };
            if t >= days - 7 {
                demand[(1, t)] = 1.0;
            }
        }
        let panel = Panel::from_demand(demand, 0);
        let f = forecast(&panel, days, 7, &[]);
        // Day index `days` is a Monday (56 % 7 == 0); Saturday is step 5.
        assert!(f[(1, 5)] > 2.0 * f[(1, 0)], "saturday {} monday {}", f[(1, 5)], f[(1, 0)]);
        // The established series keeps its pattern, 2 on Monday and 10 on Saturday, within the few
        // percent the young series' flat week moves the shared profile.
        assert!((f[(0, 0)] - 2.0).abs() < 0.05 && (f[(0, 5)] - 10.0).abs() < 0.5, "{:?}", f.row(0));
    }

    #[test]
    fn an_event_that_halved_demand_last_year_halves_this_years_forecast() {
        let days = 400;
        let horizon = 7;
        let mut calendar = Calendar::plain((2024, 1, 1), days + horizon, 1);
        let mut demand = Array2::from_elem((1, days), 10.0f32);
        // The event fell on day 30 and on day 394 (+364, same weekday); it is upcoming at day 402.
        for t in [30, 394] {
            calendar.event[t] = 7;
            demand[(0, t)] = 5.0;
        }
        calendar.event[days + 2] = 7;
        let mut panel = Panel::from_demand(demand, 0);
        panel.calendar = Some(calendar);
        let f = forecast(&panel, days, horizon, &[]);
        let ratio = f[(0, 2)] / f[(0, 0)];
        // Two occurrences at ≈0.5 plus one pseudo-observation at 1: (0.5 + 0.5 + 1) / 3 ≈ 0.67,
        // diluted by the 0.2 blend with the own pattern (≈1): 0.8 × 0.67 + 0.2 ≈ 0.73; without the
        // event effect the ratio would be ≈1.
        assert!((0.65..0.85).contains(&ratio), "{ratio}");
    }

    #[test]
    fn benefit_days_lift_the_forecast_on_upcoming_benefit_days() {
        let days = 364;
        let mut calendar = Calendar::plain((2024, 1, 1), days + 7, 1);
        let mut demand = Array2::from_elem((1, days), 10.0f32);
        for t in 0..days + 7 {
            if calendar.day_of_month[t] <= 10 {
                calendar.flags[(0, t)] = flag::BENEFIT_DAY;
                if t < days {
                    demand[(0, t)] = 15.0;
                }
            }
        }
        let mut panel = Panel::from_demand(demand, 0);
        panel.calendar = Some(calendar);
        let f = forecast(&panel, days, 7, &[]);
        // Day 364 is 2024-12-30 (not a benefit day); day 366 is 2025-01-01 (a benefit day).
        assert!(f[(0, 2)] > 1.2 * f[(0, 0)], "{:?}", f.row(0));
    }

    #[test]
    fn a_newly_launched_sku_is_forecast_at_the_rate_it_sells_since_launch() {
        // Nothing for 70 days, then 5 a day for the last 14: the level is 5, not diluted by the
        // days before launch; the own-pattern blend (4 weeks, half of them before launch: 2.5)
        // takes a fifth: 0.8 × 5 + 0.2 × 2.5 = 4.5.
        let mut demand = Array2::zeros((1, 84));
        for t in 70..84 {
            demand[(0, t)] = 5.0;
        }
        let f = forecast(&Panel::from_demand(demand, 0), 84, 7, &[]);
        for v in f.iter() {
            assert!((v - 4.5).abs() < 1e-9, "{v}");
        }
    }

    #[test]
    fn nothing_sold_forecasts_nothing_and_short_histories_do_not_panic() {
        let panel = Panel::from_demand(array![[0.0f32, 0.0, 0.0], [1.0, 0.0, 2.0]], 3);
        let f = forecast(&panel, 3, 5, &[]);
        assert!(f.row(0).iter().all(|&v| v == 0.0));
        assert!(f.row(1).iter().all(|&v| v.is_finite() && v >= 0.0));
        assert_eq!(forecast(&panel, 0, 2, &[]).shape(), &[2, 2]);
    }
}
