//! PRONOM's byte sequence syntax, parsed into matchers of our own.
//!
//! The syntax (as in PRONOM's `ByteSequenceValue` and DROID's signature
//! files): hexadecimal byte pairs; `??` any byte; `{n}` exactly n bytes,
//! `{n-m}` between n and m, `{n-*}` and `*` n (or 0) or more; `(a|b|c)`
//! alternatives of fixed-length parts; `[XX:YY]` a byte in a range,
//! `[XX]` one byte, `[!…]` any byte but those, `[&XX]` a byte with every
//! bit of XX set and `~XX` with any of them; `'text'` ASCII bytes.
//! Whitespace is ignored.
//!
//! Matching is bounded: a sequence is matched against a window of at
//! most [`super::WINDOW`] bytes, each gap's start positions are tried at
//! most once (failures are remembered), and every step counts against a
//! [`Budget`] shared by one identification.

/// One byte position of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Atom {
    /// This byte.
    Byte(u8),
    /// Any byte.
    Any,
    /// A byte in this set (a bit per byte value).
    Set(Box<[u64; 4]>),
    /// Several bytes compared as one big-endian number with a range
    /// (`[0000:1000]`, `[!0000]`): in `lo..=hi`, or outside it when
    /// `negate`. `reversed`: the window holds the bytes last first.
    Span {
        /// Lowest value.
        lo: Box<[u8]>,
        /// Highest value.
        hi: Box<[u8]>,
        /// Outside the range instead.
        negate: bool,
        /// Bytes in reverse order (a pattern matched from the end).
        reversed: bool,
    },
}

impl Atom {
    /// Bytes it spans.
    #[inline]
    fn width(&self) -> usize {
        match self {
            Atom::Span { lo, .. } => lo.len(),
            _ => 1,
        }
    }

    /// Whether it matches at the start of `w` (at least `width` bytes).
    #[inline]
    fn matches(&self, w: &[u8]) -> bool {
        match self {
            Atom::Byte(x) => *x == w[0],
            Atom::Any => true,
            Atom::Set(bits) => bits[(w[0] >> 6) as usize] & (1u64 << (w[0] & 63)) != 0,
            Atom::Span {
                lo,
                hi,
                negate,
                reversed,
            } => {
                let w = &w[..lo.len()];
                let inside = if *reversed {
                    let v = w.iter().rev();
                    v.clone().cmp(lo.iter().rev()).is_ge() && v.cmp(hi.iter().rev()).is_le()
                } else {
                    w >= &lo[..] && w <= &hi[..]
                };
                inside != *negate
            }
        }
    }

    fn reversed(&self) -> Atom {
        match self {
            Atom::Span {
                lo,
                hi,
                negate,
                reversed,
            } => Atom::Span {
                lo: lo.iter().rev().copied().collect(),
                hi: hi.iter().rev().copied().collect(),
                negate: *negate,
                reversed: !reversed,
            },
            other => other.clone(),
        }
    }
}

/// Bytes a row of atoms spans.
fn width(atoms: &[Atom]) -> usize {
    atoms.iter().map(Atom::width).sum()
}

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Elem {
    /// Atoms in a row.
    Seq(Vec<Atom>),
    /// Between `min` and `max` bytes of anything (`None`: no limit).
    Gap {
        /// Fewest bytes skipped.
        min: u32,
        /// Most bytes skipped, if bounded.
        max: Option<u32>,
    },
    /// One of these rows of atoms.
    Alt(Vec<Vec<Atom>>),
}

/// A parsed byte sequence value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// Its elements in order.
    pub elems: Vec<Elem>,
}

/// Longest pattern text parsed, and most elements a pattern may have.
const MAX_PATTERN_TEXT: usize = 64 * 1024;

