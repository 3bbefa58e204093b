//! The input of a forecasting run: aligned daily demand of many series.

use ndarray::Array2;

/// Daily demand of many series over the same days (oldest first), with what the models may use
/// besides demand. Days before a series' first sale are zeros; models trim leading zeros.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Units sold per series (rows) and day (columns).
    pub demand: Array2<f32>,
    /// Weekday of column 0: 0 = Monday … 6 = Sunday.
    pub first_weekday: u8,
    /// Pooling group of each series (e.g. category × location); the pooled model shares a weekday
    /// profile within a group. Dense ids 0..n_groups.
    pub group: Vec<u32>,
    /// Calendar region of each series (row of [`Calendar::flags`]), e.g. its state.
    pub region: Vec<u32>,
    /// Unit price per series and day, over history + horizon; NaN where unknown. Optional.
    pub price: Option<Array2<f32>>,
    /// Calendar flags over history + horizon. Optional.
    pub calendar: Option<Calendar>,
}

/// What is known in advance about every day of the history and the forecast horizon.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Bit flags per region (rows) and day (columns); see [`flag`].
    pub flags: Array2<u8>,
    /// Recurring event of each day: 0 = none, otherwise an id that is the same for every
    /// occurrence of the event (Mother's Day 2015 and 2016 share an id).
    pub event: Vec<u16>,
    /// Day of the month (1..=31) of each day.
    pub day_of_month: Vec<u8>,
}

impl Calendar {
    /// A calendar of `days` days from the civil date `start` (year, month, day), without events or
    /// flags, for `regions` regions.
    pub fn plain(start: (i32, u32, u32), days: usize, regions: usize) -> Self {
        let mut day_of_month = Vec::with_capacity(days);
        let (mut y, mut m, mut d) = start;
        for _ in 0..days {
            day_of_month.push(d as u8);
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        Self { flags: Array2::zeros((regions.max(1), days)), event: vec![0; days], day_of_month }
    }

    /// Days covered.
    pub fn days(&self) -> usize {
        self.day_of_month.len()
    }
}

/// Days in month `m` (1..=12) of year `y` (Gregorian).
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Calendar flag bits.
pub mod flag {
    /// A public holiday or retail event on this day.
    pub const EVENT: u8 = 1;
    /// A benefit-payment day (e.g. SNAP) in this region: food demand rises.
    pub const BENEFIT_DAY: u8 = 2;
}

impl Panel {
    /// A panel of demand only: one group and one region for all series.
    pub fn from_demand(demand: Array2<f32>, first_weekday: u8) -> Self {
        let n = demand.nrows();
        Self { demand, first_weekday, group: vec![0; n], region: vec![0; n], price: None, calendar: None }
    }

    pub fn n_series(&self) -> usize {
        self.demand.nrows()
    }

    pub fn n_days(&self) -> usize {
        self.demand.ncols()
    }

    /// Weekday (0 = Monday) of day index `day` (may lie in the horizon).
    pub fn weekday(&self, day: usize) -> usize {
        (self.first_weekday as usize + day) % 7
    }

    /// Every series whose demand the engine cannot use, with its first bad day: demand must be a
    /// finite number of units, at least 0. Empty when the whole panel is usable.
    pub fn invalid_series(&self) -> Vec<InvalidDemand> {
        self.demand
            .outer_iter()
            .enumerate()
            .filter_map(|(series, row)| {
                row.iter().position(|v| !(v.is_finite() && *v >= 0.0)).map(|day| InvalidDemand {
                    series,
                    day,
                    value: f64::from(row[day]),
                })
            })
            .collect()
    }

    /// `Ok` when every series is usable, else the first unusable series and day.
    pub fn validate(&self) -> Result<(), InvalidDemand> {
        match self.invalid_series().into_iter().next() {
            Some(bad) => Err(bad),
            None => Ok(()),
        }
    }

    /// The same panel with only the series `keep` (in that order).
    pub fn select(&self, keep: &[usize]) -> Panel {
        Panel {
            demand: self.demand.select(ndarray::Axis(0), keep),
            first_weekday: self.first_weekday,
            group: keep.iter().map(|&s| self.group[s]).collect(),
            region: keep.iter().map(|&s| self.region[s]).collect(),
            price: self.price.as_ref().map(|p| p.select(ndarray::Axis(0), keep)),
            calendar: self.calendar.clone(),
        }
    }
}

/// A day of demand the engine refuses: NaN, infinite or negative units. Net sales can go
/// negative when returns exceed sales; such a series must be corrected (or its returns booked
/// elsewhere) before it can be forecast.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("series {series}: demand on day {day} is {value}, not a finite number of units at least 0")]
pub struct InvalidDemand {
    /// Row of the series in the panel.
    pub series: usize,
    /// Column of the first bad day.
    pub day: usize,
    pub value: f64,
}
