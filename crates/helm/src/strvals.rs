//! Helm's `--set`, `--set-string` and `--set-json` syntax (`strvals`):
//! `a.b=c,d[0]=e`, lists `{x,y}`, `\` escapes; `--set` types `true`/`false`/
//! `null` and base-10 integers (as int64), everything else is a string.

use serde_json::{Map, Value as J};

/// Deepest dotted name Helm accepts.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;
/// Largest list index Helm accepts.
pub const MAX_INDEX: usize = 65536;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Typed,
    Str,
    Json,
}

struct Parser {
    s: Vec<char>,
    pos: usize,
    mode: Mode,
}

enum E {
    Eof,
    Msg(String),
    NotList,
}

type R<T> = Result<T, E>;

fn msg(s: impl Into<String>) -> E {
    E::Msg(s.into())
}

/// Parses `--set` text into `dest`.
pub fn parse_into(s: &str, dest: &mut Map<String, J>) -> Result<(), String> {
    run(s, dest, Mode::Typed)
}

/// Parses `--set-string` text into `dest` (every value a string).
pub fn parse_into_string(s: &str, dest: &mut Map<String, J>) -> Result<(), String> {
    run(s, dest, Mode::Str)
}

/// Parses `--set-json` `key=JSON` text into `dest`.
pub fn parse_json(s: &str, dest: &mut Map<String, J>) -> Result<(), String> {
    run(s, dest, Mode::Json)
}

fn run(s: &str, dest: &mut Map<String, J>, mode: Mode) -> Result<(), String> {
    let mut p = Parser {
        s: s.chars().collect(),
        pos: 0,
        mode,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(E::Eof) => return Ok(()),
            Err(E::Msg(m)) => return Err(m),
            Err(E::NotList) => return Err("unexpected list".into()),
        }
    }
}

/// `typedVal`: what `--set` makes of a value.
pub fn typed(v: &str, string: bool) -> J {
    if string {
        return J::String(v.to_string());
    }
    if v.eq_ignore_ascii_case("true") {
        return J::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return J::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return J::Null;
    }
    if v == "0" {
        return J::from(0i64);
    }
    if !v.is_empty()
        && !v.starts_with('0')
        && let Some(i) = go_parse_int(v)
    {
        return J::from(i);
    }
    J::String(v.to_string())
}

/// Go's `strconv.ParseInt(v, 10, 64)`: optional sign, digits only.
fn go_parse_int(v: &str) -> Option<i64> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