/// Parses PRONOM's syntax; an error says what and where.
pub fn parse(text: &str) -> Result<Pattern, String> {
    if text.len() > MAX_PATTERN_TEXT {
        return Err(format!("pattern longer than {MAX_PATTERN_TEXT} bytes"));
    }
    let b: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut elems: Vec<Elem> = Vec::new();
    let mut i = 0;
    let push_atom = |elems: &mut Vec<Elem>, atom: Atom| match elems.last_mut() {
        Some(Elem::Seq(atoms)) => atoms.push(atom),
        _ => elems.push(Elem::Seq(vec![atom])),
    };
    while i < b.len() {
        match b[i] {
            b'{' => {
                let end = find(&b, i, b'}')?;
                let inner = std::str::from_utf8(&b[i + 1..end]).map_err(|e| e.to_string())?;
                let (min, max) = match inner.split_once('-') {
                    Some((lo, "*")) => (number(lo)?, None),
                    Some((lo, hi)) => (number(lo)?, Some(number(hi)?)),
                    None => {
                        let n = number(inner)?;
                        (n, Some(n))
                    }
                };
                if max.is_some_and(|m| m < min) {
                    return Err(format!("gap {{{inner}}} has its maximum below its minimum"));
                }
                elems.push(Elem::Gap { min, max });
                i = end + 1;
            }
            b'*' => {
                elems.push(Elem::Gap { min: 0, max: None });
                i += 1;
            }
            b'(' => {
                let end = find(&b, i, b')')?;
                let mut options = Vec::new();
                for part in b[i + 1..end].split(|&c| c == b'|') {
                    let mut atoms = Vec::new();
                    let mut j = 0;
                    while j < part.len() {
                        let (atom, used) = atom(part, j)?;
                        atoms.push(atom);
                        j += used;
                    }
                    options.push(atoms);
                }
                if options.iter().all(|o| o.is_empty()) {
                    return Err("empty alternatives".into());
                }
                elems.push(Elem::Alt(options));
                i = end + 1;
            }
            _ => {
                if b[i] == b'\'' {
                    let end = find(&b, i, b'\'')?;
                    for &c in &b[i + 1..end] {
                        push_atom(&mut elems, Atom::Byte(c));
                    }
                    i = end + 1;
                    continue;
                }
                let (a, used) = atom(&b, i)?;
                push_atom(&mut elems, a);
                i += used;
            }
        }
    }
    if elems.is_empty() {
        return Err("empty pattern".into());
    }
    Ok(Pattern { elems })
}

fn find(b: &[u8], from: usize, close: u8) -> Result<usize, String> {
    b[from + 1..]
        .iter()
        .position(|&c| c == close)
        .map(|p| from + 1 + p)
        .ok_or_else(|| format!("no closing {:?} after byte {from}", close as char))
}

fn number(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|_| format!("{s:?} is not a number"))
}

fn hex_byte(b: &[u8], i: usize) -> Result<u8, String> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    match (
        b.get(i).copied().and_then(digit),
        b.get(i + 1).copied().and_then(digit),
    ) {
        (Some(h), Some(l)) => Ok(h << 4 | l),
        _ => Err(format!(
            "expected two hexadecimal digits at byte {i}, found {:?}",
            String::from_utf8_lossy(&b[i..b.len().min(i + 2)])
        )),
    }
}

