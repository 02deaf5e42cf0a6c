//! Seeded fuzzing of the parser and executor: random token soups and mutated
//! templates must give output or an error, never a panic, a hang or a stack overflow.

use ferroflux_gotemplate::{Templates, Value};

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "\n",
    ".",
    ".Values",
    ".a",
    ".b",
    "$",
    "$x",
    "$x :=",
    "$x =",
    ":=",
    "=",
    "|",
    "(",
    ")",
    "if",
    "else",
    "else if",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"t\"",
    "\"s\"",
    "`raw`",
    "'c'",
    "1",
    "-2",
    "1.5",
    "1e3",
    "0x1f",
    "true",
    "false",
    "nil",
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "\"%v %d %s %q\"",
    "println",
    "eq",
    "ne",
    "lt",
    "html",
    "js",
    "urlquery",
    "default",
    "list",
    "dict",
    "include",
    "tpl",
    "toYaml",
    "toJson",
    "fromYaml",
    "quote",
    "indent",
    "nindent",
    "until",
    "repeat",
    "set",
    "merge",
    "required",
    "fail",
    "/*",
    "*/",
    "{{/* c */}}",
    ",",
    "text",
    "{{ range $i, $v := .Values.l }}",
    "{{ end }}",
    "{{ define \"t\" }}",
    "{{ template \"t\" . }}",
    "é",
    "\\",
    "\"\\",
    "'\\",
    "日本",
    "✓",
    "{{ include \"t\" . }}",
    "{{ tpl \"{{ . }}\" . }}",
];

fn data() -> Value {
    let y: serde_yaml::Value =
        serde_yaml::from_str("Values: {a: {b: 1}, l: [1, x, {c: d}], s: str, n: 1000000}").unwrap();
    Value::from_yaml(&y)
}

/// Iterations per test (`GOTEMPLATE_FUZZ_ITERS` for longer runs).
fn iters() -> usize {
    std::env::var("GOTEMPLATE_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

/// Seed (`GOTEMPLATE_FUZZ_SEED` to explore further).
fn seed(default: u64) -> u64 {
    std::env::var("GOTEMPLATE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn run(text: &str, data: &Value) {
    let mut t = Templates::helm();
    t.limits.max_iterations = 10_000;
    t.limits.max_output = 1 << 16;
    t.limits.max_depth = 50;
    if t.parse("f", text).is_ok() {
        let _ = t.execute("f", data);
    }
    let mut g = Templates::new();
    if g.parse("g", text).is_ok() {
        let _ = g.execute("g", data);
    }
}

#[test]
fn random_templates_never_panic() {
    let data = data();
    let mut rng = fastrand::Rng::with_seed(seed(0x6f74_656d_706c));
    for _ in 0..iters() {
        let n = rng.usize(1..24);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(PIECES[rng.usize(..PIECES.len())]);
            if rng.bool() {
                s.push(' ');
            }
        }
        run(&s, &data);
        // well-formed actions around the soup reach the executor more often
        run(&format!("{{{{ {s} }}}}"), &data);
    }
}

#[test]
fn mutated_templates_never_panic() {
    let seeds = [
        "{{ range $i, $v := .Values.l }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $v }}{{ end }}",
        "{{ define \"t\" }}{{ .a | toYaml | nindent 2 }}{{ end }}{{ include \"t\" .Values | quote }}",
        "{{- with .Values.a }}{{ .b | printf \"%05d\" }}{{ else }}x{{ end -}}",
        "{{ $d := dict \"k\" (list 1 2) }}{{ $_ := set $d \"m\" $d }}{{ len $d }}",
        "{{ tpl \"{{ .Values.s }}\" . }}{{ block \"b\" . }}{{ .Values.n }}{{ end }}",
    ];
    let data = data();
    let mut rng = fastrand::Rng::with_seed(seed(42));
    for _ in 0..iters() {
        let mut b: Vec<u8> = seeds[rng.usize(..seeds.len())].as_bytes().to_vec();
        for _ in 0..rng.usize(1..6) {
            let i = rng.usize(..b.len().max(1));
            match rng.u8(..4) {
                0 if !b.is_empty() => {
                    b.remove(i.min(b.len() - 1));
                }
                1 => {
                    let set = b"{}()|$.\"' -";
                    b.insert(i.min(b.len()), set[rng.usize(..set.len())]);
                }
                2 if !b.is_empty() => {
                    let j = rng.usize(..b.len());
                    let k = i.min(b.len() - 1);
                    b.swap(k, j);
                }
                _ => {
                    let piece = PIECES[rng.usize(..PIECES.len())].as_bytes();
                    let at = i.min(b.len());
                    b.splice(at..at, piece.iter().copied());
                }
            }
        }
        run(&String::from_utf8_lossy(&b), &data);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let data = data();
    for text in [
        "{{ if 1 }}".repeat(5000),
        "{{".to_string() + &"(".repeat(5000) + "1" + &")".repeat(5000) + "}}",
        "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}".to_string(),
        "{{ define \"r\" }}{{ tpl \"{{ include \\\"r\\\" . }}\" . }}{{ end }}{{ include \"r\" . }}"
            .to_string(),
    ] {
        let mut t = Templates::helm();
        if t.parse("d", &text).is_ok() {
            assert!(t.execute("d", &data).is_err(), "{text:.60}");
        }
    }
}

/// Values of the `execute` cargo-fuzz target (`fuzz/fuzz_targets/execute.rs`), in
/// the same order: an input's first byte picks one.
const FUZZ_VALUES: &[&str] = &[
    "Values: {a: {b: 1}, l: [1, x, {c: d}], s: str, n: 1000000}",
    "Values: {s: \"é\\\"'<>&\", f: 1.5, big: 9223372036854775807, neg: -3, t: true, z: null}",
    "Values: {l: [], m: {}, nested: {a: {b: {c: [1, [2, [3]]]}}}}",
    "Values: 7",
];

fn corpus_files(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fuzz_corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 50, "regression corpus {target} too small");
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Inputs kept from `cargo +nightly fuzz run parse` (see fuzz/): parsed again on
/// every test run.
#[test]
fn parse_fuzz_corpus_replays() {
    for data in corpus_files("parse") {
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = Templates::helm().parse("f", text);
            let _ = Templates::new().parse("g", text);
        }
    }
}

/// Inputs kept from `cargo +nightly fuzz run execute`: parsed and executed again
/// with the target's limits on every test run.
#[test]
fn execute_fuzz_corpus_replays() {
    let values: Vec<Value> = FUZZ_VALUES
        .iter()
        .map(|y| Value::from_yaml(&serde_yaml::from_str(y).unwrap()))
        .collect();
    for data in corpus_files("execute") {
        let Some((&pick, rest)) = data.split_first() else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(rest) else {
            continue;
        };
        let mut t = Templates::helm();
        t.limits.max_iterations = 10_000;
        t.limits.max_output = 1 << 16;
        t.limits.max_depth = 50;
        if t.parse("f", text).is_ok() {
            let _ = t.execute("f", &values[pick as usize % values.len()]);
        }
    }
}
