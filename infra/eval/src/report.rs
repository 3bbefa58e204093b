//! The one table `stockyard-eval` prints: every figure with its target and verdict.

use std::fmt::Write;

/// How a figure compares with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    Pass,
    Fail,
    /// No target: reported for information.
    #[default]
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
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The panel evaluated (filled in by [`Table::add`] from [`Table::panel`] when empty).
    pub panel: String,
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
    panel: String,
}

impl Table {
    /// The panel the rows added from now on are about.
    pub fn panel(&mut self, name: &str) {
        self.panel = name.into();
    }

    /// Add a figure without a target.
    pub fn info(&mut self, section: &str, subject: &str, figure: &str, value: String) {
        self.push(section, subject, figure, value, "", Verdict::Info);
    }

    /// Add a figure with its target and verdict.
    pub fn push(&mut self, section: &str, subject: &str, figure: &str, value: String, target: &str, verdict: Verdict) {
        self.add(Row {
            panel: String::new(),
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
    pub fn add(&mut self, mut row: Row) {
        if row.panel.is_empty() {
            row.panel.clone_from(&self.panel);
        }
        self.rows.push(row);
    }

    /// Figures that missed their target.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict == Verdict::Fail).count()
    }

    /// The aligned markdown table.
    pub fn render(&self) -> String {
        let header = ["panel", "section", "model / policy", "figure", "Stockyard", "statsforecast", "target", "result"];
        let cells: Vec<[&str; 8]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    &*r.panel,
                    &*r.section,
                    &*r.subject,
                    &*r.figure,
                    &*r.value,
                    &*r.reference,
                    &*r.target,
                    r.verdict.label(),
                ]
            })
            .collect();
        let mut width = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[&str; 8]| {
            out.push('|');
            for (i, (c, w)) in cells.iter().zip(width).enumerate() {
                let pad = w - c.chars().count();
                // Values right-aligned, text left-aligned.
                if i == 4 || i == 5 {
                    let _ = write!(out, " {}{} |", " ".repeat(pad), c);
                } else {
                    let _ = write!(out, " {}{} |", c, " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(&mut out, &header);
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &[&*rule[0], &*rule[1], &*rule[2], &*rule[3], &*rule[4], &*rule[5], &*rule[6], &*rule[7]]);
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
        t.panel("M5");
        t.add(Row {
            panel: String::new(),
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
        assert!(text.contains("| M5    | accuracy | tsb"), "{text}");
        assert_eq!(t.failures(), 1);
    }
}
