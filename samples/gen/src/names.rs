//! The fictional Republic of Velmora: its three communities and their
//! names (Latin script with diacritics, Cyrillic, Greek), regions,
//! settlements and streets, and the transliterations a legacy system
//! stored.

use crate::rng::Rng;

/// The country's name, as records cite it.
pub const COUNTRY: &str = "Republic of Velmora";

/// Its ISO-style code (fictional, not assigned by ISO 3166).
pub const COUNTRY_CODE: &str = "VL";

/// A community, by the script its names are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Latin with diacritics (a West and South Slavic tradition).
    Latin,
    /// Cyrillic.
    Cyrillic,
    /// Greek.
    Greek,
}

impl Script {
    /// The ISO 15924 code.
    pub fn code(self) -> &'static str {
        match self {
            Script::Latin => "Latn",
            Script::Cyrillic => "Cyrl",
            Script::Greek => "Grek",
        }
    }

    /// The ISO 639-1 code of the community's language as records give it
    /// (the fictional languages are written as their nearest neighbours).
    pub fn language(self) -> &'static str {
        match self {
            Script::Latin => "hr",
            Script::Cyrillic => "sr",
            Script::Greek => "el",
        }
    }
}

struct Names {
    male: &'static [&'static str],
    female: &'static [&'static str],
    roots: &'static [&'static str],
    /// Surname endings: (male, female).
    endings: &'static [(&'static str, &'static str)],
}

const LATIN: Names = Names {
    male: &[
        "Tomáš",
        "Jiří",
        "Matej",
        "Luka",
        "Marko",
        "Zdeněk",
        "Radovan",
        "Ivan",
        "Petr",
        "Bojan",
        "Aleš",
        "Miroslav",
        "Dušan",
        "Vít",
        "Ondřej",
        "Janez",
        "Stjepan",
        "Andrej",
        "Rok",
        "Žiga",
        "Domagoj",
        "Vojtěch",
        "Blaž",
        "Josip",
        "Krešimir",
        "Šimon",
    ],
    female: &[
        "Kateřina",
        "Lucie",
        "Ana",
        "Marija",
        "Nika",
        "Petra",
        "Zdeňka",
        "Eliška",
        "Tereza",
        "Mojca",
        "Špela",
        "Ivana",
        "Jelena",
        "Anežka",
        "Barbora",
        "Urška",
        "Dragica",
        "Lenka",
        "Hana",
        "Věra",
        "Klára",
        "Iva",
        "Tjaša",
        "Žaneta",
        "Božena",
        "Ljudmila",
    ],
    roots: &[
        "Kov", "Nov", "Horv", "Mar", "Bel", "Kral", "Vuk", "Žup", "Pol", "Dvor", "Kos", "Mlin",
        "Šim", "Grab", "Jur", "Bab", "Rib", "Lis", "Sok", "Tom", "Krč", "Štef", "Vrb", "Brez",
        "Čern", "Zel",
    ],
    endings: &[
        ("ač", "ač"),
        ("ić", "ić"),
        ("ak", "ak"),
        ("ović", "ović"),
        ("ek", "ek"),
        ("nik", "nik"),
        ("ec", "ec"),
        ("ar", "ar"),
        ("ský", "ská"),
        ("ák", "áková"),
        ("ovec", "ovec"),
    ],
};

