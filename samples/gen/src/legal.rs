//! Legal codes: acts of the National Assembly in Markdown, each with
//! chapters and numbered sections, built from the subjects a national
//! archive keeps and the sentence patterns acts are written in.

use crate::names::COUNTRY;
use crate::rng::{Date, Rng};

/// An act's subject: short title, what it governs, the authority, its
/// chapters, and nouns that its sections regulate.
struct Subject {
    title: &'static str,
    governs: &'static str,
    authority: &'static str,
    chapters: &'static [&'static str],
    nouns: &'static [&'static str],
}

const SUBJECTS: &[Subject] = &[
    Subject {
        title: "Civil Registration Act",
        governs: "the registration of births, marriages and deaths",
        authority: "the Civil Registry Office",
        chapters: &[
            "General provisions",
            "Registration of births",
            "Registration of marriages",
            "Registration of deaths",
            "Certificates and extracts",
            "Corrections",
            "Final provisions",
        ],
        nouns: &[
            "entry",
            "certificate",
            "notification",
            "extract",
            "registrar",
            "correction",
        ],
    },
    Subject {
        title: "Population Register Act",
        governs: "the keeping of the central population register",
        authority: "the Ministry of the Interior",
        chapters: &[
            "General provisions",
            "Content of the register",
            "Personal numbers",
            "Addresses",
            "Access to data",
            "Supervision",
            "Final provisions",
        ],
        nouns: &[
            "record",
            "personal number",
            "address",
            "data subject",
            "extract",
            "request",
        ],
    },
    Subject {
        title: "Land Cadastre Act",
        governs: "the survey of land, the cadastre and the land register",
        authority: "the State Survey and Cadastre Authority",
        chapters: &[
            "General provisions",
            "Cadastral survey",
            "Parcels and boundaries",
            "The land register",
            "Plans and maps",
            "Fees",
            "Final provisions",
        ],
        nouns: &[
            "parcel",
            "boundary",
            "cadastral plan",
            "owner",
            "survey",
            "entry",
        ],
    },
    Subject {
        title: "Land Tax Act",
        governs: "the assessment and collection of tax on land",
        authority: "the Tax Administration",
        chapters: &[
            "General provisions",
            "Taxable land",
            "Assessment",
            "Rates and reliefs",
            "Payment and arrears",
            "Final provisions",
        ],
        nouns: &[
            "assessment",
            "taxpayer",
            "parcel",
            "relief",
            "instalment",
            "arrears",
        ],
    },
    Subject {
        title: "Citizenship Act",
        governs: "the acquisition and loss of citizenship of the Republic",
        authority: "the Ministry of the Interior",
        chapters: &[
            "General provisions",
            "Citizenship by descent",
            "Naturalisation",
            "Loss of citizenship",
            "Proof of citizenship",
            "Final provisions",
        ],
        nouns: &[
            "applicant",
            "certificate of citizenship",
            "decision",
            "residence",
            "declaration",
            "child",
        ],
    },
    Subject {
        title: "Archives Act",
        governs: "the preservation of public records and the national archives",
        authority: "the National Archives",
        chapters: &[
            "General provisions",
            "Public records",
            "Transfer to the archives",
            "Access and reading rooms",
            "Copies held abroad",
            "Final provisions",
        ],
        nouns: &[
            "public record",
            "archival holding",
            "copy",
            "finding aid",
            "reader",
            "transfer",
        ],
    },
    Subject {
        title: "Digital Continuity Act",
        governs: "the keeping of copies of state records in data centres abroad",
        authority: "the Government Office for Digital Continuity",
        chapters: &[
            "General provisions",
            "Records to be copied",
            "Host states and data centres",
            "Encryption and keys",
            "Audit",
            "Restoration",
            "Final provisions",
        ],
        nouns: &[
            "copy",
            "host state",
            "key holder",
            "audit",
            "archive file",
            "restoration",
        ],
    },
    Subject {
        title: "Official Languages Act",
        governs: "the use of the official languages and scripts of the Republic",
        authority: "the Office for Languages",
        chapters: &[
            "General provisions",
            "Languages of the authorities",
            "Names and scripts",
            "Transliteration",
            "Final provisions",
        ],
        nouns: &[
            "name",
            "script",
            "transliteration",
            "document",
            "municipality",
            "translation",
        ],
    },
    Subject {
        title: "Family Act",
        governs: "marriage, parenthood and the duties of family members",
        authority: "the Social Welfare Centre",
        chapters: &[
            "General provisions",
            "Marriage",
            "Parents and children",
            "Guardianship",
            "Maintenance",
            "Final provisions",
        ],
        nouns: &[
            "spouse",
            "parent",
            "child",
            "guardian",
            "agreement",
            "maintenance",
        ],
    },
    Subject {
        title: "Local Self-Government Act",
        governs: "the regions and municipalities and their powers",
        authority: "the Ministry of Public Administration",
        chapters: &[
            "General provisions",
            "Regions",
            "Municipalities",
            "Councils and mayors",
            "Finance",
            "Final provisions",
        ],
        nouns: &[
            "municipality",
            "council",
            "mayor",
            "region",
            "budget",
            "decision",
        ],
    },
];