impl Parser {
    fn read(&mut self) -> Option<char> {
        let c = self.s.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// Runes up to one of `stop` (consumed), with `\` escaping the next rune.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(n) => v.push(n),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn key(&mut self, data: &mut Map<String, J>, level: usize) -> R<()> {
        let (k, last) = self.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    Err(E::Eof)
                } else {
                    Err(msg(format!("key {k:?} has no value")))
                }
            }
            Some('[') => {
                let i = self.index()?;
                let mut list = match data.remove(&k) {
                    None => vec![],
                    Some(J::Array(a)) => a,
                    Some(other) => {
                        data.insert(k.clone(), other);
                        return Err(msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is not []interface {{}}: {k:?} is not a list"
                        )));
                    }
                };
                let r = self.list_item(&mut list, i, level);
                set(data, &k, J::Array(list));
                r
            }
            Some('=') => {
                if self.mode == Mode::Json {
                    if self.empty_val() {
                        set(data, &k, J::Null);
                        return Ok(());
                    }
                    let v = self.json_val()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(l) => {
                        set(data, &k, J::Array(l));
                        Ok(())
                    }
                    Err(E::Eof) => {
                        set(data, &k, J::String(String::new()));
                        Err(E::Eof)
                    }
                    Err(E::NotList) => {
                        let (rs, _) = self.until(&[',']);
                        set(data, &k, typed(&rs, self.mode == Mode::Str));
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Some(',') => {
                set(data, &k, J::String(String::new()));
                Err(msg(format!("key {k:?} has no value (cannot end with ,)")))
            }
            Some(_) => {
                // '.'
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.remove(&k) {
                    None => Map::new(),
                    Some(J::Object(m)) => m,
                    Some(other) => {
                        data.insert(k.clone(), other);
                        return Err(msg(format!(
                            "unable to parse key: interface conversion: interface {{}} is not map[string]interface {{}}: {k:?} is not a map"
                        )));
                    }
                };
                let e = self.key(&mut inner, level);
                let empty = inner.is_empty();
                if !empty {
                    set(data, &k, J::Object(inner));
                }
                match e {
                    Ok(()) if empty => Err(msg(format!("key map {k:?} has no value"))),
                    other => other,
                }
            }
        }
    }

    fn index(&mut self) -> R<usize> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(E::Eof);
        }
        let i: i64 = v.parse().map_err(|_| {
            msg(format!(
                "error parsing index: strconv.Atoi: parsing {v:?}: invalid syntax"
            ))
        })?;
        if i < 0 {
            return Err(msg(format!("negative {i} index not allowed")));
        }
        Ok(i as usize)
    }

    fn list_item(&mut self, list: &mut Vec<J>, i: usize, level: usize) -> R<()> {
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err(msg(format!("unexpected data at end of array index: {k:?}")));
        }
        match last {
            None => Err(E::Eof),
            Some('=') => {
                if self.mode == Mode::Json {
                    if self.empty_val() {
                        return set_index(list, i, J::Null);
                    }
                    let v = self.json_val()?;
                    set_index(list, i, v)?;
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(l) => set_index(list, i, J::Array(l)),
                    Err(E::Eof) => set_index(list, i, J::String(String::new())),
                    Err(E::NotList) => {
                        let (rs, _) = self.until(&[',']);
                        set_index(list, i, typed(&rs, self.mode == Mode::Str))
                    }
                    Err(e) => Err(e),
                }
            }
            Some('[') => {
                let next = self.index()?;
                let mut cur = match list.get(i) {
                    Some(J::Array(a)) => a.clone(),
                    Some(J::Null) | None => vec![],
                    Some(_) => {
                        return Err(msg(
                            "unable to parse key: interface conversion: interface {} is not []interface {}",
                        ));
                    }
                };
                self.list_item(&mut cur, next, level)?;
                set_index(list, i, J::Array(cur))
            }
            Some(_) => {
                let mut inner = match list.get(i) {
                    Some(J::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                self.key(&mut inner, level)?;
                set_index(list, i, J::Object(inner))
            }
        }
    }

    fn val_list(&mut self) -> R<Vec<J>> {
        match self.read() {
            None => return Err(E::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(E::NotList);
            }
        }
        let mut list = vec![];
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(msg("list must terminate with '}'")),
                Some('}') => {
                    if let Some(c) = self.read()
                        && c != ','
                    {
                        self.unread();
                    }
                    list.push(typed(&rs, self.mode == Mode::Str));
                    return Ok(list);
                }
                Some(_) => list.push(typed(&rs, self.mode == Mode::Str)),
            }
        }
    }

    /// Skips blanks and one comma; true at a comma or the end.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    fn json_val(&mut self) -> R<J> {
        let rest: String = self.s[self.pos..].iter().collect();
        let mut it = serde_json::Deserializer::from_str(&rest).into_iter::<J>();
        match it.next() {
            Some(Ok(v)) => {
                let used = rest[..it.byte_offset()].chars().count();
                self.pos += used;
                Ok(floats(v))
            }
            Some(Err(e)) => Err(msg(e.to_string())),
            None => Err(msg("unexpected end of JSON input")),
        }
    }
}

