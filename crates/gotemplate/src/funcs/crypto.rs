//! Sprig's password and random-bytes functions: `htpasswd` (bcrypt as Go's
//! `bcrypt.GenerateFromPassword` at the default cost 10, `$2a$`) and `randBytes`.

use base64::Engine;

use super::{Arity::Exact, P, Table, def};
use crate::value::Value;

/// `randBytes` refuses more than this (Go would allocate whatever is asked).
const MAX_RAND_BYTES: i64 = 1 << 20;

pub(super) fn register(t: &mut Table) {
    // Sprig as Helm v4 has it: two arguments, bcrypt only
    def(t, "htpasswd", Exact(2), &[P::Str, P::Str], |_, a| {
        let user = a[0].as_str().unwrap_or("");
        let pass = a[1].as_str().unwrap_or("");
        if user.contains(':') {
            return Ok(Value::str(format!("invalid username: {user}")));
        }
        let hashed = bcrypt::hash_with_result(pass, 10)
            .map_err(|e| e.to_string())?
            .format_for_version(bcrypt::Version::TwoA);
        Ok(Value::str(format!("{user}:{hashed}")))
    });
    def(t, "randBytes", Exact(1), &[P::Int], |_, a| {
        let n = match &a[0] {
            Value::Int(i) | Value::Int64(i) => *i,
            Value::Float(f) => *f as i64,
            _ => 0,
        };
        if !(0..=MAX_RAND_BYTES).contains(&n) {
            return Err(format!("randBytes: {n} bytes out of range 0..={MAX_RAND_BYTES}").into());
        }
        // secrets are made of these: the OS's generator, as Go's crypto/rand
        let mut bytes = vec![0u8; n as usize];
        getrandom::fill(&mut bytes).map_err(|e| format!("randBytes: {e}"))?;
        Ok(Value::str(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ))
    });
}