const DUTIES: &[&str] = &[
    "{a} shall keep each {n} in electronic form and on durable media.",
    "Every {n} shall state the date on which it was made and the official who made it.",
    "{a} shall decide on a request concerning a {n} within thirty days of its receipt.",
    "A {n} made before this Act entered into force shall remain valid.",
    "Where a {n} is incomplete, {a} shall invite the person concerned to complete it within fifteen days.",
    "No {n} may be destroyed unless a copy has been transferred to the National Archives.",
    "Personal data contained in a {n} may be processed only for the purposes laid down in this Act.",
    "{a} shall publish the forms on which a {n} is submitted.",
    "A {n} kept abroad under the Digital Continuity Act has the same force as the original.",
    "The Government shall lay down by decree the details of each {n}.",
];

const PENALTIES: &[&str] = &[
    "A legal person who fails to submit a {n} within the time limit shall be fined from 500 to 5,000 velmoran crowns.",
    "An official who discloses a {n} contrary to this Act shall be fined from 200 to 2,000 velmoran crowns.",
];

fn sentence(rng: &mut Rng, pool: &[&str], s: &Subject) -> String {
    let t = rng.pick(pool);
    let mut out = t
        .replace("{n}", rng.pick::<&str>(s.nouns))
        .replace("{a}", s.authority);
    if s.title == "Digital Continuity Act" {
        out = out.replace("under the Digital Continuity Act", "under this Act");
    }
    if out.starts_with("the ") {
        out.replace_range(..1, "T");
    }
    articles(&out)
}

/// "a" becomes "an" before a vowel.
fn articles(text: &str) -> String {
    let mut out = format!(" {text}");
    for v in ["a", "e", "i", "o", "u"] {
        out = out
            .replace(&format!(" a {v}"), &format!(" an {v}"))
            .replace(&format!(" A {v}"), &format!(" An {v}"));
    }
    out.split_off(1)
}

const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// An act: its file name, title, number, date and Markdown text.
pub struct Act {
    /// File name under `legal/`.
    pub file: String,
    /// Title with number.
    pub title: String,
    /// Number, like `14/1994`.
    pub number: String,
    /// Date of adoption.
    pub adopted: Date,
    /// Subject, for the sidecar.
    pub subject: &'static str,
    /// The act it amends, if an amending act.
    pub amends: Option<String>,
    /// Markdown.
    pub text: String,
}

