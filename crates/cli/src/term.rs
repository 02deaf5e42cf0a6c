//! Whether output goes to a person: colours only on a terminal and never
//! with `NO_COLOR` set (<https://no-color.org>) or `TERM=dumb`; in a pipe
//! or a file the text is plain, so scripts and logs see no escape codes.

use std::io::IsTerminal;

/// How to style text for one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

/// Whether a stream that is (or is not) a terminal gets colours, given the
/// environment's `NO_COLOR` and `TERM`.
fn wants_colour(terminal: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    // NO_COLOR counts when set to anything but the empty string.
    terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

/// Whether a status line that redraws itself (progress during a wait) may
/// go to stderr: only on a terminal that understands ANSI erasing. Not a
/// colour, so `NO_COLOR` does not turn it off.
pub fn progress_on_stderr() -> bool {
    wants_progress(
        std::io::stderr().is_terminal(),
        std::env::var("TERM").ok().as_deref(),
    )
}

fn wants_progress(terminal: bool, term: Option<&str>) -> bool {
    terminal && term != Some("dumb")
}

impl Style {
    fn for_stream(terminal: bool) -> Self {
        let no_color = std::env::var("NO_COLOR").ok();
        let term = std::env::var("TERM").ok();
        Self {
            colour: wants_colour(terminal, no_color.as_deref(), term.as_deref()),
        }
    }

    /// For what is written to stdout.
    pub fn stdout() -> Self {
        Self::for_stream(std::io::stdout().is_terminal())
    }

    /// For what is written to stderr.
    pub fn stderr() -> Self {
        Self::for_stream(std::io::stderr().is_terminal())
    }

    /// Plain text, whatever the stream.
    pub fn plain() -> Self {
        Self { colour: false }
    }

    /// Whether colours are used.
    pub fn colour(&self) -> bool {
        self.colour
    }

    /// `text` in the ANSI SGR colour `code` (when colours are on).
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// An action marker (`►`), cyan.
    pub fn action(&self, text: &str) -> String {
        self.paint("36", text)
    }

    /// A unified diff with removed lines red, added lines green and hunk
    /// headers cyan.
    pub fn diff(&self, diff: &str) -> String {
        if !self.colour {
            return diff.to_string();
        }
        let mut out = String::with_capacity(diff.len() + diff.len() / 4);
        for line in diff.split_inclusive('\n') {
            let (body, end) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            let code = if body.starts_with("+++") || body.starts_with("---") {
                Some("1")
            } else if body.starts_with('+') {
                Some("32")
            } else if body.starts_with('-') {
                Some("31")
            } else if body.starts_with("@@") {
                Some("36")
            } else {
                None
            };
            match code {
                Some(c) => out.push_str(&self.paint(c, body)),
                None => out.push_str(body),
            }
            out.push_str(end);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color_or_a_dumb_term() {
        assert!(wants_colour(true, None, Some("xterm-256color")));
        assert!(wants_colour(true, Some(""), None));
        assert!(!wants_colour(false, None, Some("xterm")));
        assert!(!wants_colour(true, Some("1"), Some("xterm")));
        assert!(!wants_colour(true, None, Some("dumb")));
    }

    #[test]
    fn progress_only_on_a_terminal_that_can_erase_a_line() {
        assert!(wants_progress(true, Some("xterm")));
        assert!(wants_progress(true, None));
        assert!(!wants_progress(true, Some("dumb")));
        assert!(!wants_progress(false, Some("xterm")));
    }

    #[test]
    fn diffs_are_coloured_line_by_line_and_plain_otherwise() {
        let diff = "--- live\n+++ merged\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n";
        assert_eq!(Style::plain().diff(diff), diff);
        let coloured = Style { colour: true }.diff(diff);
        assert!(coloured.contains("\x1b[31m-b: 2\x1b[0m\n"), "{coloured:?}");
        assert!(coloured.contains("\x1b[32m+b: 3\x1b[0m\n"), "{coloured:?}");
        assert!(coloured.contains("\n a: 1\n"), "{coloured:?}");
        // Without the escape codes it is the same text.
        let stripped = coloured
            .replace("\x1b[0m", "")
            .replace("\x1b[1m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "");
        assert_eq!(stripped, diff);
    }
}