/// One atom at `b[i..]`: a hex pair, `??`, `[…]` or `~XX`; returns it and
/// the bytes it took.
fn atom(b: &[u8], i: usize) -> Result<(Atom, usize), String> {
    match b[i] {
        b'?' if b.get(i + 1) == Some(&b'?') => Ok((Atom::Any, 2)),
        b'~' => {
            let mask = hex_byte(b, i + 1)?;
            Ok((set_where(|x| x & mask != 0), 3))
        }
        b'[' => {
            let end = find(b, i, b']')?;
            let mut inner = &b[i + 1..end];
            let negate = inner.first() == Some(&b'!');
            if negate {
                inner = &inner[1..];
            }
            let pred: Box<dyn Fn(u8) -> bool> = if inner.first() == Some(&b'&') {
                let mask = hex_byte(inner, 1)?;
                if inner.len() != 3 {
                    return Err("a [&XX] mask takes one byte".into());
                }
                Box::new(move |x| x & mask == mask)
            } else if inner.first() == Some(&b'~') {
                let mask = hex_byte(inner, 1)?;
                Box::new(move |x| x & mask != 0)
            } else if inner.len() == 5 && inner[2] == b':' {
                let (lo, hi) = (hex_byte(inner, 0)?, hex_byte(inner, 3)?);
                let (lo, hi) = (lo.min(hi), lo.max(hi));
                Box::new(move |x| (lo..=hi).contains(&x))
            } else if inner.len() == 2 {
                let v = hex_byte(inner, 0)?;
                Box::new(move |x| x == v)
            } else if inner.len() >= 4 && inner.len().is_multiple_of(2) && !inner.contains(&b':') {
                let v = hex_bytes(inner)?;
                let atom = Atom::Span {
                    lo: v.clone().into(),
                    hi: v.into(),
                    negate,
                    reversed: false,
                };
                return Ok((atom, end + 1 - i));
            } else if let Some(c) = inner
                .iter()
                .position(|&x| x == b':')
                .filter(|&c| c >= 4 && c * 2 + 1 == inner.len())
            {
                let (lo, hi) = (hex_bytes(&inner[..c])?, hex_bytes(&inner[c + 1..])?);
                let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
                let atom = Atom::Span {
                    lo: lo.into(),
                    hi: hi.into(),
                    negate,
                    reversed: false,
                };
                return Ok((atom, end + 1 - i));
            } else {
                return Err(format!(
                    "unsupported byte class [{}]",
                    String::from_utf8_lossy(&b[i + 1..end])
                ));
            };
            Ok((set_where(|x| pred(x) != negate), end + 1 - i))
        }
        _ => Ok((Atom::Byte(hex_byte(b, i)?), 2)),
    }
}

fn hex_bytes(b: &[u8]) -> Result<Vec<u8>, String> {
    if !b.len().is_multiple_of(2) {
        return Err("an odd number of hexadecimal digits".into());
    }
    (0..b.len()).step_by(2).map(|i| hex_byte(b, i)).collect()
}

fn set_where(pred: impl Fn(u8) -> bool) -> Atom {
    let mut bits = [0u64; 4];
    for x in 0..=255u8 {
        if pred(x) {
            bits[(x >> 6) as usize] |= 1u64 << (x & 63);
        }
    }
    Atom::Set(Box::new(bits))
}

impl Pattern {
    /// Every run of three or more literal bytes in the pattern, in the
    /// order the bytes appear in a file (call before [`Pattern::reversed`]).
    pub fn literal_runs(&self) -> Vec<Vec<u8>> {
        let mut runs = Vec::new();
        for e in &self.elems {
            if let Elem::Seq(atoms) = e {
                let mut run = Vec::new();
                for a in atoms.iter().chain(std::iter::once(&Atom::Any)) {
                    match a {
                        Atom::Byte(b) => run.push(*b),
                        _ => {
                            if run.len() >= 3 {
                                runs.push(std::mem::take(&mut run));
                            }
                            run.clear();
                        }
                    }
                }
            }
        }
        runs
    }