/// Act number `index` (from 0): the first ones are the principal acts,
/// the rest amend them.
pub fn act(rng: &mut Rng, index: usize) -> Act {
    let s = &SUBJECTS[index % SUBJECTS.len()];
    let round = index / SUBJECTS.len();
    let year = 1992 + (index % SUBJECTS.len()) as i64 / 2 + round as i64 * 3;
    let year = year.min(2025);
    let adopted = Date::between(rng, Date::ymd(year, 1, 10), Date::ymd(year, 12, 20));
    let in_force = Date::ymd(year + 1, 1, 1);
    let number = format!("{}/{year}", 3 + index * 7 % 90);
    let principal = format!(
        "{}/{}",
        3 + (index % SUBJECTS.len()) * 7 % 90,
        1992 + (index % SUBJECTS.len()) as i64 / 2
    );
    let amends = (round > 0).then(|| principal.clone());
    let title = if round == 0 {
        s.title.to_owned()
    } else {
        format!("Act amending the {} ({round})", s.title)
    };
    let mut md = format!("# {title}\n\n");
    md.push_str(&format!(
        "Act No. {number} of the {COUNTRY}, adopted by the National Assembly on {} and in force from {}.\n\n",
        adopted.iso(),
        in_force.iso()
    ));
    if let Some(p) = &amends {
        md.push_str(&format!(
            "This Act amends the {} (Act No. {p}).\n\n",
            s.title
        ));
    }
    let mut section = 1;
    let chapters = if round == 0 {
        s.chapters.len()
    } else {
        2 + rng.below(2) as usize
    };
    for (ci, chapter) in s.chapters.iter().take(chapters).enumerate() {
        let name = if ci + 1 == chapters {
            "Final provisions"
        } else {
            chapter
        };
        md.push_str(&format!("## Chapter {}. {name}\n\n", ROMAN[ci.min(11)]));
        let sections = if name == "Final provisions" {
            2
        } else {
            2 + rng.below(3) as usize
        };
        for k in 0..sections {
            let heading = match (name, k) {
                ("General provisions", 0) => "Purpose".to_owned(),
                ("General provisions", 1) => "Definitions".to_owned(),
                ("Final provisions", 0) => "Transitional provision".to_owned(),
                ("Final provisions", _) => "Entry into force".to_owned(),
                _ => {
                    let n = *rng.pick::<&str>(s.nouns);
                    let mut h = format!(
                        "{} the {n}",
                        rng.pick(&[
                            "Form of",
                            "Content of",
                            "Keeping of",
                            "Review of",
                            "Access to",
                            "Time limits for"
                        ])
                    );
                    if k > 2 {
                        h = format!("Duties concerning the {n}");
                    }
                    h
                }
            };
            md.push_str(&format!("### Section {section}. {heading}\n\n"));
            match heading.as_str() {
                "Purpose" => md.push_str(&format!("(1) This Act governs {}.\n\n(2) This Act applies throughout the territory of the Republic and to copies of its records kept abroad.\n\n", s.governs)),
                "Definitions" => {
                    md.push_str("For the purposes of this Act:\n\n");
                    for (i, n) in s.nouns.iter().take(4).enumerate() {
                        md.push_str(&format!(
                            "{}. \"{n}\" means any {n} within the scope of Section 1;\n",
                            i + 1
                        ));
                    }
                    md.push('\n');
                }
                "Transitional provision" => md.push_str("Proceedings begun before this Act entered into force shall be concluded under the provisions in force when they began.\n\n"),
                "Entry into force" => md.push_str(&format!("This Act enters into force on {}.\n\n", in_force.iso())),
                _ => {
                    let paragraphs = 1 + rng.below(3);
                    for p in 0..paragraphs {
                        let pool = if rng.chance(10) { PENALTIES } else { DUTIES };
                        md.push_str(&format!("({}) {}\n\n", p + 1, sentence(rng, pool, s)));
                    }
                }
            }
            section += 1;
        }
    }
    let slug: String = title
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    Act {
        file: format!("{year}-{:03}-{slug}.md", 3 + index * 7 % 90),
        title,
        number,
        adopted,
        subject: s.title,
        amends,
        text: md,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_have_chapters_sections_and_grammar() {
        let mut rng = Rng::new(1, 1);
        for i in 0..30 {
            let act = act(&mut rng, i);
            assert!(act.text.starts_with(&format!("# {}\n", act.title)));
            assert!(act.text.contains("## Chapter I. General provisions") || i >= SUBJECTS.len());
            assert!(act.text.contains("### Section 1. "));
            assert!(act.text.contains("Final provisions"));
            for bad in [
                " a a", " a e", " a i", " a o", " a u", "A a", "A e", "A i", "A o", "A u",
            ] {
                assert!(!act.text.contains(bad), "{bad:?} in {}", act.text);
            }
            assert_eq!(act.amends.is_some(), i >= SUBJECTS.len());
        }
        assert_eq!(articles("a audit and a copy"), "an audit and a copy");
        assert_eq!(articles("A entry"), "An entry");
    }
}
