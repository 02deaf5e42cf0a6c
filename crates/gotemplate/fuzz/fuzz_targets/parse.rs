//! Arbitrary text through the lexer and parser: a parse tree or an error, never a panic.
#![no_main]

use ferroflux_gotemplate::Templates;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Templates::helm().parse("f", text);
    let _ = Templates::new().parse("g", text);
});