    /// For each set of alternatives whose every option has three or more
    /// literal bytes in a row: those runs, one an option (a match holds
    /// one of them).
    pub fn alternative_runs(&self) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for e in &self.elems {
            if let Elem::Alt(options) = e {
                let runs: Vec<Vec<u8>> = options
                    .iter()
                    .filter_map(|o| {
                        Pattern {
                            elems: vec![Elem::Seq(o.clone())],
                        }
                        .literal_runs()
                        .into_iter()
                        .next()
                    })
                    .collect();
                if runs.len() == options.len() {
                    out.push(runs);
                }
            }
        }
        out
    }

    /// The same pattern read backwards, for matching from the end of a
    /// file on a reversed window.
    pub fn reversed(&self) -> Pattern {
        let elems = self
            .elems
            .iter()
            .rev()
            .map(|e| match e {
                Elem::Seq(atoms) => Elem::Seq(atoms.iter().rev().map(Atom::reversed).collect()),
                Elem::Alt(options) => Elem::Alt(
                    options
                        .iter()
                        .map(|o| o.iter().rev().map(Atom::reversed).collect())
                        .collect(),
                ),
                gap => gap.clone(),
            })
            .collect();
        Pattern { elems }
    }

    /// The pattern with a leading gap of `min..=max` bytes (an anchor's
    /// offset range).
    pub fn after_gap(&self, min: u32, max: Option<u32>) -> Pattern {
        let mut elems = Vec::with_capacity(self.elems.len() + 1);
        if min != 0 || max != Some(0) {
            elems.push(Elem::Gap { min, max });
        }
        elems.extend(self.elems.iter().cloned());
        Pattern { elems }
    }

    /// The byte a match must start with, when the pattern opens with one.
    pub fn first_byte(&self) -> Option<u8> {
        match self.elems.first() {
            Some(Elem::Seq(atoms)) => match atoms.first() {
                Some(Atom::Byte(b)) => Some(*b),
                _ => None,
            },
            _ => None,
        }
    }

    /// The fewest bytes a match spans (gaps at their minimum, the
    /// narrowest alternative): a window shorter than this cannot match.
    pub fn min_width(&self) -> usize {
        self.elems
            .iter()
            .map(|e| match e {
                Elem::Seq(atoms) => width(atoms),
                Elem::Gap { min, .. } => *min as usize,
                Elem::Alt(options) => options.iter().map(|o| width(o)).min().unwrap_or(0),
            })
            .sum()
    }

    /// The bytes a match must have at fixed positions from its start:
    /// the literal bytes of the pattern's leading part where every
    /// element before them has one width (fixed gaps, alternatives of
    /// one width), as `(position, byte)`.
    pub fn fixed_bytes(&self) -> Vec<(usize, u8)> {
        let mut out = Vec::new();
        let mut pos = 0usize;
        for e in &self.elems {
            match e {
                Elem::Seq(atoms) => {
                    for a in atoms {
                        if let Atom::Byte(b) = a {
                            out.push((pos, *b));
                        }
                        pos += a.width();
                    }
                }
                Elem::Gap { min, max } if *max == Some(*min) => pos += *min as usize,
                Elem::Alt(options) => {
                    let w = width(&options[0]);
                    if options.iter().any(|o| width(o) != w) {
                        break;
                    }
                    pos += w;
                }
                Elem::Gap { .. } => break,
            }
        }
        out
    }

    /// Whether the pattern matches `data` starting at its first byte
    /// (trailing bytes are free). `false` too when the budget runs out.
    pub fn matches_at_start(&self, data: &[u8], budget: &mut Budget) -> bool {
        let mut failed = None;
        self.go(0, 0, data, budget, &mut failed)
    }

    fn go(
        &self,
        i: usize,
        pos: usize,
        data: &[u8],
        budget: &mut Budget,
        failed: &mut Option<Failed>,
    ) -> bool {
        let Some(elem) = self.elems.get(i) else {
            return true;
        };
        if !budget.spend(1) {
            return false;
        }
        match elem {
            Elem::Seq(atoms) => {
                seq_at(atoms, data, pos) && self.go(i + 1, pos + width(atoms), data, budget, failed)
            }
            Elem::Alt(options) => options.iter().any(|o| {
                seq_at(o, data, pos) && self.go(i + 1, pos + width(o), data, budget, failed)
            }),
            Elem::Gap { min, max } => {
                // A leading gap is entered once (at 0) and needs no
                // memory of failures, nor its allocation.
                if i > 0 {
                    let seen = failed.get_or_insert_with(Failed::default);
                    // Past MAX_MEMO entries failures are no longer
                    // remembered: memory stays bounded, and time is the
                    // budget's.
                    if seen.contains(&(i as u32, pos as u32)) {
                        return false;
                    }
                    if seen.len() < MAX_MEMO {
                        seen.insert((i as u32, pos as u32));
                    }
                }
                let first = pos + *min as usize;
                if first > data.len() {
                    return false;
                }
                let last = match max {
                    Some(m) => (pos + *m as usize).min(data.len()),
                    None => data.len(),
                };
                // Where the next element starts with a known byte, jump
                // to its occurrences.
                let lead = match self.elems.get(i + 1) {
                    Some(Elem::Seq(atoms)) => match atoms.first() {
                        Some(Atom::Byte(b)) => Some(*b),
                        _ => None,
                    },
                    None => return true,
                    _ => None,
                };
                let mut p = first;
                while p <= last {
                    if let Some(b) = lead {
                        if p >= data.len() {
                            return false;
                        }
                        let end = last.min(data.len() - 1);
                        match memchr::memchr(b, &data[p..=end]) {
                            Some(k) => p += k,
                            None => return false,
                        }
                    }
                    if !budget.spend(1) {
                        return false;
                    }
                    if self.go(i + 1, p, data, budget, failed) {
                        return true;
                    }
                    p += 1;
                }
                false
            }
        }
    }
}

