//! Civil records: birth, marriage and death certificates as JSON, some
//! with a "scanned" paper original as a multi-page greyscale TIFF drawn
//! here: a page with a border, a printed heading, ruled lines with printed
//! labels and handwritten entries, a stamp, a signature and dust.

use serde::Serialize;

use crate::image::{self, Canvas};
use crate::names::{self, REGIONS};
use crate::population::{Household, Person};
use crate::rng::{Date, Rng};

/// The kinds of certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Birth.
    Birth,
    /// Marriage.
    Marriage,
    /// Death.
    Death,
}

impl Kind {
    /// Folder under `civil/`.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Birth => "births",
            Kind::Marriage => "marriages",
            Kind::Death => "deaths",
        }
    }

    /// Letter of its numbers.
    pub fn letter(self) -> char {
        match self {
            Kind::Birth => 'B',
            Kind::Marriage => 'M',
            Kind::Death => 'D',
        }
    }

    /// Word for titles.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Birth => "Birth",
            Kind::Marriage => "Marriage",
            Kind::Death => "Death",
        }
    }
}

/// A person as a certificate names them.
#[derive(Serialize)]
pub struct Party {
    id: String,
    name: String,
    name_latin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    born: Option<String>,
}

impl Party {
    fn of(p: &Person, with_birth: bool) -> Party {
        Party {
            id: p.code(),
            name: p.name(),
            name_latin: names::latin(&p.name()),
            born: with_birth.then(|| p.born.iso()),
        }
    }
}

/// A certificate's JSON record.
#[derive(Serialize)]
pub struct Certificate {
    certificate: &'static str,
    number: String,
    registry_office: String,
    event_date: String,
    place: String,
    registered: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subjects: Vec<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mother: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    father: Option<Party>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    witnesses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_at_death: Option<i64>,
    registrar: String,
    language: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scan: Option<String>,
}

/// A certificate to write, with what its sidecar needs.
pub struct Issued {
    /// Which kind.
    pub kind: Kind,
    /// Its number, like `B-0000012`.
    pub number: String,
    /// The date of the event.
    pub date: Date,
    /// Who it is about (for the sidecar's relation).
    pub people: Vec<String>,
    /// Its text for the title (names).
    pub about: String,
    /// Region name.
    pub region: &'static str,
    /// The JSON record, the scan's file name set later.
    pub record: Certificate,
}

impl Issued {
    /// The office that issued it.
    pub fn record_office(&self) -> String {
        self.record.registry_office.clone()
    }

    /// The language it is written in.
    pub fn record_language(&self) -> &'static str {
        self.record.language
    }

    /// Names the file of its scan.
    pub fn set_scan(&mut self, file: String) {
        self.record.scan = Some(file);
    }
}

fn office(h: &Household) -> String {
    format!("Civil Registry Office of {}", h.settlement)
}

fn registrar(rng: &mut Rng, h: &Household) -> String {
    let s = names::Surname::random(rng, h.script);
    let male = rng.chance(40);
    names::latin(&format!(
        "{} {}",
        names::given(rng, h.script, male),
        s.form(male)
    ))
}

