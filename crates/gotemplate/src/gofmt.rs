//! Go's `fmt` formatting of template values: `%v` of every kind, `Sprint`,
//! `Sprintln` and `Sprintf` with the common verbs, flags, width and precision.

use crate::value::Value;

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (what `%v` prints for a float64).
pub fn float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (neg, digits, exp) = shortest_digits(&format!("{:e}", f.abs()), f < 0.0);
    layout_g(neg, &digits, exp)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits that read back
/// as the same float32 (how sigs.k8s.io/yaml turns a float map key into a string).
pub fn float32_g(f: f64) -> String {
    let g = f as f32;
    if !g.is_finite() || g == 0.0 {
        return float_g(g as f64);
    }
    let (neg, digits, exp) = shortest_digits(&format!("{:e}", g.abs()), g < 0.0);
    layout_g(neg, &digits, exp)
}

fn layout_g(neg: bool, digits: &str, exp: i32) -> String {
    let sign = if neg { "-" } else { "" };
    let nd = digits.len() as i32;
    let dp = exp + 1;
    // strconv: with the shortest precision, %e is used when exp < -4 || exp >= 6
    if !(-4..6).contains(&exp) {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.abs()));
        return s;
    }
    let mut s = String::from(sign);
    if dp <= 0 {
        s.push_str("0.");
        for _ in 0..(-dp) {
            s.push('0');
        }
        s.push_str(digits);
    } else if dp >= nd {
        s.push_str(digits);
        for _ in 0..(dp - nd) {
            s.push('0');
        }
    } else {
        s.push_str(&digits[..dp as usize]);
        s.push('.');
        s.push_str(&digits[dp as usize..]);
    }
    s
}

/// Shortest round-trip decimal digits of `f` and its decimal exponent (d.ddd × 10^exp).
fn shortest_digits(s: &str, neg: bool) -> (bool, String, i32) {
    let (m, e) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = m.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (neg, digits.to_string(), e.parse().unwrap_or(0))
}

/// `%v` of a value.
pub fn sprint_value(v: &Value) -> String {
    let mut s = String::new();
    write_v(&mut s, v, 0);
    s
}

fn write_v(out: &mut String, v: &Value, depth: usize) {
    if depth > 100 {
        out.push_str("...");
        return;
    }
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::Time(t) => out.push_str(&t.go_string()),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, x, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            let Ok(m) = m.try_borrow() else {
                out.push_str("...]");
                return;
            };
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, x, depth + 1);
            }
            out.push(']');
        }
    }
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            s.push(' ');
        }
        write_v(&mut s, a, 0);
    }
    s
}

/// Go's `fmt.Sprintln`.
pub fn sprintln(args: &[Value]) -> String {
    let mut s = args.iter().map(sprint_value).collect::<Vec<_>>().join(" ");
    s.push('\n');
    s
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    ferroflux_gocompat::quote(s)
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(s: String, sp: &Spec) -> String {
    let n = s.chars().count();
    match sp.width {
        Some(w) if w > n => {
            let fill = w - n;
            if sp.minus {
                s + &" ".repeat(fill)
            } else if sp.zero {
                let (sign, rest) = if s.starts_with(['-', '+']) {
                    s.split_at(1)
                } else {
                    ("", s.as_str())
                };
                format!("{sign}{}{rest}", "0".repeat(fill))
            } else {
                " ".repeat(fill) + &s
            }
        }
        _ => s,
    }
}

fn bad(verb: char, v: &Value) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), sprint_value(v)),
    }
}