const CYRILLIC: Names = Names {
    male: &[
        "Драган",
        "Милош",
        "Никола",
        "Стефан",
        "Борис",
        "Иван",
        "Димитар",
        "Петар",
        "Вук",
        "Горан",
        "Александар",
        "Владимир",
        "Љубомир",
        "Радослав",
        "Павле",
        "Тодор",
        "Јордан",
        "Светозар",
        "Велимир",
        "Огњен",
    ],
    female: &[
        "Милица",
        "Јелена",
        "Ана",
        "Драгана",
        "Весна",
        "Снежана",
        "Марија",
        "Гордана",
        "Радмила",
        "Невена",
        "Теодора",
        "Станка",
        "Љиљана",
        "Вера",
        "Злата",
        "Дарина",
        "Ружица",
        "Бисера",
        "Јована",
        "Софија",
    ],
    roots: &[
        "Петр",
        "Иван",
        "Мил",
        "Драг",
        "Стојан",
        "Рад",
        "Бор",
        "Тодор",
        "Јован",
        "Никол",
        "Вук",
        "Марк",
        "Лаз",
        "Сим",
        "Ђур",
        "Костадин",
        "Велич",
        "Христ",
        "Јанк",
        "Стан",
    ],
    endings: &[
        ("ов", "ова"),
        ("ев", "ева"),
        ("ић", "ић"),
        ("овић", "овић"),
        ("ски", "ска"),
        ("ин", "ина"),
    ],
};

const GREEK: Names = Names {
    male: &[
        "Γιώργος",
        "Νίκος",
        "Κώστας",
        "Δημήτρης",
        "Γιάννης",
        "Παναγιώτης",
        "Σπύρος",
        "Αλέξανδρος",
        "Θανάσης",
        "Μιχάλης",
        "Στέλιος",
        "Ανδρέας",
        "Χρήστος",
        "Βασίλης",
        "Λευτέρης",
        "Σταύρος",
    ],
    female: &[
        "Ελένη",
        "Μαρία",
        "Κατερίνα",
        "Σοφία",
        "Δέσποινα",
        "Αγγελική",
        "Ιωάννα",
        "Χριστίνα",
        "Βασιλική",
        "Ευαγγελία",
        "Αναστασία",
        "Φωτεινή",
        "Ζωή",
        "Θεοδώρα",
        "Ειρήνη",
        "Αθηνά",
    ],
    roots: &[
        "Παπαδ",
        "Γεωργ",
        "Κωνσταντιν",
        "Νικολ",
        "Δημητρ",
        "Αντων",
        "Μιχαηλ",
        "Οικονομ",
        "Βλαχ",
        "Καραγιανν",
        "Σταυρ",
        "Αθανασ",
        "Λαμπρ",
        "Μαυρ",
        "Χατζ",
        "Πετρ",
    ],
    endings: &[
        ("όπουλος", "οπούλου"),
        ("ίδης", "ίδου"),
        ("άκης", "άκη"),
        ("ίου", "ίου"),
        ("άτος", "άτου"),
        ("έας", "έα"),
    ],
};

fn names(script: Script) -> &'static Names {
    match script {
        Script::Latin => &LATIN,
        Script::Cyrillic => &CYRILLIC,
        Script::Greek => &GREEK,
    }
}

/// A family name: a root and the index of its ending, so that the male
/// and female forms can both be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Surname {
    /// The community.
    pub script: Script,
    root: usize,
    ending: usize,
}

impl Surname {
    /// A random family name of a community.
    pub fn random(rng: &mut Rng, script: Script) -> Surname {
        let n = names(script);
        Surname {
            script,
            root: rng.below(n.roots.len() as u64) as usize,
            ending: rng.below(n.endings.len() as u64) as usize,
        }
    }

    /// The form for a man (`male`) or a woman.
    pub fn form(self, male: bool) -> String {
        let n = names(self.script);
        let (m, f) = n.endings[self.ending];
        format!("{}{}", n.roots[self.root], if male { m } else { f })
    }
}

/// A given name.
pub fn given(rng: &mut Rng, script: Script, male: bool) -> &'static str {
    let n = names(script);
    let list: &[&'static str] = if male { n.male } else { n.female };
    list[rng.below(list.len() as u64) as usize]
}

/// A region and its settlements.
pub struct Region {
    /// Name (in Latin script, as the state writes it).
    pub name: &'static str,
    /// Short code, used in identifiers and file names.
    pub code: &'static str,
    /// Share of households, in parts.
    pub weight: u64,
    /// Which community most of its people belong to: shares of Latin,
    /// Cyrillic and Greek households.
    pub communities: [u64; 3],
    /// Settlements: (name, postcode).
    pub settlements: &'static [(&'static str, &'static str)],
    /// South-west corner of its cadastral map: latitude, longitude.
    pub origin: (f64, f64),
}