/// The certificates a household's members have: births of those born in
/// the country (all children, some adults), the couple's marriage, and
/// deaths. `next` numbers them.
pub fn certificates(rng: &mut Rng, h: &Household, next: &mut u64) -> Vec<Issued> {
    let mut out = Vec::new();
    let mut number = |kind: Kind| {
        *next += 1;
        format!("{}-{:07}", kind.letter(), *next)
    };
    let language = h.script.language();
    for p in &h.members {
        let born_here = p.birth_place == h.settlement;
        if born_here || rng.chance(30) {
            let mother = p
                .mother
                .and_then(|id| h.members.iter().find(|m| m.id == id));
            let father = p
                .father
                .and_then(|id| h.members.iter().find(|m| m.id == id));
            out.push(Issued {
                kind: Kind::Birth,
                number: number(Kind::Birth),
                date: p.born,
                people: [Some(p), mother, father]
                    .into_iter()
                    .flatten()
                    .map(Person::code)
                    .collect(),
                about: p.name(),
                region: REGIONS[h.region].name,
                record: Certificate {
                    certificate: "birth",
                    number: String::new(),
                    registry_office: format!("Civil Registry Office of {}", p.birth_place),
                    event_date: p.born.iso(),
                    place: p.birth_place.to_owned(),
                    registered: p.born.plus(rng.range(1, 20)).iso(),
                    subjects: vec![Party::of(p, false)],
                    mother: mother.map(|m| Party::of(m, true)),
                    father: father.map(|f| Party::of(f, true)),
                    witnesses: vec![],
                    age_at_death: None,
                    registrar: registrar(rng, h),
                    language,
                    scan: None,
                },
            });
        }
    }
    if let (Some(date), [a, b, ..]) = (h.married, &h.members[..]) {
        let witnesses = (0..2).map(|_| registrar(rng, h)).collect();
        out.push(Issued {
            kind: Kind::Marriage,
            number: number(Kind::Marriage),
            date,
            people: vec![a.code(), b.code()],
            about: format!("{} and {}", a.name(), b.name()),
            region: REGIONS[h.region].name,
            record: Certificate {
                certificate: "marriage",
                number: String::new(),
                registry_office: office(h),
                event_date: date.iso(),
                place: h.settlement.to_owned(),
                registered: date.iso(),
                subjects: vec![Party::of(a, true), Party::of(b, true)],
                mother: None,
                father: None,
                witnesses,
                age_at_death: None,
                registrar: registrar(rng, h),
                language,
                scan: None,
            },
        });
    }
    for p in &h.members {
        if let Some(died) = p.died {
            out.push(Issued {
                kind: Kind::Death,
                number: number(Kind::Death),
                date: died,
                people: vec![p.code()],
                about: p.name(),
                region: REGIONS[h.region].name,
                record: Certificate {
                    certificate: "death",
                    number: String::new(),
                    registry_office: office(h),
                    event_date: died.iso(),
                    place: h.settlement.to_owned(),
                    registered: died.plus(rng.range(1, 6)).iso(),
                    subjects: vec![Party::of(p, true)],
                    mother: None,
                    father: None,
                    witnesses: vec![],
                    age_at_death: Some(p.born.years_to(died)),
                    registrar: registrar(rng, h),
                    language,
                    scan: None,
                },
            });
        }
    }
    for i in &mut out {
        i.record.number = i.number.clone();
    }
    out
}

/// The scanned original of a certificate: pages of `width` pixels (A4
/// proportions), as TIFF.
pub fn scan(rng: &mut Rng, kind: Kind, number: &str, width: usize) -> Vec<u8> {
    let height = width * 1414 / 1000;
    let pages = if kind == Kind::Marriage { 3 } else { 2 };
    let canvases: Vec<Canvas> = (0..pages)
        .map(|p| page(rng, width, height, p == 0))
        .collect();
    let descriptions: Vec<String> = (0..pages)
        .map(|p| {
            format!(
                "{} certificate {number}, page {} of {pages} (scan of the paper original)",
                kind.word(),
                p + 1
            )
        })
        .collect();
    // A4 is 8.27 inches wide.
    let dpi = (width as u32 * 100).div_ceil(827);
    image::tiff(&canvases, &descriptions, dpi)
}

/// Draws one page: the form on the front, notes and a stamp on the back.
fn page(rng: &mut Rng, w: usize, h: usize, front: bool) -> Canvas {
    let paper = 228 + rng.below(20) as u8;
    let mut c = Canvas::new(w, h, &[paper]);
    let (wi, hi) = (w as i64, h as i64);
    let unit = (wi / 60).max(2);
    let print = [40 + rng.below(20) as u8];
    let ink = [60 + rng.below(40) as u8];
    let rule = [paper.saturating_sub(70)];
    if front {
        // A double border.
        let m = wi / 20;
        outline(&mut c, m, m, wi - m, hi - m, (unit / 3).max(1), &print);
        let m2 = m + unit;
        outline(&mut c, m2, m2, wi - m2, hi - m2, 1, &print);
        // The coat of arms: a shield of circles, and the heading.
        c.circle(wi / 2, m2 + 4 * unit, 2 * unit, &print);
        c.circle(wi / 2, m2 + 4 * unit, 2 * unit - 2, &print);
        words(
            rng,
            &mut c,
            wi / 4,
            m2 + 7 * unit,
            wi / 2,
            unit * 3 / 2,
            &print,
            false,
        );
        words(
            rng,
            &mut c,
            wi / 3,
            m2 + 10 * unit,
            wi / 3,
            unit,
            &print,
            false,
        );
        // Ruled lines: a printed label, then a handwritten entry.
        let mut y = hi / 4;
        while y < hi * 3 / 4 {
            c.line((m2 + 2 * unit, y), (wi - m2 - 2 * unit, y), 1, &rule);
            words(
                rng,
                &mut c,
                m2 + 2 * unit,
                y - unit - 2,
                wi / 5,
                unit * 2 / 3,
                &print,
                false,
            );
            let len =
                (wi / 3 + rng.below((wi / 3) as u64) as i64).min(wi - 2 * m2 - wi / 3 - 4 * unit);
            words(
                rng,
                &mut c,
                m2 + wi / 3,
                y - 2 * unit,
                len,
                unit,
                &ink,
                true,
            );
            y += 3 * unit;
        }
        stamp(rng, &mut c, wi * 3 / 4, hi * 5 / 6, 3 * unit);
        signature(rng, &mut c, wi / 5, hi * 5 / 6, wi / 4, &ink);
    } else {
        let notes = 1 + rng.below(3) as i64;
        for n in 0..notes {
            words(
                rng,
                &mut c,
                wi / 8,
                hi / 8 + n * 3 * unit,
                wi * 2 / 3,
                unit,
                &ink,
                true,
            );
        }
        if rng.chance(70) {
            stamp(rng, &mut c, wi / 2, hi / 2, 3 * unit);
        }
    }
    dust(rng, &mut c);
    c
}

