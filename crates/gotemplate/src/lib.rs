//! Go's `text/template` language with Sprig's and Helm's functions, rendering
//! byte for byte as Helm does. Pure: no I/O, no cluster types.
//!
//! ```
//! use ferroflux_gotemplate::{Templates, Value};
//! let mut t = Templates::helm();
//! t.parse("x", "{{ .Values.n }} {{ .Values.s | upper | quote }}").unwrap();
//! let values = Value::from_yaml(&serde_yaml::from_str("Values: {n: 1000000, s: hi}").unwrap());
//! assert_eq!(t.execute("x", &values).unwrap(), "1e+06 \"HI\"");
//! ```

mod error;
mod exec;
mod funcs;
pub mod gofmt;
pub mod gojson;
pub mod gotime;
pub mod lexer;
pub mod parser;
mod template;
mod value;
pub mod yaml;

pub use error::Error;
pub use exec::Exec;
pub use template::{FuncSet, Limits, Lookup, LookupFn, MethodFn, Methods, MissingKey, Templates};
pub use value::{MapRef, Value};

#[cfg(test)]
mod tests;
