//! The one table `stockyard-eval` prints: every figure with its target and verdict.

use std::fmt::Write;

/// How a figure compares with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// No target: reported for information.
    Info,
}

impl Verdict {
    /// Pass when `ok`, else fail.
    pub fn of(ok: bool) -> Self {
        if ok { Verdict::Pass } else { Verdict::Fail }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Info => "",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub section: String,
    pub subject: String,
    pub figure: String,
    pub value: String,
    /// The same figure from statsforecast, when it has one.
    pub reference: String,
    pub target: String,
    pub verdict: Verdict,
}

/// The rows, in print order.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Add a figure without a target.
    pub fn info(&mut self, section: &str, subject: &str, figure: &str, value: String) {
        self.push(section, subject, figure, value, "", Verdict::Info);
    }

    /// Add a figure with its target and verdict.
    pub fn push(&mut self, section: &str, subject: &str, figure: &str, value: String, target: &str, verdict: Verdict) {
        self.add(Row {
            section: section.into(),
            subject: subject.into(),
            figure: figure.into(),
            value,
            reference: String::new(),
            target: target.into(),
            verdict,
        });
    }

    /// Add a row built by the caller.
    pub fn add(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Figures that missed their target.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict == Verdict::Fail).count()
    }

    /// The aligned markdown table.
    pub fn render(&self) -> String {
        let header = ["section", "model / policy", "figure", "Stockyard", "statsforecast", "target", "result"];
        let cells: Vec<[&str; 7]> = self
            .rows
            .iter()
            .map(|r| [&*r.section, &*r.subject, &*r.figure, &*r.value, &*r.reference, &*r.target, r.verdict.label()])
            .collect();
        let mut width = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[&str; 7]| {
            out.push('|');
            for (i, (c, w)) in cells.iter().zip(width).enumerate() {
                let pad = w - c.chars().count();
                // Values right-aligned, text left-aligned.
                if i == 3 || i == 4 {
                    let _ = write!(out, " {}{} |", " ".repeat(pad), c);
                } else {
                    let _ = write!(out, " {}{} |", c, " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(&mut out, &header);
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &[&*rule[0], &*rule[1], &*rule[2], &*rule[3], &*rule[4], &*rule[5], &*rule[6]]);
        for row in &cells {
            line(&mut out, row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_failures_are_counted() {
        let mut t = Table::default();
        t.push("accuracy", "seasonal_naive", "WRMSSE", "0.712".into(), "≈ 0.71", Verdict::Pass);
        t.push("speed", "production", "series/s", "12345".into(), "", Verdict::Fail);
        t.add(Row {
            section: "accuracy".into(),
            subject: "tsb".into(),
            figure: "WAPE".into(),
            value: "28.12%".into(),
            reference: "28.13%".into(),
            target: String::new(),
            verdict: Verdict::Info,
        });
        let text = t.render();
        let lens: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(lens.windows(2).all(|w| w[0] == w[1]), "{text}");
        assert!(text.contains("|     0.712 |"), "{text}");
        assert!(text.contains("|    28.12% |        28.13% |"), "{text}");
        assert_eq!(t.failures(), 1);
    }
}