/// Most failures one match remembers (about 16 MB).
const MAX_MEMO: usize = 1 << 20;

/// The (gap, position) pairs already tried and failed, hashed cheaply
/// (the keys are our own small numbers, not attacker-chosen strings; a
/// collision costs time bounded by the budget, never a wrong answer,
/// since only exact keys are compared).
type Failed = std::collections::HashSet<(u32, u32), std::hash::BuildHasherDefault<PairHasher>>;

/// A multiplicative hasher for `(u32, u32)` keys.
#[derive(Default)]
pub struct PairHasher(u64);

impl std::hash::Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(32) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[inline]
fn seq_at(atoms: &[Atom], data: &[u8], pos: usize) -> bool {
    let Some(mut window) = data.get(pos..) else {
        return false;
    };
    for a in atoms {
        let w = a.width();
        if window.len() < w || !a.matches(window) {
            return false;
        }
        window = &window[w..];
    }
    true
}

/// Steps an identification may take in all its matchers: past it, the
/// signatures not yet tried count as not matching and the result says
/// the search was cut short.
#[derive(Debug)]
pub struct Budget {
    left: u64,
    /// Whether it ran out.
    pub exhausted: bool,
}

impl Budget {
    /// A budget of `steps`.
    pub fn new(steps: u64) -> Budget {
        Budget {
            left: steps,
            exhausted: false,
        }
    }
    #[inline]
    fn spend(&mut self, n: u64) -> bool {
        if self.left < n {
            self.exhausted = true;
            self.left = 0;
            return false;
        }
        self.left -= n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, data: &[u8]) -> bool {
        parse(pattern)
            .unwrap()
            .matches_at_start(data, &mut Budget::new(1_000_000))
    }

