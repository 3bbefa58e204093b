//! Loading what `infra/eval/prepare.py` wrote, and building engine panels from it.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use ndarray::{Array2, s};
use serde::Deserialize;
use stockyard_analytics::panel::flag;
use stockyard_analytics::{Calendar, Panel};

/// Shapes and split of the prepared data (`manifest.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub n_series: usize,
    /// Days with demand: history and the test window.
    pub n_days: usize,
    /// Days with prices and calendar flags (beyond `n_days`: known in advance).
    pub known_days: usize,
    pub train_days: usize,
    pub horizon: usize,
    /// Weekday of day 0, 0 = Monday.
    pub first_weekday: u8,
}

/// Where one series sits in the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesMeta {
    pub id: String,
    pub item: String,
    pub dept: String,
    pub cat: String,
    pub store: String,
    pub state: String,
}

/// Everything the evaluation reads: demand over history and test window, prices and calendar.
#[derive(Debug, Clone)]
pub struct EvalData {
    pub manifest: Manifest,
    pub series: Vec<SeriesMeta>,
    /// Units per series and day, `n_days` columns.
    pub demand: Array2<f32>,
    /// Sell price per series and day, `known_days` columns, NaN when not on sale.
    pub price: Array2<f32>,
    /// Calendar over `known_days` days; flag rows are regions (see [`EvalData::region`]).
    pub calendar: Calendar,
    /// Calendar region (index into the rows of `flags`) per series.
    pub region: Vec<u32>,
}

/// States with a calendar row, in row order.
const REGIONS: [&str; 2] = ["CA", "TX"];

impl EvalData {
    /// Load the prepared data from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let manifest_path = dir.join("manifest.json");
        let manifest: Manifest = serde_json::from_str(
            &fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?,
        )
        .with_context(|| format!("parsing {}", manifest_path.display()))?;
        ensure!(
            manifest.train_days + manifest.horizon == manifest.n_days && manifest.known_days >= manifest.n_days,
            "inconsistent manifest {manifest:?}"
        );
        let series_path = dir.join("series.csv");
        let series = parse_series(
            &fs::read_to_string(&series_path).with_context(|| format!("reading {}", series_path.display()))?,
        )
        .with_context(|| format!("parsing {}", series_path.display()))?;
        ensure!(
            series.len() == manifest.n_series,
            "series.csv has {} rows, expected {}",
            series.len(),
            manifest.n_series
        );
        let demand = read_f32_matrix(&dir.join("demand.f32"), manifest.n_series, manifest.n_days)?;
        let price = read_f32_matrix(&dir.join("price.f32"), manifest.n_series, manifest.known_days)?;
        let calendar_path = dir.join("calendar.csv");
        let calendar = parse_calendar(
            &fs::read_to_string(&calendar_path).with_context(|| format!("reading {}", calendar_path.display()))?,
            manifest.known_days,
        )
        .with_context(|| format!("parsing {}", calendar_path.display()))?;
        let region = series
            .iter()
            .map(|m| {
                REGIONS
                    .iter()
                    .position(|r| *r == m.state)
                    .map(|p| p as u32)
                    .with_context(|| format!("series {} is in state {}, which has no calendar", m.id, m.state))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { manifest, series, demand, price, calendar, region })
    }

    /// The same data cut at `origin`: days `origin..origin + horizon` become the window scored, and
    /// nothing after them is kept. Used to score on validation windows that end before the test
    /// window (`--origin 1885` scores d_1886..d_1913).
    pub fn cut_at(mut self, origin: usize) -> Result<Self> {
        let h = self.manifest.horizon;
        ensure!(
            origin >= 364 && origin <= self.manifest.train_days,
            "--origin must leave a year of history and lie within the training days (364..={})",
            self.manifest.train_days
        );
        self.demand = self.demand.slice(s![.., ..origin + h]).to_owned();
        self.manifest.train_days = origin;
        self.manifest.n_days = origin + h;
        Ok(self)
    }

    /// Day index of the first test day (the forecast origin of the evaluation).
    pub fn origin(&self) -> usize {
        self.manifest.train_days
    }

    /// Actual demand over the test window, series × horizon.
    pub fn actuals(&self) -> Array2<f64> {
        self.demand.slice(s![.., self.origin()..]).mapv(f64::from)
    }

    /// A panel of the first `end` days of demand, with prices and calendar over `end + horizon`
    /// days; series are grouped by department × store (M5's departments are what Stockyard calls
    /// categories; the production model's constants were chosen with this grouping).
    pub fn panel(&self, end: usize, horizon: usize) -> Result<Panel> {
        ensure!(end <= self.manifest.n_days, "panel end {end} lies beyond the demand data");
        ensure!(end + horizon <= self.manifest.known_days, "horizon {horizon} from day {end} lies beyond the calendar");
        let keys: Vec<String> = self.series.iter().map(|m| format!("{}|{}", m.dept, m.store)).collect();
        let (group, _) = dense_ids(&keys);
        Ok(Panel {
            demand: self.demand.slice(s![.., ..end]).to_owned(),
            first_weekday: self.manifest.first_weekday,
            group,
            region: self.region.clone(),
            price: Some(self.price.slice(s![.., ..end + horizon]).to_owned()),
            calendar: Some(Calendar {
                flags: self.calendar.flags.slice(s![.., ..end + horizon]).to_owned(),
                event: self.calendar.event[..end + horizon].to_vec(),
                day_of_month: self.calendar.day_of_month[..end + horizon].to_vec(),
            }),
        })
    }
}

