//! PREMIS 3 export of a small archive's events, validated against the
//! PREMIS 3.0 XML schema and the elements and order the PREMIS 3.0 data
//! dictionary requires (`tests/premis_check.py`, the schema in
//! `tests/premis/`), with broken documents refused by the same check.

use legation_interchange::bagit::Algorithm;
use legation_interchange::premis::{Agent, Event, FormatInfo, Identifier, Object, PremisWriter};
use legation_interchange::pronom;
use std::path::Path;
use std::process::Command;

fn check(xml: &str) -> (bool, String) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), xml).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/premis_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(tmp.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn export() -> String {
    let legal = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/national/legal");
    let mut names: Vec<_> = std::fs::read_dir(&legal)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let issuer = Identifier::new("legation-issuer-fingerprint", "ed25519:0123456789abcdef");
    let tool = Identifier::new("URI", "urn:legation:cli:0.1.0");
    let matcher = Identifier::new("URI", "urn:legation:pronom:109");
    let mut w = PremisWriter::new(Vec::new()).unwrap();
    let mut ids = Vec::new();
    for name in &names {
        let bytes = std::fs::read(legal.join(name)).unwrap();
        let mut h = Algorithm::Sha256.hasher();
        h.update(&bytes);
        let found = pronom::identify_bytes(name, &bytes);
        let id = Identifier::new("legation-record-path", format!("legal/{name}"));
        w.object(&Object {
            ids: vec![id.clone()],
            fixity: vec![("SHA-256".into(), h.finish_hex())],
            size: Some(bytes.len() as u64),
            format: found.format.map(|f| FormatInfo {
                name: f.name.clone(),
                version: Some(f.version.clone()),
                puid: Some(f.puid.clone()),
                basis: Some(found.basis.as_str().into()),
            }),
            original_name: Some(format!("legal/{name} & <co>")),
        })
        .unwrap();
        ids.push(id);
    }
    let event = |n: u32, kind: &str, agents: Vec<(Identifier, String)>, note: &str| Event {
        id: Identifier::new("legation-event", format!("e{n}")),
        event_type: kind.into(),
        date_time: "2026-12-07T10:00:00Z".into(),
        detail: Some(format!("{kind} of {} records", ids.len())),
        outcome: Some("success".into()),
        outcome_note: Some(note.into()),
        agents,
        objects: ids
            .iter()
            .map(|i| (i.clone(), "outcome".to_string()))
            .collect(),
    };
    let by_tool = || {
        vec![
            (tool.clone(), "executing program".to_string()),
            (issuer.clone(), "implementer".to_string()),
        ]
    };
    w.event(&event(1, "ingestion", by_tool(), "packed"))
        .unwrap();
    w.event(&event(
        2,
        "validation",
        by_tool(),
        "bag valid: every payload file against manifest-sha256.txt",
    ))
    .unwrap();
    w.event(&event(
        3,
        "format identification",
        vec![(matcher.clone(), "executing program".into())],
        "PRONOM 109",
    ))
    .unwrap();
    w.event(&event(4, "rendering", by_tool(), "decoder text: ok"))
        .unwrap();
    for (id, name, kind, version) in [
        (&issuer, "Velmora National Archives", "organization", None),
        (&tool, "legation", "software", Some("0.1.0")),
        (
            &matcher,
            "legation-interchange PRONOM matcher",
            "software",
            Some("PRONOM 109"),
        ),
    ] {
        w.agent(&Agent {
            id: id.clone(),
            name: name.into(),
            agent_type: kind.into(),
            version: version.map(String::from),
            note: None,
        })
        .unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

#[test]
fn an_archive_export_follows_the_premis_3_order() {
    let xml = export();
    assert!(
        xml.contains("<premis:formatRegistryKey>fmt/1149</premis:formatRegistryKey>"),
        "{xml}"
    );
    let (ok, said) = check(&xml);
    assert!(ok, "{said}\n{xml}");
    assert!(
        said.starts_with(
            "PREMIS ok (valid against the PREMIS 3.0 schema): 20 objects, 4 events, 3 agents"
        ),
        "{said}"
    );
}

#[test]
fn the_check_refuses_what_premis_3_does_not_allow() {
    let xml = export();
    // An event before the objects.
    let first_event = xml.find("  <premis:event>").unwrap();
    let end_event = xml[first_event..].find("  </premis:event>\n").unwrap() + first_event + 18;
    let event = &xml[first_event..end_event];
    let first_object = xml.find("  <premis:object").unwrap();
    let moved = format!(
        "{}{event}{}",
        &xml[..first_object],
        xml[..first_event][first_object..].to_string() + &xml[end_event..]
    );
    let (ok, said) = check(&moved);
    assert!(!ok && said.contains("out of order"), "{said}");
    // The schema itself refuses it too.
    assert!(said.contains("schema: "), "{said}");
    // A missing eventDateTime, a size after the format, an unknown event type.
    for (from, to, why) in [
        (
            "    <premis:eventDateTime>2026-12-07T10:00:00Z</premis:eventDateTime>\n",
            "",
            "eventDateTime",
        ),
        (
            "<premis:eventType>rendering</premis:eventType>",
            "<premis:eventType>drawing</premis:eventType>",
            "vocabulary",
        ),
        (
            "<premis:linkingAgentIdentifierValue>urn:legation:pronom:109<",
            "<premis:linkingAgentIdentifierValue>urn:x<",
            "not in the document",
        ),
    ] {
        assert!(xml.contains(from), "{from}");
        let (ok, said) = check(&xml.replacen(from, to, 1));
        assert!(!ok && said.contains(why), "{why}: {said}");
    }
    let size = xml.find("      <premis:size>").unwrap();
    let size_end = xml[size..].find('\n').unwrap() + size + 1;
    let line = &xml[size..size_end];
    let swapped = xml.replacen(line, "", 1).replacen(
        "      </premis:format>\n",
        &format!("      </premis:format>\n{line}"),
        1,
    );
    let (ok, said) = check(&swapped);
    assert!(!ok && said.contains("size"), "{said}");
    assert!(said.contains("schema: "), "{said}");
    // What only the schema knows: an element PREMIS 3 does not have.
    let (ok, said) = check(&xml.replacen(
        "<premis:size>",
        "<premis:sizeInBytes>1</premis:sizeInBytes><premis:size>",
        1,
    ));
    assert!(!ok && said.contains("schema: "), "{said}");
}
