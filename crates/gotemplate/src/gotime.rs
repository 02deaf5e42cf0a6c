//! Go's `time.Time` as Sprig's date functions use it: layouts written with Go's
//! reference time (`2006-01-02T15:04:05Z07:00`), `Time.String`, `Duration.String` and
//! `time.ParseDuration`. The local zone is UTC (named zones other than UTC are not known).

use std::rc::Rc;

/// A point in time with the zone it is shown in.
#[derive(Debug, Clone, PartialEq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// Offset from UTC in seconds.
    pub offset: i32,
    /// The zone's name (`UTC`; empty for a fixed zone from a parsed offset).
    pub zone: Rc<str>,
}

const NS: i64 = 1_000_000_000;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

impl GoTime {
    /// UTC time from Unix seconds.
    pub fn unix(secs: i64, nanos: u32) -> GoTime {
        GoTime {
            secs,
            nanos,
            offset: 0,
            zone: Rc::from("UTC"),
        }
    }

    /// Go's zero `time.Time` (January 1, year 1, UTC).
    pub fn zero() -> GoTime {
        GoTime::unix(days_from_civil(1, 1, 1) * 86_400, 0)
    }

    /// The current time.
    pub fn now() -> GoTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        GoTime::unix(d.as_secs() as i64, d.subsec_nanos())
    }

    /// This time plus `d` nanoseconds.
    pub fn add(&self, d: i64) -> GoTime {
        let total = i128::from(self.secs) * i128::from(NS) + i128::from(self.nanos) + i128::from(d);
        let mut t = self.clone();
        t.secs = total.div_euclid(i128::from(NS)) as i64;
        t.nanos = total.rem_euclid(i128::from(NS)) as u32;
        t
    }

    /// Nanoseconds from `other` to this time.
    pub fn sub(&self, other: &GoTime) -> i64 {
        let a = i128::from(self.secs) * i128::from(NS) + i128::from(self.nanos);
        let b = i128::from(other.secs) * i128::from(NS) + i128::from(other.nanos);
        (a - b).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Go's `Format` with a reference-time layout.
    pub fn format(&self, layout: &str) -> String {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        let (h, mi, s) = (sod / 3600, sod / 60 % 60, sod % 60);
        let wd = (days + 4).rem_euclid(7) as usize;
        let yday = days - days_from_civil(y, 1, 1) + 1;
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let Some((pre, tok, after)) = next_chunk(rest) else {
                out.push_str(rest);
                break;
            };
            out.push_str(pre);
            rest = after;
            match tok {
                Tok::Year => {
                    if y < 0 {
                        out.push('-');
                    }
                    out.push_str(&format!("{:04}", y.abs()));
                }
                Tok::Year2 => out.push_str(&format!("{:02}", y.rem_euclid(100))),
                Tok::LongMonth => out.push_str(MONTHS[mo as usize - 1]),
                Tok::Month => out.push_str(&MONTHS[mo as usize - 1][..3]),
                Tok::NumMonth => out.push_str(&mo.to_string()),
                Tok::ZeroMonth => out.push_str(&format!("{mo:02}")),
                Tok::LongWeekDay => out.push_str(DAYS[wd]),
                Tok::WeekDay => out.push_str(&DAYS[wd][..3]),
                Tok::Day => out.push_str(&d.to_string()),
                Tok::UnderDay => out.push_str(&format!("{d:>2}")),
                Tok::ZeroDay => out.push_str(&format!("{d:02}")),
                Tok::UnderYearDay => out.push_str(&format!("{yday:>3}")),
                Tok::ZeroYearDay => out.push_str(&format!("{yday:03}")),
                Tok::Hour => out.push_str(&format!("{h:02}")),
                Tok::Hour12 | Tok::ZeroHour12 => {
                    let hh = if h % 12 == 0 { 12 } else { h % 12 };
                    if tok == Tok::Hour12 {
                        out.push_str(&hh.to_string());
                    } else {
                        out.push_str(&format!("{hh:02}"));
                    }
                }
                Tok::Minute => out.push_str(&mi.to_string()),
                Tok::ZeroMinute => out.push_str(&format!("{mi:02}")),
                Tok::Second => out.push_str(&s.to_string()),
                Tok::ZeroSecond => out.push_str(&format!("{s:02}")),
                Tok::PM => out.push_str(if h >= 12 { "PM" } else { "AM" }),
                Tok::Pm => out.push_str(if h >= 12 { "pm" } else { "am" }),
                Tok::TZ => {
                    if !self.zone.is_empty() {
                        out.push_str(&self.zone);
                    } else {
                        let z = self.offset / 60;
                        out.push(if z < 0 { '-' } else { '+' });
                        out.push_str(&format!("{:02}{:02}", z.abs() / 60, z.abs() % 60));
                    }
                }
                Tok::Offset {
                    z,
                    colon,
                    mins,
                    secs,
                } => {
                    if z && self.offset == 0 {
                        out.push('Z');
                    } else {
                        let o = self.offset;
                        out.push(if o < 0 { '-' } else { '+' });
                        let o = o.abs();
                        out.push_str(&format!("{:02}", o / 3600));
                        if mins {
                            if colon {
                                out.push(':');
                            }
                            out.push_str(&format!("{:02}", o / 60 % 60));
                        }
                        if secs {
                            if colon {
                                out.push(':');
                            }
                            out.push_str(&format!("{:02}", o % 60));
                        }
                    }
                }
                Tok::Frac { sep, n, nines } => {
                    let digits = format!("{:09}", self.nanos);
                    let mut f = digits[..n].to_string();
                    if nines {
                        while f.ends_with('0') {
                            f.pop();
                        }
                        if f.is_empty() {
                            continue;
                        }
                    }
                    out.push(sep);
                    out.push_str(&f);
                }
            }
        }
        out
    }

    /// Go's `Time.String` (without a monotonic reading).
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Year,
    Year2,
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    TZ,
    Offset {
        z: bool,
        colon: bool,
        mins: bool,
        secs: bool,
    },
    Frac {
        sep: char,
        n: usize,
        nines: bool,
    },
}