/// Dense ids 0..n for `keys` in order of first appearance, and n.
pub fn dense_ids(keys: &[String]) -> (Vec<u32>, usize) {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let ids = keys
        .iter()
        .map(|k| {
            let next = seen.len() as u32;
            *seen.entry(k.as_str()).or_insert(next)
        })
        .collect();
    (ids, seen.len())
}

/// A row-major little-endian f32 matrix of `rows` × `cols`.
fn read_f32_matrix(path: &Path, rows: usize, cols: usize) -> Result<Array2<f32>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        bytes.len() == rows * cols * 4,
        "{} holds {} bytes, expected {rows} x {cols} f32 = {}",
        path.display(),
        bytes.len(),
        rows * cols * 4
    );
    let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Array2::from_shape_vec((rows, cols), values).with_context(|| format!("shaping {}", path.display()))
}

/// Rows of `id,item,dept,cat,store,state` after a header.
fn parse_series(text: &str) -> Result<Vec<SeriesMeta>> {
    let mut lines = text.lines();
    let header = lines.next().context("empty file")?;
    ensure!(header == "id,item,dept,cat,store,state", "unexpected header {header:?}");
    lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            let [id, item, dept, cat, store, state] = f[..] else {
                bail!("line {}: expected 6 fields, found {}", i + 2, f.len());
            };
            Ok(SeriesMeta {
                id: id.into(),
                item: item.into(),
                dept: dept.into(),
                cat: cat.into(),
                store: store.into(),
                state: state.into(),
            })
        })
        .collect()
}

/// The calendar (flag rows in [`REGIONS`] order) from
/// `day,date,weekday,day_of_month,event,event_id,snap_CA,snap_TX`.
fn parse_calendar(text: &str, days: usize) -> Result<Calendar> {
    let mut lines = text.lines();
    let header = lines.next().context("empty file")?;
    ensure!(header == "day,date,weekday,day_of_month,event,event_id,snap_CA,snap_TX", "unexpected header {header:?}");
    let mut flags = Array2::zeros((REGIONS.len(), days));
    let (mut event, mut day_of_month) = (Vec::with_capacity(days), Vec::with_capacity(days));
    for (i, line) in lines.enumerate() {
        ensure!(i < days, "more than {days} days");
        let f: Vec<&str> = line.split(',').collect();
        ensure!(f.len() == 8, "line {}: expected 8 fields", i + 2);
        let bit = |v: &str| -> Result<bool> {
            match v {
                "0" => Ok(false),
                "1" => Ok(true),
                other => bail!("line {}: flag {other:?} is not 0 or 1", i + 2),
            }
        };
        let number = |v: &str, what: &str| -> Result<u16> {
            v.parse().with_context(|| format!("line {}: {what} {v:?} is not a number", i + 2))
        };
        let dom = number(f[3], "day of month")?;
        ensure!((1..=31).contains(&dom), "line {}: day of month {dom}", i + 2);
        day_of_month.push(dom as u8);
        event.push(number(f[5], "event id")?);
        let event_flag = if bit(f[4])? { flag::EVENT } else { 0 };
        for (r, snap) in [f[6], f[7]].into_iter().enumerate() {
            flags[[r, i]] = event_flag | if bit(snap)? { flag::BENEFIT_DAY } else { 0 };
        }
    }
    ensure!(event.len() == days, "{} days, expected {days}", event.len());
    Ok(Calendar { flags, event, day_of_month })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_flags_combine_events_with_each_states_benefit_days() -> Result<()> {
        let text = "day,date,weekday,day_of_month,event,event_id,snap_CA,snap_TX\n\
                    1,2011-01-31,0,31,1,7,0,1\n2,2011-02-01,1,1,0,0,1,0\n";
        let cal = parse_calendar(text, 2)?;
        assert_eq!(cal.flags.row(0).to_vec(), vec![flag::EVENT, flag::BENEFIT_DAY]);
        assert_eq!(cal.flags.row(1).to_vec(), vec![flag::EVENT | flag::BENEFIT_DAY, 0]);
        assert_eq!((cal.event, cal.day_of_month), (vec![7, 0], vec![31, 1]));
        assert!(parse_calendar(text, 3).is_err());
        Ok(())
    }

    #[test]
    fn series_rows_need_all_six_fields() {
        let ok = "id,item,dept,cat,store,state\nA_CA_1,A,D,C,CA_1,CA\n";
        assert_eq!(parse_series(ok).map(|s| s[0].store.clone()).ok(), Some("CA_1".to_string()));
        assert!(parse_series("id,item,dept,cat,store,state\nA,B\n").is_err());
    }

    #[test]
    fn dense_ids_follow_first_appearance() {
        let keys: Vec<String> = ["b", "a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(dense_ids(&keys), (vec![0, 1, 0, 2], 3));
    }
}
