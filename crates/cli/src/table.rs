//! Output helpers shared by the verbs: Flux's borderless tables and its
//! status lines (`► annotating ...`, `✔ ...`) on stderr.

use std::io::Write;

/// Writes `rows` under `header` (uppercased; none if empty) as flux does:
/// left-aligned columns padded to their widest cell and separated by a tab.
/// A cell of several lines takes as many lines, the other columns blank, so
/// a multi-line event message stays in its column.
pub fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    let all: Vec<&Vec<String>> = std::iter::once(&header)
        .filter(|h| !h.is_empty())
        .chain(rows)
        .collect();
    let columns = all.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in &all {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            widths[i] = widths[i].max(w);
        }
    }
    for row in all {
        let cells: Vec<Vec<&str>> = row.iter().map(|c| c.lines().collect()).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line_no in 0..height {
            let mut text = String::new();
            for (i, lines) in cells.iter().enumerate() {
                let part = lines.get(line_no).copied().unwrap_or("");
                text.push_str(part);
                if i + 1 < cells.len() {
                    let pad = widths[i] - part.chars().count();
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push('\t');
                }
            }
            writeln!(out, "{}", text.trim_end())?;
        }
    }
    Ok(())
}

/// Flux's status lines, on stderr. Colour only when stderr is a terminal.
pub struct Log {
    colour: bool,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            colour: crate::term::Style::stderr().colour(),
        }
    }
}

impl Log {
    fn line(&self, symbol: &str, colour: &str, text: &str) {
        if self.colour {
            eprintln!("\x1b[{colour}m{symbol}\x1b[0m {text}");
        } else {
            eprintln!("{symbol} {text}");
        }
    }

    /// Something is being done (`►`).
    pub fn action(&self, text: &str) {
        self.line("►", "36", text);
    }

    /// Something is being generated (`✚`).
    pub fn generate(&self, text: &str) {
        self.line("✚", "35", text);
    }

    /// Waiting for something (`◎`).
    pub fn waiting(&self, text: &str) {
        self.line("◎", "33", text);
    }

    /// It worked (`✔`).
    pub fn success(&self, text: &str) {
        self.line("✔", "32", text);
    }

    /// It failed, but the command goes on (`✗`).
    pub fn failure(&self, text: &str) {
        self.line("✗", "31", text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_and_tab_separated() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["Name", "Ready", "Message"],
            &[
                vec!["podinfo".into(), "True".into(), "ok".into()],
                vec!["a".into(), "False".into(), "".into()],
            ],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME   \tREADY\tMESSAGE\npodinfo\tTrue \tok\na      \tFalse\n"
        );
    }

    #[test]
    fn a_cell_of_several_lines_keeps_its_column() {
        let mut out = Vec::new();
        write_table(
            &mut out,
            &["Object", "Message"],
            &[vec![
                "Kustomization/apps".into(),
                "one created\ntwo created".into(),
            ]],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "OBJECT            \tMESSAGE\nKustomization/apps\tone created\n                  \ttwo created\n"
        );
    }
}