/// The six regions.
pub const REGIONS: [Region; 6] = [
    Region {
        name: "Zadrava",
        code: "ZAD",
        weight: 30,
        communities: [70, 20, 10],
        settlements: &[
            ("Velmora", "10000"),
            ("Zadrava", "10200"),
            ("Brezovica", "10310"),
            ("Sveti Luka", "10420"),
        ],
        origin: (43.412, 16.284),
    },
    Region {
        name: "Ostriva",
        code: "OST",
        weight: 18,
        communities: [40, 50, 10],
        settlements: &[
            ("Ostriva", "20000"),
            ("Dragovo", "20150"),
            ("Lipnik", "20230"),
        ],
        origin: (43.598, 16.702),
    },
    Region {
        name: "Kalamos",
        code: "KAL",
        weight: 16,
        communities: [20, 10, 70],
        settlements: &[
            ("Kalamos", "30000"),
            ("Agia Irini", "30110"),
            ("Paralia", "30240"),
        ],
        origin: (43.221, 16.955),
    },
    Region {
        name: "Belomorje",
        code: "BEL",
        weight: 14,
        communities: [25, 70, 5],
        settlements: &[
            ("Belomorje", "40000"),
            ("Rusalka", "40120"),
            ("Stari Grad", "40330"),
        ],
        origin: (43.744, 16.411),
    },
    Region {
        name: "Trnovec",
        code: "TRN",
        weight: 12,
        communities: [80, 15, 5],
        settlements: &[
            ("Trnovec", "50000"),
            ("Vinica", "50140"),
            ("Podgora", "50260"),
        ],
        origin: (43.509, 15.978),
    },
    Region {
        name: "Nisia",
        code: "NIS",
        weight: 10,
        communities: [30, 20, 50],
        settlements: &[("Nisia", "60000"), ("Limnos Mikri", "60110")],
        origin: (43.102, 16.540),
    },
];

/// Street names by script.
pub fn street(rng: &mut Rng, script: Script) -> &'static str {
    let list: &[&'static str] = match script {
        Script::Latin => &[
            "Ribarska ulica",
            "Lipová",
            "Obala kralja Petra",
            "Trg svobode",
            "Vinogradska",
            "Školska ulica",
            "Put maslina",
            "Zelená",
            "Ulica mornara",
            "Kamenita",
        ][..],
        Script::Cyrillic => &[
            "Јадранска",
            "Рибарска",
            "Цветна",
            "Школска",
            "Липова",
            "Булевар ослобођења",
            "Пристанишна",
            "Виноградска",
        ][..],
        Script::Greek => &[
            "Οδός Αγίου Νικολάου",
            "Λεωφόρος Ελευθερίας",
            "Οδός Ερμού",
            "Οδός Θαλάσσης",
            "Οδός Ελιάς",
            "Πλατεία Δημαρχείου",
            "Οδός Ναυτών",
        ][..],
    };
    list[rng.below(list.len() as u64) as usize]
}

