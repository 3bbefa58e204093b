//! Absurd days: a single day far beyond anything else a series sold (a typo, an import gone
//! wrong) is recognised in its own series and not trusted.
//!
//! Rule: a day is absurd when it exceeds both [`ABSURD_FACTOR`] × the 90th percentile of the
//! series' selling days and the series' second-largest day. It is then counted at the larger of
//! those two bounds. Only a series with at least [`MIN_SELLING_DAYS`] selling days is judged
//! on its own (fewer say too little about what is usual; such a series is judged against its
//! group instead), and only its single largest day can ever be absurd: two equal spikes are a
//! pattern, not a typo. Real lumpy demand rarely trips this: with
//! order sizes as heavy-tailed as a Pareto of index 1.5, an order above ten times the 90th
//! percentile is about one in 300, and it is then counted at the second-largest order, not
//! dropped.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// How far beyond the 90th percentile of a series' selling days a day must lie to be absurd.
pub const ABSURD_FACTOR: f64 = 10.0;
/// Selling days a series needs before any of its days is judged.
pub const MIN_SELLING_DAYS: usize = 10;

/// A day of a series counted at less than was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AbsurdDay {
    pub series: usize,
    pub day: usize,
    /// Units recorded.
    pub recorded: f64,
    /// Units the engine counted instead.
    pub counted: f64,
}

/// Clamp every series' absurd day (see [`absurd_days`]) in place; returns what was clamped.
pub fn clamp_absurd_days(demand: &mut Array2<f32>, group: &[u32]) -> Vec<AbsurdDay> {
    let found = absurd_days(demand.view(), group);
    for day in &found {
        demand[(day.series, day.day)] = day.counted as f32;
    }
    found
}

/// Every series' absurd day (see the module documentation), by series then day. `demand` must
/// be finite and non-negative (see [`crate::Panel::validate`]). A series with too few selling
/// days of its own is judged against its group (`group[s]`): its days beyond [`ABSURD_FACTOR`] ×
/// the 90th percentile of the selling days of the group's other series (a bulk import gone wrong
/// on a new SKU) count at that bound.
pub fn absurd_days(demand: ArrayView2<f32>, group: &[u32]) -> Vec<AbsurdDay> {
    let mut found = Vec::new();
    let mut selling = Vec::new();
    let mut short = Vec::new();
    for (series, row) in demand.outer_iter().enumerate() {
        selling.clear();
        selling.extend(row.iter().copied().filter(|&v| v > 0.0));
        if selling.len() < MIN_SELLING_DAYS {
            short.push(series);
            continue;
        }
        selling.sort_by(f32::total_cmp);
        let n = selling.len();
        let p90 = f64::from(selling[(9 * (n - 1)) / 10]);
        let second = f64::from(selling[n - 2]);
        let bound = (ABSURD_FACTOR * p90).max(second);
        if f64::from(selling[n - 1]) <= bound {
            continue;
        }
        if let Some(day) = row.iter().position(|&v| f64::from(v) > bound) {
            found.push(AbsurdDay { series, day, recorded: f64::from(row[day]), counted: bound });
        }
    }
    if short.is_empty() {
        return found;
    }
    let n_groups = group.iter().map(|&g| g as usize + 1).max().unwrap_or(0);
    let mut pooled: Vec<Vec<f32>> = vec![Vec::new(); n_groups];
    for (series, row) in demand.outer_iter().enumerate() {
        if let (Some(&g), false) = (group.get(series), short.contains(&series)) {
            pooled[g as usize].extend(row.iter().copied().filter(|&v| v > 0.0));
        }
    }
    let bounds: Vec<Option<f64>> = pooled
        .iter_mut()
        .map(|values| {
            if values.len() < MIN_SELLING_DAYS {
                return None;
            }
            values.sort_by(f32::total_cmp);
            Some(ABSURD_FACTOR * f64::from(values[(9 * (values.len() - 1)) / 10]))
        })
        .collect();
    for series in short {
        let Some(bound) = group.get(series).and_then(|&g| bounds[g as usize]) else { continue };
        for (day, &value) in demand.row(series).iter().enumerate() {
            if f64::from(value) > bound {
                found.push(AbsurdDay { series, day, recorded: f64::from(value), counted: bound });
            }
        }
    }
    found.sort_by_key(|d| (d.series, d.day));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_day_a_hundred_thousand_times_the_usual_is_counted_at_ten_times_the_usual() {
        let mut demand = Array2::from_elem((2, 60), 10.0f32);
        demand[(1, 33)] = 1_000_000.0;
        let found = clamp_absurd_days(&mut demand, &[0, 0]);
        assert_eq!(found, vec![AbsurdDay { series: 1, day: 33, recorded: 1_000_000.0, counted: 100.0 }]);
        assert_eq!(demand[(1, 33)], 100.0);
        assert!(demand.row(0).iter().all(|&v| v == 10.0), "the other series is untouched");
    }

    #[test]
    fn heavy_but_repeated_orders_and_short_histories_are_trusted() {
        // Orders of 1 most days and two of 500: two equal spikes are a pattern.
        let mut demand = Array2::from_elem((1, 100), 1.0f32);
        demand[(0, 10)] = 500.0;
        demand[(0, 70)] = 500.0;
        assert!(clamp_absurd_days(&mut demand, &[0]).is_empty());
        // A largest order of 40 beside one of 30: above ten times the usual 1, but counted at the
        // second-largest, 30.
        let mut demand = Array2::from_elem((1, 100), 1.0f32);
        demand[(0, 10)] = 30.0;
        demand[(0, 70)] = 40.0;
        assert_eq!(clamp_absurd_days(&mut demand, &[0])[0].counted, 30.0);
        // Nine selling days say too little.
        let mut demand = Array2::zeros((1, 100));
        for t in 0..9 {
            demand[(0, t * 10)] = if t == 4 { 1000.0 } else { 1.0 };
        }
        assert!(clamp_absurd_days(&mut demand, &[0]).is_empty());
    }
}
