//! Households and the people in them: names, dates, addresses and family
//! links, generated one household at a time so that memory does not grow
//! with the number of people. Every link (spouse, parent, child) names a
//! person generated in the same household, so every link resolves.

use serde::Serialize;

use crate::names::{self, Script, Surname, REGIONS};
use crate::rng::{Date, Rng};

/// The day the register extract was taken.
pub fn as_of() -> Date {
    Date::ymd(2026, 1, 15)
}

/// A person as the register holds them.
#[derive(Debug, Clone)]
pub struct Person {
    /// Register number, from 1.
    pub id: u64,
    /// Given name.
    pub given: &'static str,
    /// Family name in its gendered form.
    pub family: String,
    /// Script of the names.
    pub script: Script,
    /// Male (`M`) or female (`F`).
    pub male: bool,
    /// Date of birth.
    pub born: Date,
    /// Place of birth.
    pub birth_place: &'static str,
    /// Date of death, for the deceased.
    pub died: Option<Date>,
    /// Spouse's id.
    pub spouse: Option<u64>,
    /// Mother's id.
    pub mother: Option<u64>,
    /// Father's id.
    pub father: Option<u64>,
    /// Children's ids.
    pub children: Vec<u64>,
}

impl Person {
    /// `P0000042`.
    pub fn code(&self) -> String {
        code(self.id)
    }

    /// Given and family name.
    pub fn name(&self) -> String {
        format!("{} {}", self.given, self.family)
    }

    /// The personal number: date of birth `YYMMDD`, a serial and a check
    /// digit (weights 7, 3, 1 repeated, sum modulo 10).
    pub fn personal_number(&self) -> String {
        let (y, m, d) = self.born.parts();
        let body = format!("{:02}{m:02}{d:02}{:03}", y % 100, self.id % 1000);
        let sum: u32 = body
            .bytes()
            .zip([7, 3, 1].iter().cycle())
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        format!("{}-{}{}", &body[..6], &body[6..], sum % 10)
    }
}

/// `P` and seven digits.
pub fn code(id: u64) -> String {
    format!("P{id:07}")
}

/// A household at one address.
#[derive(Debug, Clone)]
pub struct Household {
    /// Index into [`REGIONS`].
    pub region: usize,
    /// Settlement name.
    pub settlement: &'static str,
    /// Its postcode.
    pub postcode: &'static str,
    /// Street.
    pub street: &'static str,
    /// House number.
    pub house: String,
    /// The community.
    pub script: Script,
    /// Its members: the head first, then a spouse, parents, children.
    pub members: Vec<Person>,
    /// Date of the couple's marriage, if the first two members married.
    pub married: Option<Date>,
}

/// Makes households until `total` people exist, numbering them from 1.
pub struct Households {
    rng: Rng,
    next_id: u64,
    total: u64,
}

/// Local link between members, resolved to ids once the household is cut
/// to the people left to generate.
struct Draft {
    given: &'static str,
    surname: Surname,
    male: bool,
    born: Date,
    birth_place: &'static str,
    died: Option<Date>,
    spouse: Option<usize>,
    mother: Option<usize>,
    father: Option<usize>,
}

impl Households {
    /// Households of `total` people from stream `stream` of `seed`.
    pub fn new(seed: u64, stream: u64, total: u64) -> Households {
        Households {
            rng: Rng::new(seed, stream),
            next_id: 1,
            total,
        }
    }

    fn place(rng: &mut Rng) -> &'static str {
        let region = &REGIONS[rng.weighted(&REGIONS.map(|r| r.weight))];
        rng.pick(region.settlements).0
    }
}

impl Iterator for Households {
    type Item = Household;

