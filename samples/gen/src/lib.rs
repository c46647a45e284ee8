//! A deterministic generator of the records a small (fictional) nation
//! would keep in its digital embassy: the Republic of Velmora.
//!
//! [`generate`] writes a folder tree that `legation pack` packs as it is,
//! every record with a Dublin Core sidecar (`NAME.dc.json`):
//!
//! - `population/`: the population register, one CSV per region and one
//!   JSON record per person (`persons/NNNN/P0000042.json`), with names in
//!   Latin script with diacritics, Cyrillic and Greek, dates, addresses and
//!   family links that always name a generated person;
//! - `land/`: parcels per region as CSV (owner, area, land use,
//!   coordinates and boundary) and a PNG plan of each cadastral sheet;
//! - `legal/`: acts with chapters and sections, in Markdown;
//! - `civil/`: birth, marriage and death certificates as JSON, some with
//!   the scanned paper original as a multi-page greyscale TIFF;
//! - `legacy/`: the land tax rolls of 1981, 1986 and 1991 as fixed-width
//!   EBCDIC mainframe files (`.ebc`), read by `decoders/ebcdic`.
//!
//! The same options give the same bytes. Records are written as they are
//! made, so memory stays flat from a few hundred people to millions.

#![deny(unsafe_code)]

pub mod civil;
pub mod image;
pub mod land;
pub mod legal;
pub mod mainframe;
pub mod names;
pub mod out;
pub mod population;
pub mod rng;

use std::io::{self, Write};
use std::path::Path;

use mainframe::{RecordFile, Value};
use names::REGIONS;
use out::{Counted, Dc, Tree, RIGHTS};
use population::{Household, Households, Person, PersonRecord};
use rng::{Date, Rng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed: the same seed and options give the same bytes.
    pub seed: u64,
    /// People in the population register.
    pub people: u64,
    /// Percentage of certificates that have a scan.
    pub scan_share: u64,
    /// Width of scanned pages in pixels (height is 1.414 times it).
    pub scan_width: usize,
    /// Width of cadastral plans in pixels.
    pub plan_width: usize,
    /// Parcels per cadastral sheet.
    pub sheet_parcels: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            people: 1000,
            scan_share: 100,
            scan_width: 620,
            plan_width: 800,
            sheet_parcels: 40,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files written (records and sidecars).
    pub files: u64,
    /// Records (files that are not sidecars).
    pub records: u64,
    /// Bytes of all files.
    pub bytes: u64,
    /// People.
    pub people: u64,
    /// Households.
    pub households: u64,
    /// Parcels.
    pub parcels: u64,
    /// Cadastral plans.
    pub plans: u64,
    /// Acts.
    pub acts: u64,
    /// Certificates.
    pub certificates: u64,
    /// Scans.
    pub scans: u64,
    /// Data records in the mainframe files.
    pub mainframe_records: u64,
}

/// Stream numbers: one per kind of record.
const POPULATION: u64 = 1;
const CIVIL: u64 = 2;
const LAND: u64 = 3;
const LEGAL: u64 = 4;
const SHEETS: u64 = 5;
/// Scans draw from streams `SCANS + n` (one per certificate), so that
/// their size does not change any other record.
const SCANS: u64 = 1 << 32;

/// Tax years of the land tax rolls.
pub const TAX_YEARS: [i64; 3] = [1981, 1986, 1991];

const PUBLISHER: &str = "National Archives of the Republic of Velmora";

/// Writes the records into `root`, which must not exist or be empty.
pub fn generate(opts: &Options, root: &Path) -> io::Result<Summary> {
    if opts.people == 0 || opts.sheet_parcels == 0 || opts.scan_width < 64 || opts.plan_width < 200
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "need at least 1 person, 1 parcel per sheet, scans 64 and plans 200 pixels wide",
        ));
    }
    let mut tree = Tree::new(root)?;
    let mut sum = Summary::default();
    write_acts(opts, &mut tree, &mut sum)?;
    let mut g = Gen::new(opts, &mut tree)?;
    let mut civil_rng = Rng::new(opts.seed, CIVIL);
    let mut land_rng = Rng::new(opts.seed, LAND);
    let mut cert_no = 0u64;
    for h in Households::new(opts.seed, POPULATION, opts.people) {
        sum.households += 1;
        for p in &h.members {
            g.person(&mut tree, &h, p)?;
            sum.people += 1;
        }
        for mut c in civil::certificates(&mut civil_rng, &h, &mut cert_no) {
            g.certificate(&mut tree, &mut c, &mut sum)?;
        }
        // About half of households own land: one parcel, sometimes more.
        let owned = [0, 0, 1, 1, 2, 3][land_rng.weighted(&[30, 20, 25, 13, 9, 3])];
        for _ in 0..owned {
            g.own(&mut tree, &h, &h.members[0], &mut sum)?;
        }
    }
    g.finish(&mut tree, &mut sum)?;
    sum.files = tree.files;
    sum.bytes = tree.bytes;
    sum.records = tree.files / 2;
    Ok(sum)
}

