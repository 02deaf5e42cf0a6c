//! Output helpers shared by the verbs: Flux's borderless tables and its
//! status lines (`► annotating ...`, `✔ ...`) on stderr.

use std::io::{IsTerminal, Write};

/// Writes `rows` under `header` (uppercased; none if empty) as flux does:
/// left-aligned columns padded to their widest cell and separated by a tab.
pub fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let columns = header
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; columns];
    let header: Vec<String> = header.iter().map(|h| h.to_uppercase()).collect();
    for row in std::iter::once(&header).chain(rows) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut line = |row: &[String]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                let pad = widths[i] - cell.chars().count();
                text.extend(std::iter::repeat_n(' ', pad));
                text.push('\t');
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    if !header.is_empty() {
        line(&header)?;
    }
    for row in rows {
        line(row)?;
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
            colour: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
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
}