fn outline(c: &mut Canvas, x0: i64, y0: i64, x1: i64, y1: i64, t: i64, ink: &[u8]) {
    c.rect(x0, y0, x1, y0 + t, ink);
    c.rect(x0, y1 - t, x1, y1, ink);
    c.rect(x0, y0, x0 + t, y1, ink);
    c.rect(x1 - t, y0, x1, y1, ink);
}

/// Text-like strokes from `(x, y)` (top left) over `width` pixels, letters
/// `size` high: printed letters upright and even, handwriting slanted and
/// joined.
#[allow(clippy::too_many_arguments)]
fn words(
    rng: &mut Rng,
    c: &mut Canvas,
    x: i64,
    y: i64,
    width: i64,
    size: i64,
    ink: &[u8],
    hand: bool,
) {
    let size = size.max(3);
    let letter = (size * 3 / 5).max(2);
    let end = x + width;
    let mut at = x;
    let base = y + size;
    while at + letter < end {
        let word = 2 + rng.below(8) as i64;
        for _ in 0..word {
            if at + letter >= end {
                break;
            }
            let tall = rng.chance(25);
            let top = if tall { y } else { y + size / 3 };
            let slant = if hand { size / 4 } else { 0 };
            c.line((at + slant, top), (at, base), 1, ink);
            match rng.below(4) {
                0 => c.line((at, base), (at + letter, base), 1, ink),
                1 => c.line((at + slant, top), (at + letter + slant, top), 1, ink),
                2 => c.line((at, base), (at + letter + slant, top), 1, ink),
                _ => c.line((at + letter + slant, top), (at + letter, base), 1, ink),
            }
            if hand {
                c.line(
                    (at + letter, base),
                    (at + letter + letter / 2, base - size / 4),
                    1,
                    ink,
                );
            }
            at += letter + if hand { 0 } else { 1 };
        }
        at += letter + 2;
    }
}

fn stamp(rng: &mut Rng, c: &mut Canvas, x: i64, y: i64, r: i64) {
    let ink = [100 + rng.below(40) as u8];
    let (x, y) = (x + rng.range(-r / 2, r / 2), y + rng.range(-r / 2, r / 2));
    c.circle(x, y, r, &ink);
    c.circle(x, y, r - 1, &ink);
    c.circle(x, y, r * 2 / 3, &ink);
    c.line((x - r / 2, y), (x + r / 2, y), 1, &ink);
}

fn signature(rng: &mut Rng, c: &mut Canvas, x: i64, y: i64, width: i64, ink: &[u8]) {
    let mut p = (x, y);
    let steps = 12 + rng.below(10) as i64;
    for i in 0..steps {
        let q = (
            x + width * (i + 1) / steps,
            y + rng.range(-width / 8, width / 8),
        );
        c.line(p, q, 1, ink);
        p = q;
    }
}

/// Dust and specks: a few hundred dark pixels and some blots.
fn dust(rng: &mut Rng, c: &mut Canvas) {
    let (w, h) = (c.width as u64, c.height as u64);
    for _ in 0..(w * h / 4000).max(10) {
        let v = [40 + rng.below(120) as u8];
        c.set(rng.below(w) as i64, rng.below(h) as i64, &v);
    }
    for _ in 0..3 {
        let (x, y) = (rng.below(w) as i64, rng.below(h) as i64);
        c.rect(x, y, x + 2, y + 2, &[90]);
    }
}
