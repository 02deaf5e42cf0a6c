use std::collections::BTreeMap;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Evaluates a text with the given variables.
fn ev(text: &str, pairs: &[(&str, &str)], strict: bool) -> Result<String, EvalError> {
    let map = vars(pairs);
    let lookup = |n: &str| map.get(n).map(String::as_str);
    eval(text, &lookup, strict)
}

fn ok(text: &str, pairs: &[(&str, &str)]) -> String {
    match ev(text, pairs, false) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

#[test]
fn braces_are_substituted_bare_dollar_is_not() {
    assert_eq!(ok("a ${x} b", &[("x", "1")]), "a 1 b");
    assert_eq!(ok("$x and ${x}", &[("x", "1")]), "$x and 1");
    assert_eq!(ok("cost: $5", &[]), "cost: $5");
    assert_eq!(ok("trailing $", &[]), "trailing $");
}

#[test]
fn double_dollar_escapes() {
    assert_eq!(ok("$${x}", &[("x", "1")]), "${x}");
    assert_eq!(ok("a$${x}b", &[("x", "1")]), "a${x}b");
    // Flux's envsubst turns every `$$` into `$`, not only before `{`.
    assert_eq!(ok("$$x $$$", &[]), "$x $$");
}

#[test]
fn defaults() {
    assert_eq!(ok("${x:=d}", &[]), "d");
    assert_eq!(ok("${x:=d}", &[("x", "v")]), "v");
    assert_eq!(ok("${x:=d}", &[("x", "")]), "d");
    assert_eq!(ok("${x=d}", &[("x", "")]), "d");
    assert_eq!(ok("${x:-d}", &[]), "d");
    assert_eq!(ok("${x:=}", &[]), "");
    assert_eq!(ok("${x:=}", &[("x", "v")]), "v");
    assert_eq!(ok("${x:=a b:c/d}", &[]), "a b:c/d");
    // In Flux's envsubst `:+` and `:?` are plain defaults, not bash's forms.
    assert_eq!(ok("${x:+d}", &[("x", "v")]), "v");
    assert_eq!(ok("${x:+d}", &[]), "d");
    assert_eq!(ok("${x:?d}", &[]), "d");
    // `$$` is not an escape inside a default.
    assert_eq!(ok("${x:=$$}", &[]), "$$");
}

#[test]
fn nested_defaults() {
    assert_eq!(ok("${a:=${b}}", &[("b", "B")]), "B");
    assert_eq!(ok("${a:=${b:=x}-y}", &[]), "x-y");
    assert_eq!(ok("${a:=${b}}", &[("a", "A"), ("b", "B")]), "A");
    assert_eq!(ok("${a:=p${b:=${c:=deep}}q}", &[]), "pdeepq");
}

#[test]
fn undefined_is_empty_unless_strict() {
    assert_eq!(ok("[${missing}]", &[]), "[]");
    assert_eq!(
        ev("${missing}", &[], true),
        Err(EvalError::NotSet {
            name: "missing".into()
        })
    );
    assert_eq!(ev("${missing:=d}", &[], true), Ok("d".into()));
    assert_eq!(ev("${x}", &[("x", "")], true), Ok(String::new()));
    // Defaults are expanded first, so a missing variable inside one fails in strict
    // mode even when the outer variable is set (as in Flux).
    assert!(matches!(
        ev("${a:=${b}}", &[("a", "A")], true),
        Err(EvalError::NotSet { name }) if name == "b"
    ));
    assert!(matches!(
        ev("${#missing}", &[], true),
        Err(EvalError::NotSet { .. })
    ));
}

#[test]
fn functions() {
    let v = &[("v", "Hello/World.tar.gz")];
    assert_eq!(ok("${#v}", v), "18");
    assert_eq!(ok("${v,}", v), "hello/World.tar.gz");
    assert_eq!(ok("${v,,}", v), "hello/world.tar.gz");
    assert_eq!(ok("${v^^}", v), "HELLO/WORLD.TAR.GZ");
    assert_eq!(ok("${v:6}", v), "World.tar.gz");
    assert_eq!(ok("${v:6:5}", v), "World");
    assert_eq!(ok("${v:-6}", v), "Hello/World.tar.gz"); // `:-` is a default
    assert_eq!(ok("${v: -6}", v), "Hello/World.tar.gz"); // not a number: unchanged
    assert_eq!(ok("${v:100}", v), "");
    assert_eq!(ok("${v:2:100}", v), "llo/World.tar.gz");
    assert_eq!(ok("${v#*.}", v), "tar.gz");
    assert_eq!(ok("${v##*.}", v), "gz");
    assert_eq!(ok("${v%.*}", v), "Hello/World.tar");
    assert_eq!(ok("${v%%.*}", v), "Hello/World");
    assert_eq!(ok("${v#[A-Z]}", v), "ello/World.tar.gz");
    assert_eq!(ok("${v%[a-z]}", v), "Hello/World.tar.g");
    assert_eq!(ok("${v#nomatch}", v), "Hello/World.tar.gz");
    assert_eq!(ok("${v#[}", v), "Hello/World.tar.gz"); // malformed glob: unchanged
    assert_eq!(ok("${v/o/0}", v), "Hell0/World.tar.gz");
    assert_eq!(ok("${v//o/0}", v), "Hell0/W0rld.tar.gz");
    assert_eq!(ok("${v//o/}", v), "Hell/Wrld.tar.gz");
    assert_eq!(ok("${v/#Hello/Bye}", v), "Bye/World.tar.gz");
    assert_eq!(ok("${v/%gz/xz}", v), "Hello/World.tar.xz");
    assert_eq!(ok("${v/#World/x}", v), "Hello/World.tar.gz");
    assert_eq!(ok("${v//\\//_}", v), "Hello_World.tar.gz"); // `\/` escapes a slash
    assert!(matches!(
        ev("${v:1:-5}", v, false),
        Err(EvalError::NegativeLength { .. })
    ));
}

#[test]
fn malformed_expressions_are_errors() {
    type Check = fn(&EvalError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("${", |e| matches!(e, EvalError::VariableName { .. })),
        ("${}", |e| matches!(e, EvalError::VariableName { .. })),
        ("${ x}", |e| matches!(e, EvalError::VariableName { .. })),
        ("x ${abc", |e| {
            matches!(e, EvalError::MissingClosingBrace { .. })
        }),
        ("${a-b}", |e| {
            matches!(e, EvalError::MissingClosingBrace { .. })
        }),
        ("${a b}", |e| {
            matches!(e, EvalError::MissingClosingBrace { .. })
        }),
        ("${a:=x", |e| {
            matches!(e, EvalError::FuncSubstitution { .. })
        }),
        ("${a:}", |e| matches!(e, EvalError::FuncSubstitution { .. })),
        ("${a#}", |e| matches!(e, EvalError::FuncSubstitution { .. })),
        ("${#}", |e| matches!(e, EvalError::BadSubstitution { .. })),
        ("${a/x}", |e| matches!(e, EvalError::BadSubstitution { .. })),
        ("${a^x}", |e| matches!(e, EvalError::BadSubstitution { .. })),
    ];
    for (text, check) in cases {
        match ev(text, &[], false) {
            Err(e) => assert!(check(&e), "{text}: {e:?}"),
            Ok(s) => panic!("{text}: expected an error, got {s:?}"),
        }
    }
    let err = ev("key: ${unterminated", &[], false).unwrap_err();
    assert!(err.to_string().contains("${unterminated"), "{err}");
}

// --- hostile input -------------------------------------------------------------

#[test]
fn huge_default_value() {
    let big = "x".repeat(1 << 20);
    let out = ok(&format!("a: ${{v:={big}}}"), &[]);
    assert_eq!(out.len(), 3 + big.len());
}

#[test]
fn many_dollars_are_linear() {
    let text = "$$".repeat(1 << 19) + &"${a} ".repeat(1 << 16);
    let out = ok(&text, &[("a", "1")]);
    assert_eq!(out.len(), (1 << 19) + 2 * (1 << 16));
}

#[test]
fn unterminated_at_the_end_of_a_megabyte() {
    let text = "y".repeat(1 << 20) + "${abc";
    assert!(matches!(
        ev(&text, &[], false),
        Err(EvalError::MissingClosingBrace { .. })
    ));
    let text = "${a:=".to_string() + &"y".repeat(1 << 20);
    assert!(matches!(
        ev(&text, &[], false),
        Err(EvalError::FuncSubstitution { .. })
    ));
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let depth = 100_000;
    let text = "${a:=".repeat(depth) + &"}".repeat(depth);
    assert!(matches!(
        ev(&text, &[], false),
        Err(EvalError::TooDeep { .. })
    ));
    let text = "${a:=".repeat(20) + "x" + &"}".repeat(20);
    assert_eq!(ok(&text, &[]), "x");
}

#[test]
fn multiplying_replacement_is_refused() {
    let v = "o".repeat(1 << 20);
    let r = "r".repeat(1 << 10);
    assert_eq!(
        ev("${v//o/${r}}", &[("v", &v), ("r", &r)], false),
        Err(EvalError::TooLarge)
    );
}

#[test]
fn glob_trim_on_a_megabyte_value() {
    let v = "ab".repeat(1 << 19) + ".end";
    assert_eq!(ok("${v##*a}", &[("v", &v)]), "b.end");
    assert_eq!(ok("${v%%b*}", &[("v", &v)]), "a");
    assert_eq!(ok("${v#*.}", &[("v", &v)]), "end");
    let pat = "*a".repeat(1 << 12);
    assert!(matches!(
        ev(&format!("${{v##{pat}}}"), &[("v", &v)], false),
        Err(EvalError::PatternTooComplex { .. })
    ));
}

#[test]
fn non_ascii_text_is_preserved() {
    // Offsets count bytes, as in Flux (`ç` is two bytes).
    assert_eq!(
        ok("héllo ${v} wörld ${v:2}", &[("v", "ça")]),
        "héllo ça wörld a"
    );
    assert_eq!(ok("${v#?}", &[("v", "ça")]), "a");
}

#[test]
fn var_names() {
    for good in ["a", "_", "A_1", "_x9", "cluster_name"] {
        assert!(is_valid_var_name(good), "{good}");
    }
    for bad in ["", "1a", "a-b", "a.b", "ñ", "a b", "${a}"] {
        assert!(!is_valid_var_name(bad), "{bad}");
    }
}