    fn next(&mut self) -> Option<Household> {
        if self.next_id > self.total {
            return None;
        }
        let rng = &mut self.rng;
        let today = as_of();
        let region = rng.weighted(&REGIONS.map(|r| r.weight));
        let r = &REGIONS[region];
        let script = [Script::Latin, Script::Cyrillic, Script::Greek][rng.weighted(&r.communities)];
        let &(settlement, postcode) = rng.pick(r.settlements);
        let street = names::street(rng, script);
        let mut house = rng.range(1, 140).to_string();
        if rng.chance(8) {
            house.push(['a', 'b', 'c'][rng.below(3) as usize]);
        }
        let surname = Surname::random(rng, script);
        // Single, couple, family, single parent, family with a widowed
        // grandparent.
        let kind = rng.weighted(&[22, 18, 42, 10, 8]);
        let mut drafts: Vec<Draft> = Vec::new();
        let head_male = kind != 3 && (kind != 0 || rng.chance(50));
        let head_born = Date::between(rng, Date::ymd(1938, 1, 1), Date::ymd(2004, 12, 31));
        let head_place = Self::place(rng);
        drafts.push(Draft {
            given: names::given(rng, script, head_male),
            surname,
            male: head_male,
            born: head_born,
            birth_place: head_place,
            died: None,
            spouse: None,
            mother: None,
            father: None,
        });
        let mut married = None;
        let couple = matches!(kind, 1 | 2 | 4) && head_born.year() <= 2000;
        if couple {
            // The spouse is of the other sex, within a few years of age,
            // and takes the family name in its female form.
            let born = head_born.plus(rng.range(-4 * 365, 6 * 365));
            let born = born.min(Date::ymd(2004, 12, 31));
            let older = head_born.min(born);
            let younger = head_born.max(born);
            let from = younger.plus(19 * 365);
            married = Some(Date::between(rng, from, from.plus(12 * 365).min(today)));
            let _ = older;
            let place = Self::place(rng);
            drafts.push(Draft {
                given: names::given(rng, script, false),
                surname,
                male: false,
                born,
                birth_place: place,
                died: None,
                spouse: Some(0),
                mother: None,
                father: None,
            });
            drafts[0].spouse = Some(1);
        }
        if kind == 4 {
            // A parent of the head, often deceased.
            let male = rng.chance(40);
            let born = head_born.plus(-rng.range(22 * 365, 38 * 365));
            let died = rng
                .chance(35)
                .then(|| Date::between(rng, Date::ymd(2005, 1, 1), today));
            let place = Self::place(rng);
            let at = drafts.len();
            drafts.push(Draft {
                given: names::given(rng, script, male),
                surname,
                male,
                born,
                birth_place: place,
                died,
                spouse: None,
                mother: None,
                father: None,
            });
            if male {
                drafts[0].father = Some(at);
            } else {
                drafts[0].mother = Some(at);
            }
        }
        if (2..=4).contains(&kind) {
            let mother = if couple {
                Some(1)
            } else {
                (!head_male).then_some(0)
            };
            let father = if couple || head_male { Some(0) } else { None };
            let mother_born = mother.map_or(head_born, |m| drafts[m].born);
            let count = 1 + rng.weighted(&[35, 40, 18, 7]);
            let start = married
                .unwrap_or(mother_born.plus(20 * 365))
                .max(mother_born.plus(18 * 365));
            let end = mother_born.plus(44 * 365).min(today.plus(-30));
            for _ in 0..count {
                if start > end {
                    break;
                }
                let male = rng.chance(51);
                let born = Date::between(rng, start, end);
                drafts.push(Draft {
                    given: names::given(rng, script, male),
                    surname,
                    male,
                    born,
                    birth_place: settlement,
                    died: None,
                    spouse: None,
                    mother,
                    father,
                });
            }
        }
        // A few of the old have died; the register keeps them.
        for d in &mut drafts {
            if d.died.is_none() && d.born.year() < 1950 && rng.chance(20) {
                let from = d.born.plus(60 * 365).max(Date::ymd(1995, 1, 1));
                d.died = Some(Date::between(rng, from, today));
            }
        }
        let left = (self.total - self.next_id + 1) as usize;
        drafts.truncate(left);
        let base = self.next_id;
        self.next_id += drafts.len() as u64;
        let id = |i: Option<usize>| i.filter(|&i| i < drafts.len()).map(|i| base + i as u64);
        let members: Vec<Person> = drafts
            .iter()
            .enumerate()
            .map(|(i, d)| Person {
                id: base + i as u64,
                given: d.given,
                family: d.surname.form(d.male),
                script,
                male: d.male,
                born: d.born,
                birth_place: d.birth_place,
                died: d.died,
                spouse: id(d.spouse),
                mother: id(d.mother),
                father: id(d.father),
                children: drafts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.mother == Some(i) || c.father == Some(i))
                    .map(|(j, _)| base + j as u64)
                    .collect(),
            })
            .collect();
        let married = married.filter(|_| members.len() >= 2 && members[1].spouse.is_some());
        Some(Household {
            region,
            settlement,
            postcode,
            street,
            house,
            script,
            members,
            married,
        })
    }
}