    #[test]
    fn syntax_parses_and_matches() {
        assert!(m("89504E47", b"\x89PNG rest"));
        assert!(!m("89504E47", b"\x89PNx"));
        assert!(!m("89504E47", b"\x89PN"));
        assert!(m("41??43", b"AxC"));
        assert!(m("41{2}44", b"A..D"));
        assert!(!m("41{2}44", b"A.D"));
        assert!(m("41{1-3}44", b"A...D"));
        assert!(!m("41{1-3}44", b"A....D"));
        assert!(m("41{2-*}44", b"A.......D"));
        assert!(!m("41{2-*}44", b"A.D"));
        assert!(m("41*4445", b"A..D..DE"));
        assert!(m("41(42|4344)45", b"ACDE"));
        assert!(m("41(42|4344)45", b"ABE"));
        assert!(!m("41(42|4344)45", b"ACE"));
        assert!(m("[30:39][!41]", b"5B"));
        assert!(!m("[30:39][!41]", b"5A"));
        assert!(m("[&81]", b"\x8f"));
        assert!(!m("[&81]", b"\x0f"));
        assert!(m("[!&81]", b"\x0f"));
        assert!(m("~81", b"\x01"));
        assert!(m("'PK' 0304", b"PK\x03\x04"));
        assert!(m("49 49 2a 00", b"II*\0"));
        // A bounded gap whose first candidate fails must try the next.
        assert!(m("41{0-4}4243{0-1}44", b"AB.BCD"));
        assert!(m("(4142|41)43", b"AC"));
        // Multi-byte classes compare big-endian numbers.
        assert!(m("41[0000:1000]", b"A\x0f\xff"));
        assert!(!m("41[0000:1000]", b"A\x10\x01"));
        assert!(m("[!0000]", b"\x00\x01"));
        assert!(!m("[!0000]", b"\x00\x00"));
        // What every match must have.
        let p = parse("41{2}(4243|4445)??46{1-2}47").unwrap();
        assert_eq!(p.min_width(), 1 + 2 + 2 + 1 + 1 + 1 + 1);
        assert_eq!(p.fixed_bytes(), [(0, 0x41), (6, 0x46)]);
        assert_eq!(
            p.after_gap(3, Some(3)).fixed_bytes(),
            [(3, 0x41), (9, 0x46)]
        );
        assert!(p.after_gap(0, Some(3)).fixed_bytes().is_empty());
        assert!(p.alternative_runs().is_empty());
        let p = parse("3C(48544D4C|68746D6C)(41|42)").unwrap();
        assert_eq!(
            p.alternative_runs(),
            [vec![b"HTML".to_vec(), b"html".to_vec()]]
        );
        let rev = parse("[0100:0200]").unwrap().reversed();
        assert!(rev.matches_at_start(b"\xff\x01", &mut Budget::new(10)));
        assert!(!rev.matches_at_start(b"\x01\x02", &mut Budget::new(10)));
    }

    #[test]
    fn bad_syntax_is_an_error() {
        for bad in [
            "", "4", "GG", "{1", "(41", "[1:2]", "{3-1}", "[41", "{x}", "()",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn any_text_parses_or_fails_without_panic() {
        let alphabet = b"0123456789ABCDEFabcdef?{}-*()|[]!:&~' x";
        let mut x = 88172645463325252u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((x >> (i % 8 * 8)) as usize + i) % alphabet.len()] as char)
                .collect();
            if let Ok(p) = parse(&text) {
                let _ = p
                    .reversed()
                    .matches_at_start(b"ABCDEF0123", &mut Budget::new(10_000));
            }
        }
    }

    #[test]
    fn reversed_matches_from_the_end() {
        let p = parse("2525454F(46|460A)")
            .unwrap()
            .reversed()
            .after_gap(0, Some(4));
        let mut file = b"%PDF ... %%EOF\n".to_vec();
        file.reverse();
        assert!(p.matches_at_start(&file, &mut Budget::new(1000)));
        let mut far = b"%%EOF\n.......".to_vec();
        far.reverse();
        assert!(!p.matches_at_start(&far, &mut Budget::new(1000)));
    }

    #[test]
    fn hostile_patterns_stop_within_the_budget() {
        // Many unbounded gaps over a long run of one byte and no match:
        // without remembering failures this is exponential.
        let p = parse("41*41*41*41*41*41*41*41*42")
            .unwrap()
            .after_gap(0, None);
        let data = vec![b'A'; 64 * 1024];
        let mut budget = Budget::new(5_000_000);
        assert!(!p.matches_at_start(&data, &mut budget));
        let mut small = Budget::new(1000);
        assert!(!p.matches_at_start(&data, &mut small));
        assert!(small.exhausted);
    }
}
