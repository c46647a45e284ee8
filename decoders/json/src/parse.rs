//! A strict RFC 8259 JSON parser that keeps members in order and numbers
//! as written.

use legation_decoder_sdk::DecodeError;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A JSON value. Objects keep their members in order, duplicates
/// included; numbers keep their text, so nothing is lost or rounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members, in order.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// Whether this is neither an array nor an object.
    pub fn is_scalar(&self) -> bool {
        !matches!(self, Value::Array(_) | Value::Object(_))
    }
}

/// Parses one JSON text (UTF-8, an optional byte order mark, one value
/// with whitespace around it).
pub fn parse(input: &[u8]) -> Result<Value, DecodeError> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let text = match std::str::from_utf8(input) {
        Ok(text) => text,
        Err(error) => {
            let at = error.valid_up_to();
            let mut parser = Parser {
                bytes: input,
                text: "",
                pos: at,
            };
            return Err(parser.error("bytes that are not UTF-8"));
        }
    };
    let mut parser = Parser {
        bytes: input,
        text,
        pos: 0,
    };
    parser.whitespace();
    let value = parser.value(0)?;
    parser.whitespace();
    if parser.pos < input.len() {
        return Err(parser.error("more after the end of the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    /// The same bytes, known to be UTF-8, for slicing out runs cut at
    /// ASCII bytes without validating them again.
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    /// An error naming the line and column (in characters) of `pos`.
    fn error(&mut self, what: &str) -> DecodeError {
        let before = &self.bytes[..self.pos.min(self.bytes.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        // Count characters, not bytes: skip UTF-8 continuation bytes.
        let column = before[line_start..]
            .iter()
            .filter(|&&b| b & 0xc0 != 0x80)
            .count()
            + 1;
        DecodeError::new(format!("JSON: {what} at line {line}, column {column}"))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("the text ends where a value was expected")),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, DecodeError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn nested(&mut self, depth: usize) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.pos += 1;
        self.whitespace();
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.nested(depth)?;
        let mut members = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name in double quotes"));
            }
            let name = self.string()?;
            self.whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after a member name"));
            }
            self.pos += 1;
            self.whitespace();
            let value = self.value(depth)?;
            members.push((name, value));
            self.whitespace();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.whitespace();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, DecodeError> {
        self.nested(depth)?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.whitespace();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.whitespace();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Value, DecodeError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit after the decimal point"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(Value::Number(self.text[start..self.pos].to_owned()))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control
            // character in one piece.
            let run = self.bytes[self.pos..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(self.bytes.len() - self.pos);
            // The run stops at ASCII bytes only.
            out.push_str(&self.text[self.pos..self.pos + run]);
            self.pos += run;
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            out.push(self.unicode_escape()?);
                            continue;
                        }
                        _ => return Err(self.error("unknown escape in a string")),
                    };
                    self.pos += 1;
                    out.push(escaped);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("the text ends inside a string")),
            }
        }
    }

    /// The character of a `\u` escape whose four digits start at `pos`,
    /// with the second half of a surrogate pair if it needs one.
    fn unicode_escape(&mut self) -> Result<char, DecodeError> {
        let first = self.hex4()?;
        let code = match first {
            0xd800..=0xdbff => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("unpaired surrogate in a \\u escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err(self.error("unpaired surrogate in a \\u escape"));
                }
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(self.error("unpaired surrogate in a \\u escape")),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| self.error("bad \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let digits = self.bytes.get(self.pos..self.pos + 4);
        let value = digits.and_then(|d| {
            d.iter().try_fold(0u32, |value, &b| {
                (b as char).to_digit(16).map(|digit| value << 4 | digit)
            })
        });
        match value {
            Some(value) => {
                self.pos += 4;
                Ok(value)
            }
            None => Err(self.error("expected four hex digits after \\u")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Value {
        parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &[u8]) -> String {
        parse(text).unwrap_err().into_message()
    }

    #[test]
    fn values() {
        assert_eq!(
            ok(r#" {"a": [1, -2.5e+3, true, false, null, "x"], "a": {}} "#),
            Value::Object(vec![
                (
                    "a".into(),
                    Value::Array(vec![
                        Value::Number("1".into()),
                        Value::Number("-2.5e+3".into()),
                        Value::Bool(true),
                        Value::Bool(false),
                        Value::Null,
                        Value::String("x".into()),
                    ])
                ),
                ("a".into(), Value::Object(vec![])),
            ])
        );
        assert_eq!(ok("0"), Value::Number("0".into()));
        assert_eq!(ok("\u{feff}[]"), Value::Array(vec![]));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            ok(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é""#),
            Value::String("a\"\\/\u{8}\u{c}\n\r\té😀é".into())
        );
    }

    #[test]
    fn refusals_say_where() {
        assert_eq!(err(b"[1,]"), "JSON: expected a value at line 1, column 4");
        assert_eq!(
            err(b"{\n  \"a\": 1,\n  b: 2}"),
            "JSON: expected a member name in double quotes at line 3, column 3"
        );
        assert_eq!(
            err(b"\"\xc3\xa9\" x"),
            "JSON: more after the end of the JSON value at line 1, column 5"
        );
        for (text, what) in [
            (&b"01"[..], "more after the end"),
            (b"1.", "after the decimal point"),
            (b"1e", "in the exponent"),
            (b"-", "expected a digit"),
            (b"+1", "expected a value"),
            (b"tru", "expected a value"),
            (b"\"a", "ends inside a string"),
            (b"\"a\nb\"", "control character"),
            (b"\"\\x\"", "unknown escape"),
            (b"\"\\u12\"", "four hex digits"),
            (b"\"\\ud800\"", "unpaired surrogate"),
            (b"\"\\udc00\"", "unpaired surrogate"),
            (b"\"\\ud800\\u0041\"", "unpaired surrogate"),
            (b"[1 2]", "expected ',' or ']'"),
            (b"{\"a\" 1}", "expected ':'"),
            (b"{\"a\":1 \"b\":2}", "expected ',' or '}'"),
            (b"", "ends where a value"),
            (b"[\xff]", "not UTF-8"),
            (b"NaN", "expected a value"),
        ] {
            let message = err(text);
            assert!(message.contains(what), "{text:?}: {message}");
        }
    }

    #[test]
    fn depth_is_limited() {
        let deep = |n| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(deep(MAX_DEPTH).as_bytes()).is_ok());
        assert!(err(deep(MAX_DEPTH + 1).as_bytes()).contains("nesting deeper than 128"));
        // Far deeper input fails fast, without exhausting the stack.
        assert!(parse(deep(1_000_000).as_bytes()).is_err());
        let objects = "{\"a\":".repeat(200) + "1" + &"}".repeat(200);
        assert!(parse(objects.as_bytes()).is_err());
    }
}