/// Go's `nextStdChunk`: the literal before the next token, the token, and the rest.
fn next_chunk(l: &str) -> Option<(&str, Tok, &str)> {
    let b = l.as_bytes();
    let at = |i: usize, s: &str| l[i..].starts_with(s);
    for i in 0..b.len() {
        if !l.is_char_boundary(i) {
            continue;
        }
        let r = |tok: Tok, n: usize| Some((&l[..i], tok, &l[i + n..]));
        match b[i] {
            b'J' if at(i, "Jan") => {
                return if at(i, "January") {
                    r(Tok::LongMonth, 7)
                } else {
                    r(Tok::Month, 3)
                };
            }
            b'M' if at(i, "Mon") => {
                return if at(i, "Monday") {
                    r(Tok::LongWeekDay, 6)
                } else {
                    r(Tok::WeekDay, 3)
                };
            }
            b'M' if at(i, "MST") => return r(Tok::TZ, 3),
            b'0' if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) => {
                let t = [
                    Tok::ZeroMonth,
                    Tok::ZeroDay,
                    Tok::ZeroHour12,
                    Tok::ZeroMinute,
                    Tok::ZeroSecond,
                    Tok::Year2,
                ][usize::from(b[i + 1] - b'1')];
                return r(t, 2);
            }
            b'0' if at(i, "002") => return r(Tok::ZeroYearDay, 3),
            b'1' => {
                return if at(i, "15") {
                    r(Tok::Hour, 2)
                } else {
                    r(Tok::NumMonth, 1)
                };
            }
            b'2' => {
                return if at(i, "2006") {
                    r(Tok::Year, 4)
                } else {
                    r(Tok::Day, 1)
                };
            }
            b'_' if at(i, "_2") => {
                if at(i, "_2006") {
                    return Some((&l[..i + 1], Tok::Year, &l[i + 5..]));
                }
                return r(Tok::UnderDay, 2);
            }
            b'_' if at(i, "__2") => return r(Tok::UnderYearDay, 3),
            b'3' => return r(Tok::Hour12, 1),
            b'4' => return r(Tok::Minute, 1),
            b'5' => return r(Tok::Second, 1),
            b'P' if at(i, "PM") => return r(Tok::PM, 2),
            b'p' if at(i, "pm") => return r(Tok::Pm, 2),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                for (s, colon, mins, secs) in [
                    ("070000", false, true, true),
                    ("07:00:00", true, true, true),
                    ("0700", false, true, false),
                    ("07:00", true, true, false),
                    ("07", false, false, false),
                ] {
                    if at(i + 1, s) {
                        return r(
                            Tok::Offset {
                                z,
                                colon,
                                mins,
                                secs,
                            },
                            1 + s.len(),
                        );
                    }
                }
            }
            b'.' | b',' if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if !(j < b.len() && b[j].is_ascii_digit()) {
                    let n = (j - i - 1).min(9);
                    return r(
                        Tok::Frac {
                            sep: b[i] as char,
                            n,
                            nines: ch == b'9',
                        },
                        j - i,
                    );
                }
            }
            _ => {}
        }
    }
    None
}

