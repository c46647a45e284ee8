//! Unlocking through quorum slots (SPEC §7.9): shares given as files
//! ([`Key::Share`]) and shares that identities and passphrases unwrap,
//! rebuilt into the data key. Format 2.0 only: a 1.x reader skips a
//! quorum slot as a slot of unknown type.

use legation_format::crypto::{self, Argon2Params, DataKey, KeySlot};
use legation_format::quorum::{self, QuorumSlot, Share};

use crate::{Archive, Key, Result};

/// The archive's quorum slots with their positions (none for 1.x).
fn slots(a: &Archive) -> Vec<(usize, &QuorumSlot)> {
    if !a.is_v2() {
        return Vec::new();
    }
    a.manifest()
        .key_slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            KeySlot::Quorum(q) => Some((i, &**q)),
            _ => None,
        })
        .collect()
}

/// What unlocking checks before it derives any key: at most
/// [`quorum::bounds::MAX_SLOTS`] quorum slots, each within its bounds,
/// and at most 8 Argon2id runs with the passphrase holders counted
/// (`passphrase_slots` ordinary ones). A slot out of bounds is never
/// skipped (§7.6).
pub(crate) fn check(a: &Archive, passphrase_slots: usize) -> Result<()> {
    let slots = slots(a);
    if let Some((i, _)) = slots.get(quorum::bounds::MAX_SLOTS) {
        return Err(quorum::QuorumError::Policy {
            slot: *i,
            what: format!(
                "more than {} quorum slots in the archive",
                quorum::bounds::MAX_SLOTS
            ),
        }
        .into());
    }
    let mut runs = passphrase_slots;
    for (i, q) in &slots {
        q.check(*i)?;
        for s in &q.shares {
            if let quorum::HolderShare {
                holder: quorum::HolderSlot::Passphrase { params, .. },
                path,
                ..
            } = s
            {
                params.check(*i)?;
                runs += 1;
                if runs > crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS {
                    return Err(legation_format::Error::HostileKdf {
                        slot: *i,
                        what: format!(
                            "passphrase holder {} is Argon2id run {runs}, more than the {} a reader makes",
                            quorum::path_name(path),
                            crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS
                        ),
                    }
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// The data key that `keys` rebuild through a quorum slot, with the
/// slot's position; `None` when they give no share of any. Shares given
/// as files come first; identities and passphrases unwrap the holders
/// no file stands for. A passphrase holder above the default Argon2id
/// cost is derived only when `allow_costly` says yes.
pub(crate) fn open(
    a: &Archive,
    keys: &[Key],
    allow_costly: &mut dyn FnMut(usize, &Argon2Params) -> bool,
) -> Result<Option<(usize, DataKey)>> {
    let slots = slots(a);
    let given: Vec<&Share> = keys
        .iter()
        .filter_map(|k| match k {
            Key::Share(s) => Some(s),
            _ => None,
        })
        .collect();
    if slots.is_empty() {
        if let Some(s) = given.first() {
            // Checked against the archive all the same, to name a share
            // of another archive as such.
            quorum::shares_for(&a.manifest().archive_id, &[], &[s])?;
        }
        return Ok(None);
    }
    let id = a.manifest().archive_id;
    let per_slot = quorum::shares_for(&id, &slots, &given)?;
    let identities: Vec<&[u8; 32]> = keys
        .iter()
        .filter_map(|k| match k {
            Key::Identity(i) => Some(i.secret()),
            _ => None,
        })
        .collect();
    let passphrases: Vec<&str> = keys
        .iter()
        .filter_map(|k| match k {
            Key::Passphrase(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let pq_identities: Vec<&legation_format::pq::PqIdentity> = keys
        .iter()
        .filter_map(|k| match k {
            Key::PqIdentity(i) => Some(i),
            _ => None,
        })
        .collect();
    let mut short = None;
    for ((i, q), files) in slots.iter().zip(per_slot) {
        let mut derive = |_: &[u8], p: &Argon2Params| !p.above_default() || allow_costly(*i, p);
        let unwrapped: Vec<Share> = q
            .unwrap_holders(&id, &identities, &passphrases, &mut derive)
            .into_iter()
            .chain(q.unwrap_pq_holders(&id, &pq_identities))
            .filter(|s| !files.iter().any(|f| f.path == s.path))
            .collect();
        let all: Vec<&Share> = files.iter().copied().chain(&unwrapped).collect();
        match q.rebuild(*i, &id, &all) {
            Ok(Some(key)) => return Ok(Some((*i, key))),
            Ok(None) => {}
            Err(e @ quorum::QuorumError::NotEnoughShares { .. }) => {
                short.get_or_insert(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    match short {
        Some(e) => Err(e.into()),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use legation_format::crypto::Argon2Params;
    use legation_format::keys::Identity;
    use legation_format::quorum::{Holder, Policy, QuorumError};
    use legation_format::v2::writer::ArchiveWriter;
    use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
    use rand_chacha::rand_core::SeedableRng;
    use zeroize::Zeroizing;

    use crate::source::MemSource;
    use crate::{Archive, Error, ErrorKind, Key};

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn ids() -> Vec<Identity> {
        (0..5).map(|i| Identity::from_bytes([i + 40; 32])).collect()
    }

    /// A 2.0 archive of one record: 2 of 3 ministries beside an
    /// ordinary passphrase slot (the sealed envelope), and a second
    /// quorum slot 1 of (officer, passphrase officer).
    fn archive(seed: u64) -> Archive {
        let rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let ids = ids();
        let holder = |i: usize| Policy::Holder(Holder::X25519(ids[i].public()));
        let policies = [
            Policy::Quorum {
                k: 2,
                members: vec![holder(0), holder(1), holder(2)],
            },
            Policy::Quorum {
                k: 1,
                members: vec![
                    holder(3),
                    Policy::Holder(Holder::Passphrase(Zeroizing::new("officer".into()), CHEAP)),
                ],
            },
        ];
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: None,
            recipients: vec![],
            passphrases: vec![(Zeroizing::new("sealed envelope".into()), CHEAP)],
            embed_spec: false,
            viewer: None,
        };
        let out = std::io::Cursor::new(Vec::new());
        let mut w = ArchiveWriter::new_with_quorum(out, opts, rng, None, &policies).unwrap();
        let meta = RecordMeta {
            path: "register.txt".into(),
            media_type: "text/plain".into(),
            ..Default::default()
        };
        w.add_record(meta, RecordSource::Bytes(b"one record\n"))
            .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        Archive::open(MemSource::new(bytes, format!("q{seed}.lgn"))).unwrap()
    }

    /// The share an identity's holder unwraps (as `legation share` does).
    fn share_of(a: &Archive, who: &Identity) -> legation_format::quorum::Share {
        let m = a.manifest();
        m.key_slots
            .iter()
            .find_map(|s| match s {
                legation_format::crypto::KeySlot::Quorum(q) => q
                    .unwrap_holders(&m.archive_id, &[who.secret()], &[], &mut |_, _| true)
                    .pop(),
                _ => None,
            })
            .unwrap()
    }

    /// The error unlocking with `keys` gives.
    fn refused(a: &Archive, keys: &[Key]) -> Error {
        a.unlock(keys)
            .err()
            .expect("these keys must not open the archive")
    }

    fn record(u: &crate::Unlocked) -> Vec<u8> {
        let r = u.find("register.txt").unwrap();
        u.read_record(&r, 1 << 20).unwrap()
    }

    #[test]
    fn quorum_slots_beside_an_ordinary_slot() {
        let a = archive(1);
        let ids = ids();
        assert_eq!(a.manifest().key_slots.len(), 3);
        // Two ministries' share files.
        let keys = [
            Key::Share(share_of(&a, &ids[0])),
            Key::Share(share_of(&a, &ids[2])),
        ];
        assert_eq!(record(&a.unlock(&keys).unwrap()), b"one record\n");
        // One share file and another ministry's identity.
        let keys = [
            Key::Share(share_of(&a, &ids[0])),
            Key::Identity(Identity::from_bytes(*ids[1].secret())),
        ];
        assert_eq!(record(&a.unlock(&keys).unwrap()), b"one record\n");
        // The second slot: one officer alone, or the passphrase officer.
        assert!(a
            .unlock(&[Key::Identity(Identity::from_bytes(*ids[3].secret()))])
            .is_ok());
        assert!(a
            .unlock(&[Key::Passphrase(Zeroizing::new("officer".into()))])
            .is_ok());
        // The sealed envelope.
        assert!(a
            .unlock(&[Key::Passphrase(Zeroizing::new("sealed envelope".into()))])
            .is_ok());
        // One ministry alone: named, not a wrong key.
        let e = refused(&a, &[Key::Share(share_of(&a, &ids[1]))]);
        assert_eq!(e.kind(), ErrorKind::WrongKey);
        assert_eq!(
            e.to_string(),
            "key slot 1: not enough shares: node top (2 of 3) has 1"
        );
        // A share of another archive with the same policy and keys.
        let other = archive(2);
        let e = refused(
            &a,
            &[
                Key::Share(share_of(&a, &ids[0])),
                Key::Share(share_of(&other, &ids[1])),
            ],
        );
        assert!(
            matches!(&e, Error::Quorum(QuorumError::OtherArchive { path, .. }) if path == "2"),
            "{e}"
        );
        // The same holder's share twice.
        let e = refused(
            &a,
            &[
                Key::Share(share_of(&a, &ids[0])),
                Key::Share(share_of(&a, &ids[0])),
            ],
        );
        assert_eq!(
            e.to_string(),
            "key slot 1: two shares given for holder 1; each holder takes part once"
        );
        // A flipped bit.
        let mut bad = share_of(&a, &ids[0]);
        bad.value[0] ^= 0x80;
        let e = refused(&a, &[Key::Share(bad), Key::Share(share_of(&a, &ids[1]))]);
        assert!(
            matches!(e, Error::Quorum(QuorumError::ShareMismatch { slot: 1, .. })),
            "{e}"
        );
        // A stranger: no key.
        let e = refused(&a, &[Key::Identity(Identity::from_bytes([7; 32]))]);
        assert!(matches!(e, Error::NoKey { slots: 3 }), "{e}");
    }
}