/// Latin transliteration of a name (Serbian Latin for Cyrillic, ELOT 743
/// for Greek); Latin names are kept as they are.
pub fn latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let lower: char = c.to_lowercase().next().unwrap_or(c);
        let upper = c != lower;
        let next = chars
            .get(i + 1)
            .map(|n| n.to_lowercase().next().unwrap_or(*n));
        // Greek "ου" is one sound.
        if lower == 'ο' && matches!(next, Some('υ' | 'ύ')) {
            out.push_str(if upper { "Ou" } else { "ou" });
            i += 2;
            continue;
        }
        // "αυ", "ευ" are read "av", "ev"; "γγ" is "ng".
        let pair = match (lower, next) {
            ('α' | 'ά', Some('υ' | 'ύ')) => Some("av"),
            ('ε' | 'έ', Some('υ' | 'ύ')) => Some("ev"),
            ('γ', Some('γ')) => Some("ng"),
            _ => None,
        };
        if let Some(p) = pair {
            if upper {
                out.push_str(&p[..1].to_uppercase());
                out.push_str(&p[1..]);
            } else {
                out.push_str(p);
            }
            i += 2;
            continue;
        }
        let t: &str = match lower {
            'а' | 'α' | 'ά' => "a",
            'б' => "b",
            'β' => "v",
            'в' => "v",
            'г' | 'γ' => "g",
            'д' | 'δ' => "d",
            'ђ' => "đ",
            'е' | 'ε' | 'έ' => "e",
            'ж' => "ž",
            'з' | 'ζ' => "z",
            'и' | 'η' | 'ή' | 'ι' | 'ί' => "i",
            'ј' => "j",
            'к' | 'κ' => "k",
            'л' | 'λ' => "l",
            'љ' => "lj",
            'м' | 'μ' => "m",
            'н' | 'ν' => "n",
            'њ' => "nj",
            'о' | 'ο' | 'ό' | 'ω' | 'ώ' => "o",
            'п' | 'π' => "p",
            'р' | 'ρ' => "r",
            'с' | 'σ' | 'ς' => "s",
            'т' | 'τ' => "t",
            'ћ' => "ć",
            'у' => "u",
            'ф' | 'φ' => "f",
            'х' => "h",
            'ц' => "c",
            'ч' => "č",
            'џ' => "dž",
            'ш' => "š",
            'θ' => "th",
            'ξ' => "x",
            'υ' | 'ύ' => "y",
            'χ' => "ch",
            'ψ' => "ps",
            _ => {
                out.push(c);
                i += 1;
                continue;
            }
        };
        if upper {
            let mut cs = t.chars();
            if let Some(f) = cs.next() {
                out.extend(f.to_uppercase());
                out.push_str(cs.as_str());
            }
        } else {
            out.push_str(t);
        }
        i += 1;
    }
    out
}

/// What a 1980s mainframe stored of a name: Latin transliteration in
/// capitals, letters outside ISO 8859-1 (which EBCDIC 037 covers) reduced
/// to their base letter (Š to S, Đ to DJ).
pub fn mainframe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in latin(text).to_uppercase().chars() {
        match c {
            'Č' | 'Ć' => out.push('C'),
            'Š' => out.push('S'),
            'Ž' => out.push('Z'),
            'Đ' => out.push_str("DJ"),
            'Ř' => out.push('R'),
            'Ě' => out.push('E'),
            'Ň' => out.push('N'),
            'Ů' => out.push('U'),
            'Ť' => out.push('T'),
            'Ď' => out.push('D'),
            c if (c as u32) < 256 => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliterations() {
        assert_eq!(latin("Драган Петровић"), "Dragan Petrović");
        assert_eq!(latin("Љиљана Ђурић"), "Ljiljana Đurić");
        assert_eq!(latin("Γιώργος Παπαδόπουλος"), "Giorgos Papadopoulos");
        assert_eq!(latin("Βασιλική Χατζίδου"), "Vasiliki Chatzidou");
        assert_eq!(latin("Tomáš Kovač"), "Tomáš Kovač");
        assert_eq!(mainframe("Tomáš Kovač"), "TOMÁS KOVAC");
        assert_eq!(mainframe("Ђорђе"), "DJORDJE");
        assert_eq!(mainframe("Zdeněk Čermák"), "ZDENEK CERMÁK");
    }

    #[test]
    fn surnames_agree_with_gender() {
        let s = Surname {
            script: Script::Greek,
            root: 0,
            ending: 0,
        };
        assert_eq!(s.form(true), "Παπαδόπουλος");
        assert_eq!(s.form(false), "Παπαδοπούλου");
        let s = Surname {
            script: Script::Cyrillic,
            root: 0,
            ending: 0,
        };
        assert_eq!(s.form(true), "Петров");
        assert_eq!(s.form(false), "Петрова");
    }
}