/// The columns of the register CSV.
pub const CSV_COLUMNS: [&str; 18] = [
    "id",
    "personal_number",
    "given_name",
    "family_name",
    "name_latin",
    "script",
    "sex",
    "birth_date",
    "birth_place",
    "death_date",
    "street",
    "house",
    "postcode",
    "settlement",
    "region",
    "spouse_id",
    "mother_id",
    "father_id",
];

/// A person's register line.
pub fn csv_row(h: &Household, p: &Person) -> String {
    let opt = |x: Option<u64>| x.map(code).unwrap_or_default();
    crate::out::csv_line(&[
        &p.code(),
        &p.personal_number(),
        p.given,
        &p.family,
        &names::latin(&p.name()),
        p.script.code(),
        if p.male { "M" } else { "F" },
        &p.born.iso(),
        p.birth_place,
        &p.died.map(Date::iso).unwrap_or_default(),
        h.street,
        &h.house,
        h.postcode,
        h.settlement,
        REGIONS[h.region].name,
        &opt(p.spouse),
        &opt(p.mother),
        &opt(p.father),
    ])
}

/// A person's JSON record.
#[derive(Serialize)]
pub struct PersonRecord<'a> {
    id: String,
    personal_number: String,
    name: NameRecord<'a>,
    sex: &'static str,
    born: Event<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    died: Option<String>,
    status: &'static str,
    citizenship: &'static str,
    address: Address<'a>,
    family: Family,
    register: &'static str,
    extract_date: String,
}

#[derive(Serialize)]
struct NameRecord<'a> {
    given: &'a str,
    family: &'a str,
    script: &'static str,
    latin: String,
}

#[derive(Serialize)]
struct Event<'a> {
    date: String,
    place: &'a str,
}

#[derive(Serialize)]
struct Address<'a> {
    street: &'a str,
    house: &'a str,
    postcode: &'a str,
    settlement: &'a str,
    region: &'static str,
    country: &'static str,
}

#[derive(Serialize)]
struct Family {
    #[serde(skip_serializing_if = "Option::is_none")]
    spouse: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mother: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    father: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<String>,
}

impl<'a> PersonRecord<'a> {
    /// The record of `p`, who lives in `h`.
    pub fn new(h: &'a Household, p: &'a Person) -> Self {
        PersonRecord {
            id: p.code(),
            personal_number: p.personal_number(),
            name: NameRecord {
                given: p.given,
                family: &p.family,
                script: p.script.code(),
                latin: names::latin(&p.name()),
            },
            sex: if p.male { "M" } else { "F" },
            born: Event {
                date: p.born.iso(),
                place: p.birth_place,
            },
            died: p.died.map(Date::iso),
            status: if p.died.is_some() {
                "deceased"
            } else {
                "resident"
            },
            citizenship: names::COUNTRY_CODE,
            address: Address {
                street: h.street,
                house: &h.house,
                postcode: h.postcode,
                settlement: h.settlement,
                region: REGIONS[h.region].name,
                country: names::COUNTRY,
            },
            family: Family {
                spouse: p.spouse.map(code),
                mother: p.mother.map(code),
                father: p.father.map(code),
                children: p.children.iter().map(|&c| code(c)).collect(),
            },
            register: "Central Population Register of the Republic of Velmora",
            extract_date: as_of().iso(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn households_number_everyone_once_and_links_resolve() {
        let all: Vec<Household> = Households::new(3, 1, 2000).collect();
        let people: Vec<&Person> = all.iter().flat_map(|h| &h.members).collect();
        assert_eq!(people.len(), 2000);
        for (i, p) in people.iter().enumerate() {
            assert_eq!(p.id, i as u64 + 1);
            assert!(p.born <= as_of());
            if let Some(d) = p.died {
                assert!(d > p.born && d <= as_of(), "{p:?}");
            }
            let get = |id: u64| people[id as usize - 1];
            if let Some(s) = p.spouse {
                assert_eq!(get(s).spouse, Some(p.id));
            }
            for parent in [p.mother, p.father].into_iter().flatten() {
                assert!(get(parent).children.contains(&p.id));
                assert!(get(parent).born.years_to(p.born) >= 15, "{p:?}");
            }
            if let Some(m) = p.mother {
                assert!(!get(m).male);
            }
            assert_eq!(p.personal_number().len(), 11);
        }
        let scripts: std::collections::BTreeSet<&str> =
            people.iter().map(|p| p.script.code()).collect();
        assert_eq!(scripts.len(), 3);
    }
}
