//! The syntax check of Go's `encoding/json`, for its error texts: the first invalid
//! character and what the scanner was looking for (`invalid character 'b' looking for
//! beginning of object key string`), or `unexpected end of JSON input`.

struct Scan<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

type R = Result<(), String>;

fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = crate::gofmt::quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

impl Scan<'_> {
    fn err(&self, context: &str) -> String {
        match self.s[self.i.min(self.s.len())..].chars().next() {
            None => "unexpected end of JSON input".into(),
            Some(c) => format!("invalid character {} {context}", quote_char(c)),
        }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> R {
        if depth > 10000 {
            return Err("exceeded max depth".into());
        }
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_CHUNK, || {
            self.value_inner(depth)
        })
    }

    fn value_inner(&mut self, depth: usize) -> R {
        self.ws();
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("looking for beginning of object key string"));
                    }
                    self.string()?;
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("after object key"));
                    }
                    self.i += 1;
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("after object key:value pair")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("after array element")),
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str) -> R {
        for w in word.bytes() {
            if self.peek() != Some(w) {
                return Err(self.err(&format!("in literal {word} (expecting '{}')", w as char)));
            }
            self.i += 1;
        }
        Ok(())
    }

    fn string(&mut self) -> R {
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err(self.err("")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return Err(self.err("in \\u hexadecimal character escape"));
                                }
                                self.i += 1;
                            }
                        }
                        _ => return Err(self.err("in string escape code")),
                    }
                }
                Some(c) if c < 0x20 => return Err(self.err("in string literal")),
                Some(_) => self.i += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> R {
        if self.peek() == Some(b'-') {
            self.i += 1;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.err("in numeric literal"));
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("after decimal point in numeric literal"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("in exponent of numeric literal"));
            }
        }
        Ok(())
    }
}

/// Checks `s` as Go's `json.Unmarshal` would; `Err` holds Go's message.
pub fn check(s: &str) -> Result<(), String> {
    let mut sc = Scan {
        b: s.as_bytes(),
        s,
        i: 0,
    };
    sc.value(0)?;
    sc.ws();
    if sc.i < sc.b.len() {
        return Err(sc.err("after top-level value"));
    }
    Ok(())
}

/// Go's name of a JSON value's kind in `cannot unmarshal X into ...` messages.
pub fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}
