//! Errors, worded as Go's `text/template` prints them.

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