/// Go decodes JSON numbers into float64.
fn floats(v: J) -> J {
    match v {
        J::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
            .map(J::Number)
            .unwrap_or(J::Null),
        J::Array(a) => J::Array(a.into_iter().map(floats).collect()),
        J::Object(o) => J::Object(o.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

fn set(data: &mut Map<String, J>, k: &str, v: J) {
    if !k.is_empty() {
        data.insert(k.to_string(), v);
    }
}

fn set_index(list: &mut Vec<J>, i: usize, v: J) -> R<()> {
    if i > MAX_INDEX {
        return Err(msg(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        )));
    }
    if list.len() <= i {
        list.resize(i + 1, J::Null);
    }
    list[i] = v;
    Ok(())
}

/// Helm's `mergeMaps` (values files and `--set-json` objects): maps merge, the
/// rest of `b` replaces.
pub fn merge_maps(a: &mut Map<String, J>, b: Map<String, J>) {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(J::Object(av)), J::Object(bv)) => merge_maps(av, bv),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}

/// Values from `-f` files, `--set-json`, `--set` and `--set-string`, merged in
/// Helm's order (files, then JSON, then typed, then strings).
pub fn merge_sources(
    files: &[String],
    set_json: &[String],
    set: &[String],
    set_string: &[String],
) -> Result<Map<String, J>, String> {
    let mut base = Map::new();
    for text in files {
        let m = crate::yaml::values(text)?;
        merge_maps(&mut base, m);
    }
    for v in set_json {
        let t = v.trim();
        if t.starts_with('{') {
            let m: Map<String, J> = serde_json::from_str(t)
                .map_err(|_| format!("failed parsing --set-json data JSON: {v}"))?;
            let m = match floats(J::Object(m)) {
                J::Object(m) => m,
                _ => Map::new(),
            };
            merge_maps(&mut base, m);
        } else {
            parse_json(v, &mut base).map_err(|_| format!("failed parsing --set-json data {v}"))?;
        }
    }
    for v in set {
        parse_into(v, &mut base).map_err(|e| format!("failed parsing --set data: {e}"))?;
    }
    for v in set_string {
        parse_into_string(v, &mut base)
            .map_err(|e| format!("failed parsing --set-string data: {e}"))?;
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Result<J, String> {
        let mut m = Map::new();
        parse_into(s, &mut m)?;
        Ok(J::Object(m))
    }

    #[test]
    fn typed_values_and_paths() {
        let v = set("a.b=c,n=10,f=1.5,z=0,o=010,t=TRUE,x=null,l={1,b},i[1]=q,e=").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a":{"b":"c"},"n":10,"f":"1.5","z":0,"o":"010","t":true,
                "x":null,"l":[1,"b"],"i":[null,"q"],"e":""})
        );
        assert!(v["n"].is_i64());
    }

    #[test]
    fn escapes_and_nesting() {
        let v = set(r"a\.b=c\,d,list[0].name=x,list[0].v=1,m[0][1]=y").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a.b":"c,d","list":[{"name":"x","v":1}],"m":[[null,"y"]]})
        );
    }

    #[test]
    fn errors() {
        assert_eq!(set("a").unwrap_err(), "key \"a\" has no value");
        assert_eq!(
            set("a,b=1").unwrap_err(),
            "key \"a\" has no value (cannot end with ,)"
        );
        assert!(
            set("a[99999999]=1")
                .unwrap_err()
                .contains("maximum supported index")
        );
        assert!(set("a[-1]=1").unwrap_err().contains("negative"));
        assert!(set("a={1,2").unwrap_err().contains("list must terminate"));
        let deep = format!("{}=1", vec!["k"; 40].join("."));
        assert!(set(&deep).unwrap_err().contains("nested level"));
    }

    #[test]
    fn json_and_strings() {
        let mut m = Map::new();
        parse_json(r#"a={"b":[1,2]},c="x""#, &mut m).unwrap();
        parse_into_string("s=10", &mut m).unwrap();
        assert_eq!(
            J::Object(m.clone()),
            serde_json::json!({"a":{"b":[1.0,2.0]},"c":"x","s":"10"})
        );
        assert!(m["a"]["b"][0].is_f64());
    }
}
