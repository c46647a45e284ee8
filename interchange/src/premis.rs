//! PREMIS 3 XML (namespace `http://www.loc.gov/premis/v3`), written as a
//! stream: objects, then events, then agents, the order the PREMIS 3.0
//! schema's `premis` element requires, each element with its children in
//! the schema's order. Memory does not grow with the number of objects
//! (a 10,000,000-record archive's export is one pass).
//!
//! Event types are the Library of Congress vocabulary's
//! (<http://id.loc.gov/vocabulary/preservation/eventType>): ingestion,
//! validation, format identification, rendering, and others by name.
//! Formats are given by name and version with PRONOM as the registry and
//! the PUID as its key.
//!
//! No registry package ships the PREMIS 3.0 XSD (metsrw 0.7.0 and
//! eark-validator 1.1.3 on PyPI ship METS schemas only; Debian has no
//! PREMIS package): the tests keep the schema, from the PREMIS Editorial
//! Committee's repository, in `tests/premis/` (source and licence there)
//! and validate the output against it with `xmlschema`, and against the
//! data dictionary's rules the schema does not state (`tests/premis.rs`).

use std::io::{self, Write};

/// The PREMIS 3 namespace.
pub const NAMESPACE: &str = "http://www.loc.gov/premis/v3";

/// An identifier: its type (a scheme: `UUID`, `legation-record-path`,
/// `URI`, ...) and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    /// The identifier's type.
    pub kind: String,
    /// Its value.
    pub value: String,
}

impl Identifier {
    /// An identifier of a type and value.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Identifier {
        Identifier {
            kind: kind.into(),
            value: value.into(),
        }
    }
}

/// A format as identified: PRONOM name, version and PUID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatInfo {
    /// PRONOM's format name.
    pub name: String,
    /// Its version, if any.
    pub version: Option<String>,
    /// The PUID (`fmt/13`), the key in PRONOM.
    pub puid: Option<String>,
    /// How it was identified (`signature`, `extension`), written as a
    /// format note.
    pub basis: Option<String>,
}

/// A file object (one record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its identifiers (at least one).
    pub ids: Vec<Identifier>,
    /// Message digests: (algorithm, hexadecimal digest).
    pub fixity: Vec<(String, String)>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Its format; `None` writes PRONOM's "unidentified" as the name.
    pub format: Option<FormatInfo>,
    /// The name it had before ingest (its path).
    pub original_name: Option<String>,
}

/// A preservation event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its identifier.
    pub id: Identifier,
    /// The event type (LOC vocabulary: `ingestion`, `validation`,
    /// `format identification`, `rendering`, ...).
    pub event_type: String,
    /// When, as an ISO 8601 date and time.
    pub date_time: String,
    /// What was done, in words.
    pub detail: Option<String>,
    /// The outcome (`success`, `failure`, ...).
    pub outcome: Option<String>,
    /// A note on the outcome.
    pub outcome_note: Option<String>,
    /// Agents and their roles (`executing program`, `implementer`, ...).
    pub agents: Vec<(Identifier, String)>,
    /// Objects and their roles (`source`, `outcome`).
    pub objects: Vec<(Identifier, String)>,
}

/// An agent: a person, organization or software.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Its identifier.
    pub id: Identifier,
    /// Its name.
    pub name: String,
    /// `person`, `organization` or `software` (LOC vocabulary).
    pub agent_type: String,
    /// Its version, for software.
    pub version: Option<String>,
    /// A note (an issuer's key fingerprint, ...).
    pub note: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Stage {
    Objects,
    Events,
    Agents,
}

/// Writes a PREMIS 3 document, one element at a time.
pub struct PremisWriter<W: Write> {
    out: W,
    stage: Stage,
    objects: u64,
}