/// Go's `ParseError` text.
fn perr(value: &str, layout: &str, velem: &str, lelem: &str, msg: &str) -> String {
    let q = crate::gofmt::quote;
    if msg.is_empty() {
        format!(
            "parsing time {} as {}: cannot parse {} as {}{msg}",
            q(value),
            q(layout),
            q(velem),
            q(lelem)
        )
    } else {
        format!("parsing time {}{msg}", q(value))
    }
}

fn getnum(v: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = v.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() < 2 || !b[1].is_ascii_digit() {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &v[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &v[2..],
    ))
}

/// Go's `time.ParseInLocation` with the local zone UTC.
pub fn parse(layout: &str, value: &str) -> Result<GoTime, String> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut ns) =
        (1i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut rest = layout;
    let mut v = value;
    loop {
        let Some((pre, tok, after)) = next_chunk(rest) else {
            if !v.starts_with(rest) {
                return Err(perr(value, layout, v, rest, ""));
            }
            v = &v[rest.len()..];
            if !v.is_empty() {
                return Err(perr(
                    value,
                    layout,
                    "",
                    "",
                    &format!(": extra text: {}", crate::gofmt::quote(v)),
                ));
            }
            break;
        };
        if !v.starts_with(pre) {
            return Err(perr(value, layout, v, pre, ""));
        }
        v = &v[pre.len()..];
        let tok_text = &rest[pre.len()..rest.len() - after.len()];
        let fail = |v: &str| Err(perr(value, layout, v, tok_text, ""));
        let range = |what: &str| {
            Err(format!(
                "parsing time {}: {what} out of range",
                crate::gofmt::quote(value)
            ))
        };
        rest = after;
        let hold = v;
        match tok {
            Tok::Year => {
                if v.len() < 4 || !v.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                    return fail(hold);
                }
                y = v[..4].parse().unwrap_or(0);
                v = &v[4..];
            }
            Tok::Year2 => {
                let Some((n, r)) = getnum(v, true) else {
                    return fail(hold);
                };
                y = if n >= 69 { 1900 + n } else { 2000 + n };
                v = r;
            }
            Tok::LongMonth | Tok::Month => {
                let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                    let name = if tok == Tok::Month { &m[..3] } else { m };
                    (v.len() >= name.len() && v[..name.len()].eq_ignore_ascii_case(name))
                        .then_some((i, name.len()))
                });
                let Some((i, n)) = found else {
                    return fail(hold);
                };
                mo = i as i64 + 1;
                v = &v[n..];
            }
            Tok::LongWeekDay | Tok::WeekDay => {
                let found = DAYS.iter().find_map(|m| {
                    let name = if tok == Tok::WeekDay { &m[..3] } else { m };
                    (v.len() >= name.len() && v[..name.len()].eq_ignore_ascii_case(name))
                        .then_some(name.len())
                });
                let Some(n) = found else { return fail(hold) };
                v = &v[n..];
            }
            Tok::NumMonth | Tok::ZeroMonth => {
                let Some((n, r)) = getnum(v, tok == Tok::ZeroMonth) else {
                    return fail(hold);
                };
                if !(1..=12).contains(&n) {
                    return range("month");
                }
                mo = n;
                v = r;
            }
            Tok::Day | Tok::UnderDay | Tok::ZeroDay => {
                if tok == Tok::UnderDay && v.starts_with(' ') {
                    v = &v[1..];
                }
                let Some((n, r)) = getnum(v, tok == Tok::ZeroDay) else {
                    return fail(hold);
                };
                d = n;
                v = r;
            }
            Tok::Hour => {
                let Some((n, r)) = getnum(v, false) else {
                    return fail(hold);
                };
                if n > 23 {
                    return range("hour");
                }
                h = n;
                v = r;
            }
            Tok::Hour12 | Tok::ZeroHour12 => {
                let Some((n, r)) = getnum(v, tok == Tok::ZeroHour12) else {
                    return fail(hold);
                };
                if n > 12 {
                    return range("hour");
                }
                h = n;
                v = r;
            }
            Tok::Minute | Tok::ZeroMinute => {
                let Some((n, r)) = getnum(v, tok == Tok::ZeroMinute) else {
                    return fail(hold);
                };
                if n > 59 {
                    return range("minute");
                }
                mi = n;
                v = r;
            }
            Tok::Second | Tok::ZeroSecond => {
                let Some((n, r)) = getnum(v, tok == Tok::ZeroSecond) else {
                    return fail(hold);
                };
                if n > 59 {
                    return range("second");
                }
                s = n;
                v = r;
                // a fractional second the layout does not mention
                let next_is_frac = matches!(next_chunk(rest), Some(("", Tok::Frac { .. }, _)));
                let vb = v.as_bytes();
                if !next_is_frac
                    && vb.len() >= 2
                    && (vb[0] == b'.' || vb[0] == b',')
                    && vb[1].is_ascii_digit()
                {
                    let n = 1 + vb[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    ns = frac_nanos(&v[1..n]);
                    v = &v[n..];
                }
            }
            Tok::Frac { n, nines, .. } => {
                let vb = v.as_bytes();
                if nines {
                    if vb.len() < 2 || !(vb[0] == b'.' || vb[0] == b',') || !vb[1].is_ascii_digit()
                    {
                        continue;
                    }
                    let k = 1 + vb[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    ns = frac_nanos(&v[1..k]);
                    v = &v[k..];
                } else {
                    if vb.len() < n + 1
                        || !(vb[0] == b'.' || vb[0] == b',')
                        || !vb[1..=n].iter().all(u8::is_ascii_digit)
                    {
                        return fail(hold);
                    }
                    ns = frac_nanos(&v[1..=n]);
                    v = &v[n + 1..];
                }
            }
            Tok::UnderYearDay | Tok::ZeroYearDay => return fail(hold),
            Tok::PM | Tok::Pm => {
                if v.len() < 2 {
                    return fail(hold);
                }
                match &v[..2] {
                    "PM" | "pm" if v.is_char_boundary(2) => pm = Some(true),
                    "AM" | "am" if v.is_char_boundary(2) => pm = Some(false),
                    _ => return fail(hold),
                }
                v = &v[2..];
            }
            Tok::Offset {
                z,
                colon,
                mins,
                secs,
            } => {
                if z && v.starts_with('Z') {
                    v = &v[1..];
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let b = v.as_bytes();
                let need = 3
                    + if mins { 2 + usize::from(colon) } else { 0 }
                    + if secs { 2 + usize::from(colon) } else { 0 };
                if b.len() < need || !(b[0] == b'+' || b[0] == b'-') {
                    return fail(hold);
                }
                let mut p = 1;
                let two = |p: &mut usize| -> Option<i32> {
                    let x = b.get(*p..*p + 2)?;
                    if !x.iter().all(u8::is_ascii_digit) {
                        return None;
                    }
                    *p += 2;
                    Some(i32::from(x[0] - b'0') * 10 + i32::from(x[1] - b'0'))
                };
                let Some(hh) = two(&mut p) else {
                    return fail(hold);
                };
                let mut mm = 0;
                let mut ss = 0;
                if mins {
                    if colon {
                        if b[p] != b':' {
                            return fail(hold);
                        }
                        p += 1;
                    }
                    let Some(x) = two(&mut p) else {
                        return fail(hold);
                    };
                    mm = x;
                }
                if secs {
                    if colon {
                        if b[p] != b':' {
                            return fail(hold);
                        }
                        p += 1;
                    }
                    let Some(x) = two(&mut p) else {
                        return fail(hold);
                    };
                    ss = x;
                }
                let o = (hh * 60 + mm) * 60 + ss;
                offset = Some(if b[0] == b'-' { -o } else { o });
                v = &v[p..];
            }
            Tok::TZ => {
                if v.len() >= 3 && &v[..3] == "UTC" {
                    zone_name = Some("UTC".into());
                    v = &v[3..];
                    continue;
                }
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                if !(3..=5).contains(&n) {
                    return fail(hold);
                }
                zone_name = Some(v[..n].to_string());
                v = &v[n..];
            }
        }
    }
    if let Some(p) = pm {
        if p && h < 12 {
            h += 12;
        } else if !p && h == 12 {
            h = 0;
        }
    }
    if d < 1 || d > days_in(y, mo) {
        return Err(format!(
            "parsing time {}: day out of range",
            crate::gofmt::quote(value)
        ));
    }
    let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    let mut t = GoTime::unix(local, ns as u32);
    match (offset, zone_name) {
        (Some(0), _) | (None, None) => {}
        (Some(o), _) => {
            t.secs -= i64::from(o);
            t.offset = o;
            t.zone = Rc::from("");
        }
        (None, Some(name)) => {
            if name != "UTC" {
                t.zone = Rc::from(name.as_str());
            }
        }
    }
    Ok(t)
}

