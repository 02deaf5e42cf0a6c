//! Errors, worded as Go's `text/template` prints them.

impl Error {
    /// The message as Helm v4's engine reports this error: parse errors as
    /// `parse error at (NAME:LINE): MSG`, `required`/`fail` as
    /// `execution error at (FILE:LINE:COL): MSG`, other execution errors as
    /// `FILE:LINE:COL\n  executing "NAME" at <NODE>:\n    MSG`.
    pub fn helm_message(&self) -> String {
        match self {
            Error::Parse { name, line, msg } => format!("parse error at ({name}:{line}): {msg}"),
            Error::Exec {
                location,
                name,
                node,
                msg,
                cause,
            } => {
                if let Some(start) = msg.find("HELM[")
                    && let Some(end) = msg[start..].find("]HELM")
                {
                    return format!(
                        "execution error at ({location}): {}",
                        &msg[start + 5..start + end]
                    );
                }
                if let Some(inner) = cause
                    && msg.starts_with("error calling include: ")
                {
                    return format!(
                        "{location}\n  executing {name:?} at <{node}>:\n    error calling include:\n{}",
                        inner.helm_message()
                    );
                }
                if msg.starts_with("error calling ") {
                    return self.to_string();
                }
                format!(
                    "{location}\n  executing {name:?} at <{node}>:\n    {}",
                    msg.trim()
                )
            }
            other => other.to_string(),
        }
    }
}

/// A parse or execution error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A syntax error: `template: NAME:LINE: MSG`.
    #[error("template: {name}:{line}: {msg}")]
    Parse {
        /// The template (file) name.
        name: String,
        /// 1-based line.
        line: usize,
        /// Go's message.
        msg: String,
    },
    /// An execution error: `template: FILE:LINE:COL: executing "NAME" at <NODE>: MSG`.
    #[error("template: {location}: executing \"{name}\" at <{node}>: {msg}")]
    Exec {
        /// `file:line:col` of the node.
        location: String,
        /// The template being executed.
        name: String,
        /// The node, printed as source.
        node: String,
        /// Go's message.
        msg: String,
        /// The error of a nested execution (`include`), which Helm reports on its own lines.
        cause: Option<Box<Error>>,
    },
    /// Execution of a name that was never parsed or defined.
    #[error("template: no template {name:?} associated with template {root:?}")]
    NoTemplate {
        /// The name asked for.
        name: String,
        /// The set's first template.
        root: String,
    },
}