impl<W: Write> PremisWriter<W> {
    /// Starts the document.
    pub fn new(mut out: W) -> io::Result<PremisWriter<W>> {
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<premis:premis xmlns:premis="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{NAMESPACE} https://www.loc.gov/standards/premis/premis.xsd" version="3.0">"#
        )?;
        Ok(PremisWriter {
            out,
            stage: Stage::Objects,
            objects: 0,
        })
    }

    fn enter(&mut self, stage: Stage, what: &str) -> io::Result<()> {
        if stage < self.stage {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("PREMIS: an {what} after the document's later elements (objects, then events, then agents)"),
            ));
        }
        self.stage = stage;
        Ok(())
    }

    /// Writes a file object. Objects come first.
    pub fn object(&mut self, o: &Object) -> io::Result<()> {
        self.enter(Stage::Objects, "object")?;
        if o.ids.is_empty() {
            return Err(invalid("an object with no identifier"));
        }
        let out = &mut self.out;
        writeln!(out, r#"  <premis:object xsi:type="premis:file">"#)?;
        for id in &o.ids {
            identifier(out, "    ", "objectIdentifier", id)?;
        }
        writeln!(out, "    <premis:objectCharacteristics>")?;
        writeln!(
            out,
            "      <premis:compositionLevel>0</premis:compositionLevel>"
        )?;
        for (alg, digest) in &o.fixity {
            writeln!(out, "      <premis:fixity>")?;
            leaf(out, "        ", "messageDigestAlgorithm", alg)?;
            leaf(out, "        ", "messageDigest", digest)?;
            writeln!(out, "      </premis:fixity>")?;
        }
        if let Some(size) = o.size {
            writeln!(out, "      <premis:size>{size}</premis:size>")?;
        }
        writeln!(out, "      <premis:format>")?;
        writeln!(out, "        <premis:formatDesignation>")?;
        match &o.format {
            Some(f) => {
                leaf(out, "          ", "formatName", &f.name)?;
                if let Some(v) = f.version.as_deref().filter(|v| !v.is_empty()) {
                    leaf(out, "          ", "formatVersion", v)?;
                }
            }
            None => leaf(out, "          ", "formatName", "unidentified")?,
        }
        writeln!(out, "        </premis:formatDesignation>")?;
        if let Some(puid) = o.format.as_ref().and_then(|f| f.puid.as_deref()) {
            writeln!(out, "        <premis:formatRegistry>")?;
            leaf(out, "          ", "formatRegistryName", "PRONOM")?;
            leaf(out, "          ", "formatRegistryKey", puid)?;
            leaf(out, "          ", "formatRegistryRole", "specification")?;
            writeln!(out, "        </premis:formatRegistry>")?;
        }
        if let Some(basis) = o.format.as_ref().and_then(|f| f.basis.as_deref()) {
            leaf(
                out,
                "        ",
                "formatNote",
                &format!("identified by {basis}"),
            )?;
        }
        writeln!(out, "      </premis:format>")?;
        writeln!(out, "    </premis:objectCharacteristics>")?;
        if let Some(name) = &o.original_name {
            leaf(out, "    ", "originalName", name)?;
        }
        writeln!(out, "  </premis:object>")?;
        self.objects += 1;
        Ok(())
    }

    /// Writes an event. Events come after every object.
    pub fn event(&mut self, e: &Event) -> io::Result<()> {
        self.enter(Stage::Events, "event")?;
        let out = &mut self.out;
        writeln!(out, "  <premis:event>")?;
        identifier(out, "    ", "eventIdentifier", &e.id)?;
        leaf(out, "    ", "eventType", &e.event_type)?;
        leaf(out, "    ", "eventDateTime", &e.date_time)?;
        if let Some(detail) = &e.detail {
            writeln!(out, "    <premis:eventDetailInformation>")?;
            leaf(out, "      ", "eventDetail", detail)?;
            writeln!(out, "    </premis:eventDetailInformation>")?;
        }
        if e.outcome.is_some() || e.outcome_note.is_some() {
            writeln!(out, "    <premis:eventOutcomeInformation>")?;
            if let Some(outcome) = &e.outcome {
                leaf(out, "      ", "eventOutcome", outcome)?;
            }
            if let Some(note) = &e.outcome_note {
                writeln!(out, "      <premis:eventOutcomeDetail>")?;
                leaf(out, "        ", "eventOutcomeDetailNote", note)?;
                writeln!(out, "      </premis:eventOutcomeDetail>")?;
            }
            writeln!(out, "    </premis:eventOutcomeInformation>")?;
        }
        for (id, role) in &e.agents {
            linking(out, "linkingAgent", id, role)?;
        }
        for (id, role) in &e.objects {
            linking(out, "linkingObject", id, role)?;
        }
        writeln!(out, "  </premis:event>")
    }

    /// Writes an agent. Agents come last.
    pub fn agent(&mut self, a: &Agent) -> io::Result<()> {
        self.enter(Stage::Agents, "agent")?;
        let out = &mut self.out;
        writeln!(out, "  <premis:agent>")?;
        identifier(out, "    ", "agentIdentifier", &a.id)?;
        leaf(out, "    ", "agentName", &a.name)?;
        leaf(out, "    ", "agentType", &a.agent_type)?;
        if let Some(v) = &a.version {
            leaf(out, "    ", "agentVersion", v)?;
        }
        if let Some(n) = &a.note {
            leaf(out, "    ", "agentNote", n)?;
        }
        writeln!(out, "  </premis:agent>")
    }

    /// Ends the document (PREMIS requires at least one object) and
    /// returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        if self.objects == 0 {
            return Err(invalid("a PREMIS document needs at least one object"));
        }
        writeln!(self.out, "</premis:premis>")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.into())
}