fn write_acts(opts: &Options, tree: &mut Tree, sum: &mut Summary) -> io::Result<()> {
    let mut rng = Rng::new(opts.seed, LEGAL);
    let count = 10 + (opts.people / 2000).min(490) as usize;
    for i in 0..count {
        let act = legal::act(&mut rng, i);
        let rel = format!("legal/{}", act.file);
        tree.write(&rel, act.text.as_bytes())?;
        tree.sidecar(
            &rel,
            &Dc {
                title: act.title.clone(),
                creator: "National Assembly of the Republic of Velmora".into(),
                subject: vec!["legislation".into(), act.subject.into()],
                description: format!("Act No. {}, consolidated text as adopted.", act.number),
                publisher: PUBLISHER.into(),
                date: act.adopted.iso(),
                kind: "Text".into(),
                format: "text/markdown".into(),
                identifier: format!("urn:vl:act:{}", act.number),
                language: vec!["en".into()],
                relation: act
                    .amends
                    .iter()
                    .map(|a| format!("urn:vl:act:{a}"))
                    .collect(),
                coverage: "Republic of Velmora".into(),
                rights: RIGHTS.into(),
            },
        )?;
        sum.acts += 1;
    }
    Ok(())
}

/// An owner waiting for the next cadastral sheet of their region.
struct Owner {
    id: String,
    name: String,
    mainframe_name: String,
    settlement: &'static str,
}

/// Streaming state: open CSV and mainframe files, owners per region.
struct Gen<'a> {
    opts: &'a Options,
    register: Vec<Counted>,
    parcels: Vec<Counted>,
    rolls: Vec<Vec<RecordFile<Counted>>>,
    pending: Vec<Vec<Owner>>,
    sheets: Vec<u64>,
    sheet_rng: Rng,
}