fn frac_nanos(digits: &str) -> i64 {
    let mut d: String = digits.chars().take(9).collect();
    while d.len() < 9 {
        d.push('0');
    }
    d.parse().unwrap_or(0)
}

/// Go's `Duration.String`.
pub fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let frac = |v: u64, prec: u32| -> String {
        let p = 10u64.pow(prec);
        let (i, f) = (v / p, v % p);
        let mut s = i.to_string();
        if f != 0 {
            let fs = format!("{:0width$}", f, width = prec as usize);
            s.push('.');
            s.push_str(fs.trim_end_matches('0'));
        }
        s
    };
    let mut s = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", frac(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", frac(u, 6))
    } else {
        let secs = u / 1_000_000_000;
        let mut s = format!(
            "{}s",
            frac(secs % 60 * 1_000_000_000 + u % 1_000_000_000, 9)
        );
        let mins = secs / 60;
        if mins > 0 {
            s = format!("{}m{s}", mins % 60);
            let hours = mins / 60;
            if hours > 0 {
                s = format!("{hours}h{s}");
            }
        }
        s
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let q = crate::gofmt::quote;
    let bad = || format!("time: invalid duration {}", q(s));
    let mut v = s;
    let mut neg = false;
    if let Some(r) = v.strip_prefix('-') {
        neg = true;
        v = r;
    } else if let Some(r) = v.strip_prefix('+') {
        v = r;
    }
    if v == "0" {
        return Ok(0);
    }
    if v.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    let mut exact: i128 = 0;
    while !v.is_empty() {
        let n = v.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &v[..n];
        v = &v[n..];
        let mut frac_part = "";
        if let Some(r) = v.strip_prefix('.') {
            let k = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..k];
            v = &r[k..];
            if n == 0 && k == 0 {
                return Err(bad());
            }
        } else if n == 0 {
            return Err(bad());
        }
        let u = v
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(v.len(), |(i, _)| i);
        let unit = &v[..u];
        v = &v[u..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", q(s)));
        }
        let mult: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    q(unit),
                    q(s)
                ));
            }
        };
        let i: i128 = int_part.parse().unwrap_or(0);
        exact += i * mult;
        if !frac_part.is_empty() {
            let f: f64 = format!("0.{frac_part}").parse().unwrap_or(0.0);
            total += f * mult as f64;
        }
        if exact > i128::from(i64::MAX) {
            return Err(bad());
        }
    }
    let d = exact + total as i128;
    if d > i128::from(i64::MAX) {
        return Err(bad());
    }
    Ok(if neg { -(d as i64) } else { d as i64 })
}
