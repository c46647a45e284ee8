//! Reading an archive's event log (format 2.1, SPEC §36,
//! [`legation_format::v2::events`]): the `events` entry, pinned by the
//! entry table like every other entry, refused before it is read when it
//! claims more than [`events::MAX_ENTRY`] bytes, opened under the data
//! key.

use legation_format::crypto::DataKey;
use legation_format::v2::events::{self, Log};

use crate::{Archive, Result, Unlocked};

/// The archive's event log, or `None` when it has none (a 1.x archive, a
/// 2.0 one, or one written without a log).
pub fn read(u: &Unlocked) -> Result<Option<Log>> {
    read_from(u.archive(), u.data_key())
}

/// As [`read`], from an archive and its data key (a generation file of a
/// series, whose key the series gives).
pub fn read_from(a: &Archive, data_key: &DataKey) -> Result<Option<Log>> {
    let Some(e) = a.entries().iter().find(|e| e.name == events::EVENTS_ENTRY) else {
        return Ok(None);
    };
    events::check_size(e.size)?;
    if !a.is_v2() {
        return Ok(None);
    }
    let bytes = a.read_entry(events::EVENTS_ENTRY, events::MAX_ENTRY)?;
    Ok(Some(Log::open(&bytes, data_key, &a.manifest().archive_id)?))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use legation_format::keys::{Identity, IssuerKey};
    use legation_format::v2::events::{Common, Log, Outcome, EVENTS_ENTRY, PUID_KEY};
    use legation_format::v2::writer::ArchiveWriter;
    use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
    use rand_chacha::rand_core::SeedableRng;

    use crate::source::MemSource;
    use crate::{Archive, Key};

    const TOOL: &str = "legation 0.0.0-test";

    /// An archive of three records (two identified) with a log: a
    /// validation event given, the writer's own after it.
    fn packed(with_log: bool) -> (Vec<u8>, Identity, [u8; 32]) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(24);
        let issuer = IssuerKey::generate(&mut rng);
        let public = issuer.public();
        let identity = Identity::generate(&mut rng);
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: Some(issuer),
            recipients: vec![identity.public()],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng).unwrap();
        if with_log {
            let c = Common {
                generation: 0,
                time: 1_767_225_000,
                issuer: Some(public),
                tool: TOOL.into(),
            };
            let v = c.event(
                "validation",
                Outcome::Success,
                "BagIt bag validated".into(),
                BTreeMap::from([("payload files".to_owned(), 3)]),
            );
            w.log_events(TOOL, Log::default(), vec![v]).unwrap();
        }
        for (p, puid) in [
            ("a.png", "fmt/13"),
            ("b.png", "fmt/13"),
            ("c.bin", "unidentified"),
        ] {
            let meta = RecordMeta {
                path: p.into(),
                media_type: "application/octet-stream".into(),
                metadata: BTreeMap::from([(PUID_KEY.to_owned(), vec![puid.to_owned()])]),
                ..Default::default()
            };
            w.add_record(meta, RecordSource::Bytes(p.as_bytes()))
                .unwrap();
        }
        (w.finish().unwrap().into_inner(), identity, public)
    }

    #[test]
    fn a_packed_log_reads_back_and_every_level_of_verification_passes() {
        let (bytes, id, issuer) = packed(true);
        let a = Archive::open(MemSource::new(bytes.clone(), "log.lgn")).unwrap();
        // Before the bundles, where a 2.0 reader ignores it.
        let names: Vec<&str> = a.entries().iter().map(|e| e.name.as_str()).collect();
        let at = names.iter().position(|n| *n == EVENTS_ENTRY).unwrap();
        assert_eq!(names[at + 1], "b/00000000", "{names:?}");
        let r = a.verify_fixity(Some(&issuer), &mut |_, _| true);
        assert!(r.ok(), "{:?}", r.problems);
        let r = a.verify_fixity_sample(Some(&issuer), 64, 1, &mut |_, _| true);
        assert!(r.ok(), "{:?}", r.problems);
        let u = a
            .unlock(&[Key::Identity(Identity::from_bytes(*id.secret()))])
            .unwrap();
        let r = u.verify_content(Some(&issuer), &mut |_, _| true);
        assert!(r.ok(), "{:?}", r.problems);
        let log = super::read(&u).unwrap().unwrap();
        let types: Vec<&str> = log.events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "validation",
                "ingestion",
                "format identification",
                "rendering"
            ]
        );
        assert_eq!(log.events[1].count("records"), Some(3));
        assert_eq!(log.events[1].issuer, Some(issuer));
        assert_eq!(log.events[1].tool, TOOL);
        assert_eq!(log.events[2].count("puid fmt/13"), Some(2));
        assert_eq!(log.events[2].count("unidentified"), Some(1));
        assert_eq!(log.events[3].count("no decoder"), Some(3));
        // An archive written without a log has none.
        let (plain, id, _) = packed(false);
        let a = Archive::open(MemSource::new(plain, "none.lgn")).unwrap();
        let u = a.unlock(&[Key::Identity(id)]).unwrap();
        assert!(super::read(&u).unwrap().is_none());
    }

    #[test]
    fn a_changed_log_byte_is_a_fixity_failure_naming_the_entry() {
        let (mut bytes, _, issuer) = packed(true);
        let a = Archive::open(MemSource::new(bytes.clone(), "log.lgn")).unwrap();
        let e = a.entry(EVENTS_ENTRY).unwrap().clone();
        bytes[e.data_offset() as usize + 40] ^= 1;
        let a = Archive::open(MemSource::new(bytes, "bad.lgn")).unwrap();
        let r = a.verify_fixity(Some(&issuer), &mut |_, _| true);
        assert!(!r.ok());
        let text = format!("{:?}", r.problems);
        assert!(text.contains(EVENTS_ENTRY), "{text}");
    }
}