impl<'a> Gen<'a> {
    fn new(opts: &'a Options, tree: &mut Tree) -> io::Result<Gen<'a>> {
        let mut register = Vec::new();
        let mut parcels = Vec::new();
        let mut rolls = Vec::new();
        for r in &REGIONS {
            let mut f = Counted::create(&tree.path(&format!(
                "population/register-{}.csv",
                r.code.to_lowercase()
            ))?)?;
            f.write_all(out::csv_line(&population::CSV_COLUMNS).as_bytes())?;
            register.push(f);
            let mut f = Counted::create(
                &tree.path(&format!("land/parcels-{}.csv", r.code.to_lowercase()))?,
            )?;
            f.write_all(out::csv_line(&PARCEL_COLUMNS).as_bytes())?;
            parcels.push(f);
            let mut years = Vec::new();
            for year in TAX_YEARS {
                let f = Counted::create(&tree.path(&roll_path(r.code, year))?)?;
                years.push(RecordFile::new(
                    f,
                    mainframe::LAND_TAX_LENGTH,
                    &format!("VLM.CADASTRE.LANDTAX.Y{year}.{}", r.code),
                    &format!("{year}1231"),
                    mainframe::LAND_TAX,
                )?);
            }
            rolls.push(years);
        }
        Ok(Gen {
            opts,
            register,
            parcels,
            rolls,
            pending: REGIONS.iter().map(|_| Vec::new()).collect(),
            sheets: vec![0; REGIONS.len()],
            sheet_rng: Rng::new(opts.seed, SHEETS),
        })
    }

    fn person(&mut self, tree: &mut Tree, h: &Household, p: &Person) -> io::Result<()> {
        self.register[h.region].write_all(population::csv_row(h, p).as_bytes())?;
        let rel = format!("population/persons/{:04}/{}.json", p.id / 1000, p.code());
        let mut json =
            serde_json::to_vec_pretty(&PersonRecord::new(h, p)).map_err(io::Error::other)?;
        json.push(b'\n');
        tree.write(&rel, &json)?;
        let mut relation: Vec<String> = [p.spouse, p.mother, p.father]
            .into_iter()
            .flatten()
            .chain(p.children.iter().copied())
            .map(|id| {
                format!(
                    "population/persons/{:04}/{}.json",
                    id / 1000,
                    population::code(id)
                )
            })
            .collect();
        relation.sort();
        tree.sidecar(
            &rel,
            &Dc {
                title: format!("{} ({})", p.name(), p.code()),
                creator: "Central Population Register".into(),
                subject: vec!["population register".into(), "person".into()],
                description: format!(
                    "Register record of {}, born {} in {}.",
                    names::latin(&p.name()),
                    p.born.iso(),
                    p.birth_place
                ),
                publisher: PUBLISHER.into(),
                date: population::as_of().iso(),
                kind: "Dataset".into(),
                format: "application/json".into(),
                identifier: format!("urn:vl:person:{}", p.code()),
                language: vec![p.script.language().into(), "en".into()],
                relation,
                coverage: format!("{}, {}", h.settlement, REGIONS[h.region].name),
                rights: RIGHTS.into(),
            },
        )
    }

    fn certificate(
        &mut self,
        tree: &mut Tree,
        c: &mut civil::Issued,
        sum: &mut Summary,
    ) -> io::Result<()> {
        let n: u64 = c.number[2..].parse().unwrap_or(0); // our own format: X-0000000
        let dir = format!("civil/{}/{:04}", c.kind.folder(), n / 1000);
        let mut relation: Vec<String> = c
            .people
            .iter()
            .map(|id| format!("urn:vl:person:{id}"))
            .collect();
        let mut scan_rng = Rng::new(self.opts.seed, SCANS + n);
        if scan_rng.chance(self.opts.scan_share) {
            let file = format!("{}.tif", c.number);
            let rel = format!("{dir}/{file}");
            tree.write(
                &rel,
                &civil::scan(&mut scan_rng, c.kind, &c.number, self.opts.scan_width),
            )?;
            tree.sidecar(
                &rel,
                &Dc {
                    title: format!(
                        "{} certificate {}, scanned original",
                        c.kind.word(),
                        c.number
                    ),
                    creator: c.record_office(),
                    subject: vec!["civil records".into(), "scan".into()],
                    description: format!(
                        "Scan of the paper certificate {} ({}).",
                        c.number,
                        names::latin(&c.about)
                    ),
                    publisher: PUBLISHER.into(),
                    date: c.date.iso(),
                    kind: "StillImage".into(),
                    format: "image/tiff".into(),
                    identifier: format!("urn:vl:civil:{}:scan", c.number),
                    language: vec![c.record_language().into()],
                    relation: vec![format!("{}.json", c.number)],
                    coverage: c.region.into(),
                    rights: RIGHTS.into(),
                },
            )?;
            c.set_scan(file.clone());
            relation.push(file);
            sum.scans += 1;
        }
        let rel = format!("{dir}/{}.json", c.number);
        let mut json = serde_json::to_vec_pretty(&c.record).map_err(io::Error::other)?;
        json.push(b'\n');
        tree.write(&rel, &json)?;
        tree.sidecar(
            &rel,
            &Dc {
                title: format!("{} certificate {}: {}", c.kind.word(), c.number, c.about),
                creator: c.record_office(),
                subject: vec![
                    "civil records".into(),
                    format!("{} certificate", c.kind.word().to_lowercase()),
                ],
                description: format!(
                    "{} certificate of {}, {}.",
                    c.kind.word(),
                    names::latin(&c.about),
                    c.date.iso()
                ),
                publisher: PUBLISHER.into(),
                date: c.date.iso(),
                kind: "Text".into(),
                format: "application/json".into(),
                identifier: format!("urn:vl:civil:{}", c.number),
                language: vec![c.record_language().into(), "en".into()],
                relation,
                coverage: c.region.into(),
                rights: RIGHTS.into(),
            },
        )?;
        sum.certificates += 1;
        Ok(())
    }

    fn own(
        &mut self,
        tree: &mut Tree,
        h: &Household,
        p: &Person,
        sum: &mut Summary,
    ) -> io::Result<()> {
        self.pending[h.region].push(Owner {
            id: p.code(),
            name: p.name(),
            mainframe_name: names::mainframe(&format!("{}, {}", p.family, p.given)),
            settlement: h.settlement,
        });
        if self.pending[h.region].len() >= self.opts.sheet_parcels {
            self.sheet(tree, h.region, sum)?;
        }
        Ok(())
    }

    /// Cuts the next sheet of a region among its waiting owners, and
    /// writes its parcels, plan and tax roll records.
    fn sheet(&mut self, tree: &mut Tree, region: usize, sum: &mut Summary) -> io::Result<()> {
        let owners = std::mem::take(&mut self.pending[region]);
        if owners.is_empty() {
            return Ok(());
        }
        let r = &REGIONS[region];
        let sheet = self.sheets[region];
        self.sheets[region] += 1;
        let rng = &mut self.sheet_rng;
        let parcels = land::cut_sheet(rng, owners.len());
        for (n, (parcel, owner)) in parcels.iter().zip(&owners).enumerate() {
            let id = format!("{}-{:04}-{:04}", r.code, sheet + 1, n + 1);
            let area = parcel.area();
            let (lat, lon) = land::lat_lon(r.origin, sheet, parcel.centroid());
            let (code, use_name, _) = land::USES[parcel.land_use];
            self.parcels[region].write_all(
                out::csv_line(&[
                    &id,
                    &format!("{:04}", sheet + 1),
                    r.name,
                    owner.settlement,
                    use_name,
                    &format!("{area:.1}"),
                    &owner.id,
                    &owner.name,
                    &format!("{lat:.6}"),
                    &format!("{lon:.6}"),
                    &land::wkt(r.origin, sheet, &parcel.corners),
                ])
                .as_bytes(),
            )?;
            // The tax rolls: value per square metre by use, rising with
            // each assessment; most paid, some in arrears, some exempt.
            let per_m2 = [180, 90, 60, 2400, 300, 420][parcel.land_use] as i64;
            let m2 = area.round() as i64;
            for (y, year) in TAX_YEARS.iter().enumerate() {
                let value =
                    m2 * per_m2 * (100 + 35 * y as i64) / 100 * (90 + rng.below(21) as i64) / 100;
                let exempt = parcel.land_use == 2 && rng.chance(30);
                let tax = if exempt { 0 } else { value * 3 / 1000 };
                let (status, balance) = match rng.weighted(&[80, 12, 5]) {
                    _ if exempt => ("E", 0),
                    0 => ("P", 0),
                    1 => ("A", tax / (1 + rng.below(4) as i64)),
                    _ => ("C", -(1 + rng.below(5000) as i64)),
                };
                let assessed =
                    Date::between(rng, Date::ymd(*year, 2, 1), Date::ymd(*year, 6, 30)).compact();
                let district = (region as i64 + 1) * 100 + (sheet % 100) as i64;
                self.rolls[region][y].record(&[
                    Value::Text("D"),
                    Value::Text(&id),
                    Value::Text(&owner.id),
                    Value::Text(&owner.mainframe_name),
                    Value::Text(&names::mainframe(owner.settlement)),
                    Value::Text(code),
                    Value::Number(m2, 0xF),
                    Value::Number(value, 0xC),
                    Value::Number(tax, 0xC),
                    Value::Date(&assessed),
                    Value::Text(status),
                    Value::Number(balance, 0xC),
                    Value::Number(district % 1000, 0xF),
                ])?;
                sum.mainframe_records += 1;
            }
            sum.parcels += 1;
        }
        let rel = format!(
            "land/plans/{}/sheet-{:04}.png",
            r.code.to_lowercase(),
            sheet + 1
        );
        let png = land::plan(&parcels, self.opts.plan_width, sheet + 1).png();
        tree.write(&rel, &png)?;
        tree.sidecar(
            &rel,
            &Dc {
                title: format!("Cadastral plan {} sheet {}", r.name, sheet + 1),
                creator: "State Survey and Cadastre Authority".into(),
                subject: vec!["land registry".into(), "cadastral plan".into()],
                description: format!(
                    "Plan of {} parcels on an 800 m by 600 m sheet, coloured by land use, numbered at their centroids, with a 100 m grid.",
                    parcels.len()
                ),
                publisher: PUBLISHER.into(),
                date: population::as_of().iso(),
                kind: "StillImage".into(),
                format: "image/png".into(),
                identifier: format!("urn:vl:cadastre:{}:{:04}", r.code, sheet + 1),
                language: vec!["zxx".into()],
                relation: vec![format!("land/parcels-{}.csv", r.code.to_lowercase())],
                coverage: r.name.into(),
                rights: RIGHTS.into(),
            },
        )?;
        sum.plans += 1;
        Ok(())
    }

    fn finish(mut self, tree: &mut Tree, sum: &mut Summary) -> io::Result<()> {
        for region in 0..REGIONS.len() {
            self.sheet(tree, region, sum)?;
        }
        let when = population::as_of().iso();
        for (region, r) in REGIONS.iter().enumerate() {
            let lower = r.code.to_lowercase();
            let f = self.register.remove(0);
            finish_file(tree, f)?;
            tree.sidecar(
                &format!("population/register-{lower}.csv"),
                &Dc {
                    title: format!("Population register of {}", r.name),
                    creator: "Central Population Register".into(),
                    subject: vec!["population register".into()],
                    description: format!(
                        "Everyone registered in the region of {}: one line per person with names in their own script and in Latin transliteration, dates of birth and death, address and family links (register ids).",
                        r.name
                    ),
                    publisher: PUBLISHER.into(),
                    date: when.clone(),
                    kind: "Dataset".into(),
                    format: "text/csv".into(),
                    identifier: format!("urn:vl:register:{}", r.code),
                    language: vec!["hr".into(), "sr".into(), "el".into()],
                    relation: vec![],
                    coverage: r.name.into(),
                    rights: RIGHTS.into(),
                },
            )?;
            let f = self.parcels.remove(0);
            finish_file(tree, f)?;
            tree.sidecar(
                &format!("land/parcels-{lower}.csv"),
                &Dc {
                    title: format!("Land register of {}: parcels", r.name),
                    creator: "State Survey and Cadastre Authority".into(),
                    subject: vec!["land registry".into(), "parcels".into()],
                    description: "One line per parcel: cadastral sheet, land use, area in square metres, owner (register id), centroid and boundary (WGS 84, WKT).".into(),
                    publisher: PUBLISHER.into(),
                    date: when.clone(),
                    kind: "Dataset".into(),
                    format: "text/csv".into(),
                    identifier: format!("urn:vl:cadastre:{}", r.code),
                    language: vec!["en".into()],
                    relation: vec![],
                    coverage: r.name.into(),
                    rights: RIGHTS.into(),
                },
            )?;
            for (year, roll) in TAX_YEARS
                .iter()
                .zip(std::mem::take(&mut self.rolls[region]))
            {
                let f = roll.finish()?;
                finish_file(tree, f)?;
                tree.sidecar(
                    &roll_path(r.code, *year),
                    &Dc {
                        title: format!("Land tax roll {year}, {}", r.name),
                        creator: "Tax Administration, central computing service".into(),
                        subject: vec!["land tax".into(), "mainframe records".into()],
                        description: format!(
                            "Tape copy of data set VLM.CADASTRE.LANDTAX.Y{year}.{}: fixed-length 120-byte EBCDIC (code page 037) records with packed-decimal amounts, layout LGN-EBC-1; read with the ebcdic decoder.",
                            r.code
                        ),
                        publisher: PUBLISHER.into(),
                        date: format!("{year}-12-31"),
                        kind: "Dataset".into(),
                        format: "application/octet-stream".into(),
                        identifier: format!("urn:vl:landtax:{year}:{}", r.code),
                        language: vec!["en".into()],
                        relation: vec![format!("land/parcels-{lower}.csv")],
                        coverage: format!("{}, {year}", r.name),
                        rights: RIGHTS.into(),
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// Columns of the parcel CSVs.
pub const PARCEL_COLUMNS: [&str; 11] = [
    "parcel_id",
    "sheet",
    "region",
    "municipality",
    "land_use",
    "area_m2",
    "owner_id",
    "owner_name",
    "centroid_lat",
    "centroid_lon",
    "boundary_wkt",
];

fn roll_path(code: &str, year: i64) -> String {
    format!("legacy/land-tax-{year}-{}.ebc", code.to_lowercase())
}

fn finish_file(tree: &mut Tree, mut f: Counted) -> io::Result<()> {
    f.flush()?;
    tree.count(f.bytes);
    Ok(())
}