/// Go's `fmt.Sprintf` over template values.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut it = format.chars().peekable();
    let mut argi = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut sp = Spec::default();
        while let Some(&f) = it.peek() {
            match f {
                '-' => sp.minus = true,
                '+' => sp.plus = true,
                '0' => sp.zero = !sp.minus,
                ' ' => sp.space = true,
                '#' => sp.sharp = true,
                _ => break,
            }
            it.next();
        }
        let num = |it: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n: Option<usize> = None;
            while let Some(&d) = it.peek() {
                if let Some(v) = d.to_digit(10) {
                    n = Some(
                        n.unwrap_or(0)
                            .saturating_mul(10)
                            .saturating_add(v as usize)
                            .min(1_000_000),
                    );
                    it.next();
                } else {
                    break;
                }
            }
            n
        };
        if it.peek() == Some(&'*') {
            it.next();
            if let Some(Value::Int(w)) = args.get(argi) {
                sp.width = Some((*w).clamp(0, 1_000_000) as usize);
            }
            argi += 1;
        } else {
            sp.width = num(&mut it);
        }
        if it.peek() == Some(&'.') {
            it.next();
            sp.prec = Some(num(&mut it).unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        out.push_str(&format_one(verb, arg, &sp));
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| match a {
                Value::Nil => "<nil>".to_string(),
                _ => format!("{}={}", a.type_name(), sprint_value(a)),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn format_one(verb: char, arg: &Value, sp: &Spec) -> String {
    match (verb, arg) {
        ('U', Value::Int(i) | Value::Int64(i)) => return pad(format!("U+{:04X}", i), sp),
        ('v', Value::Str(s)) if sp.sharp => return pad(quote(s), sp),
        ('E', Value::Float(f)) => return pad(fmt_e(*f, sp.prec.unwrap_or(6)).to_uppercase(), sp),
        _ => {}
    }
    if verb == 'T' {
        return pad(arg.type_name().to_string(), sp);
    }
    // Go applies the verb to each element of a slice and to each key and value of a map
    if verb != 'v' {
        match arg {
            Value::List(l) => {
                let parts: Vec<String> = l.iter().map(|x| format_one(verb, x, sp)).collect();
                return format!("[{}]", parts.join(" "));
            }
            Value::Map(m) => {
                let Ok(m) = m.try_borrow() else {
                    return "map[...]".into();
                };
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, x)| {
                        format!(
                            "{}:{}",
                            format_one(verb, &Value::str(k), sp),
                            format_one(verb, x, sp)
                        )
                    })
                    .collect();
                return format!("map[{}]", parts.join(" "));
            }
            _ => {}
        }
    }
    match (verb, arg) {
        ('v', Value::Float(f)) if sp.prec.is_some() => {
            pad(fmt_float_g_prec(*f, sp.prec.unwrap_or(6)), sp)
        }
        ('v', Value::Str(s)) | ('s', Value::Str(s)) => {
            let s: String = match sp.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            pad(s, sp)
        }
        ('v', Value::Int(i) | Value::Int64(i)) | ('d', Value::Int(i) | Value::Int64(i)) => {
            let mut s = i.to_string();
            if sp.plus && *i >= 0 {
                s.insert(0, '+');
            }
            pad(s, sp)
        }
        ('v', _) => pad(sprint_value(arg), sp),
        ('s', Value::List(_) | Value::Map(_)) => pad(sprint_value(arg), sp),
        ('t', Value::Bool(b)) => pad(b.to_string(), sp),
        ('q', Value::Str(s)) => pad(quote(s), sp),
        ('q', Value::Int(i) | Value::Int64(i)) => pad(
            format!("'{}'", char::from_u32(*i as u32).unwrap_or('\u{fffd}')),
            sp,
        ),
        ('c', Value::Int(i) | Value::Int64(i)) => pad(
            char::from_u32(*i as u32).unwrap_or('\u{fffd}').to_string(),
            sp,
        ),
        ('x', Value::Int(i) | Value::Int64(i)) => pad(
            if *i < 0 {
                format!("-{:x}", i.unsigned_abs())
            } else {
                format!("{:x}", i)
            },
            sp,
        ),
        ('X', Value::Int(i) | Value::Int64(i)) => pad(
            if *i < 0 {
                format!("-{:X}", i.unsigned_abs())
            } else {
                format!("{:X}", i)
            },
            sp,
        ),
        ('o', Value::Int(i) | Value::Int64(i)) => pad(format!("{:o}", i), sp),
        ('b', Value::Int(i) | Value::Int64(i)) => pad(format!("{:b}", i), sp),
        ('x', Value::Str(s)) => pad(hex::encode(s.as_bytes()), sp),
        ('X', Value::Str(s)) => pad(hex::encode_upper(s.as_bytes()), sp),
        ('f' | 'F', Value::Float(f)) => {
            let mut s = format!("{:.*}", sp.prec.unwrap_or(6), f);
            if sp.plus && *f >= 0.0 {
                s.insert(0, '+');
            }
            pad(s, sp)
        }
        ('e', Value::Float(f)) => pad(fmt_e(*f, sp.prec.unwrap_or(6)), sp),
        ('g', Value::Float(f)) => pad(
            match sp.prec {
                Some(p) => fmt_float_g_prec(*f, p),
                None => float_g(*f),
            },
            sp,
        ),
        _ => bad(verb, arg),
    }
}

fn fmt_e(f: f64, prec: usize) -> String {
    let s = format!("{:.*e}", prec, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

fn fmt_float_g_prec(f: f64, prec: usize) -> String {
    let p = prec.max(1);
    let e = format!("{:.*e}", p - 1, f);
    let (m, ex) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = ex.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let s = format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, f);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}