fn identifier(
    out: &mut impl Write,
    indent: &str,
    element: &str,
    id: &Identifier,
) -> io::Result<()> {
    let base = element.trim_end_matches("Identifier");
    writeln!(out, "{indent}<premis:{element}>")?;
    leaf(
        out,
        &format!("{indent}  "),
        &format!("{base}IdentifierType"),
        &id.kind,
    )?;
    leaf(
        out,
        &format!("{indent}  "),
        &format!("{base}IdentifierValue"),
        &id.value,
    )?;
    writeln!(out, "{indent}</premis:{element}>")
}

fn linking(out: &mut impl Write, base: &str, id: &Identifier, role: &str) -> io::Result<()> {
    writeln!(out, "    <premis:{base}Identifier>")?;
    leaf(out, "      ", &format!("{base}IdentifierType"), &id.kind)?;
    leaf(out, "      ", &format!("{base}IdentifierValue"), &id.value)?;
    leaf(out, "      ", &format!("{base}Role"), role)?;
    writeln!(out, "    </premis:{base}Identifier>")
}

/// `<premis:NAME>text</premis:NAME>`, the text escaped; text with a
/// character XML 1.0 cannot hold (most control characters) is refused,
/// naming the element.
fn leaf(out: &mut impl Write, indent: &str, name: &str, text: &str) -> io::Result<()> {
    write!(out, "{indent}<premis:{name}>")?;
    escape(out, name, text)?;
    writeln!(out, "</premis:{name}>")
}

fn escape(out: &mut impl Write, element: &str, text: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\t' | '\n' | '\r' => continue,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(invalid(format!(
                    "PREMIS {element}: {text:?} has U+{:04X}, which XML 1.0 cannot hold",
                    c as u32
                )))
            }
            _ => continue,
        };
        out.write_all(&text.as_bytes()[start..i])?;
        out.write_all(rep.as_bytes())?;
        start = i + c.len_utf8();
    }
    out.write_all(&text.as_bytes()[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(path: &str) -> Object {
        Object {
            ids: vec![Identifier::new("legation-record-path", path)],
            fixity: vec![("BLAKE3".into(), "ab".repeat(32))],
            size: Some(3),
            format: None,
            original_name: Some(path.into()),
        }
    }

    #[test]
    fn order_is_enforced_and_text_escaped() {
        let mut w = PremisWriter::new(Vec::new()).unwrap();
        w.object(&object("a&b<c>\"d\".txt")).unwrap();
        let agent = Agent {
            id: Identifier::new("URI", "x"),
            name: "legation".into(),
            agent_type: "software".into(),
            version: None,
            note: None,
        };
        w.agent(&agent).unwrap();
        let event = Event {
            id: Identifier::new("UUID", "1"),
            event_type: "ingestion".into(),
            date_time: "2026-12-07T10:00:00Z".into(),
            detail: None,
            outcome: None,
            outcome_note: None,
            agents: vec![],
            objects: vec![],
        };
        assert!(w.event(&event).is_err());
        assert!(w.object(&object("b")).is_err());
        let xml = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(xml.contains("a&amp;b&lt;c&gt;&quot;d&quot;.txt"), "{xml}");
        let mut w = PremisWriter::new(Vec::new()).unwrap();
        let e = w.object(&object("bell\u{7}")).unwrap_err().to_string();
        assert!(e.contains("U+0007") && e.contains("IdentifierValue"), "{e}");
        assert!(PremisWriter::new(Vec::new()).unwrap().finish().is_err());
    }
}
