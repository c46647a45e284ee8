//! Quorum shares in the unlock form (SPEC §7.9, §7.10), without egui:
//! what a quorum slot's policy looks like to a reader without a key, a
//! share read from a share file or typed from a share sheet's words and
//! checked against the archive before it is listed, and how far the shares
//! listed go towards each slot's threshold.

use legation_format::crypto::KeySlot;
use legation_format::quorum::{self, QuorumError, QuorumSlot, Share};
use legation_reader::Archive;
use zeroize::Zeroizing;

/// Longest holder name shown (a share file's name is the holder's own
/// words, unauthenticated: a label, never trusted).
const NAME_MAX: usize = 80;

/// Largest share file read (a share file is about 400 bytes).
pub(crate) const SHARE_FILE_MAX: usize = 16 << 10;

/// The archive's quorum slots with their positions in `key_slots`.
pub(crate) fn quorum_slots(a: &Archive) -> Vec<(usize, &QuorumSlot)> {
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

/// A quorum slot as the public facts and the unlock form describe it: its
/// policy's shape and its holders' kinds (never their keys), as `legation
/// info` does, or why the slot is refused.
pub(crate) fn describe(q: &QuorumSlot, slot: usize) -> String {
    match q.check(slot) {
        Ok(shape) => format!("quorum {shape}"),
        Err(e) => format!("quorum (refused: {e})"),
    }
}

/// A share the reader added to the unlock form.
pub(crate) struct Added {
    /// The share (its value wiped when dropped).
    pub(crate) share: Share,
    /// The holder's name its file gives, if any.
    pub(crate) holder: Option<String>,
    /// Where it came from: the file's name, or "typed words".
    pub(crate) from: String,
    /// The position of its slot in `key_slots`.
    pub(crate) slot: usize,
}

impl Added {
    /// The share's holder index in its slot (`1`, `2.3`).
    pub(crate) fn index(&self) -> String {
        quorum::path_name(&self.share.path)
    }

    /// A copy of the share to hand to the reader.
    pub(crate) fn key(&self) -> legation_reader::Key {
        legation_reader::Key::Share(Share {
            archive_id: self.share.archive_id,
            slot_id: self.share.slot_id,
            path: self.share.path.clone(),
            value: Zeroizing::new(*self.share.value),
        })
    }
}

/// The holder's name a share file gives in its comment (`Holder: NAME`),
/// cut to [`NAME_MAX`] characters with control characters dropped.
pub(crate) fn holder_name(text: &str) -> Option<String> {
    let line = text
        .lines()
        .take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
        .find_map(|l| l.split_once("Holder:").map(|(_, n)| n))?;
    let name: String = line
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Reads a share file's text (`from` names it): the share and its holder's
/// name.
pub(crate) fn parse_file(bytes: &[u8], from: &str) -> Result<(Share, Option<String>), String> {
    if bytes.len() > SHARE_FILE_MAX {
        return Err(format!(
            "{from} is {} bytes: not a share file (they are under {} KiB)",
            bytes.len(),
            SHARE_FILE_MAX >> 10
        ));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| format!("{from} is not a share file (not text)"))?;
    let share = Share::from_file(text, from).map_err(|e| e.to_string())?;
    Ok((share, holder_name(text)))
}

/// Reads a share sheet's words (numbers and punctuation between them are
/// skipped); a word that does not check is named by its number.
pub(crate) fn parse_words(text: &str) -> Result<Share, String> {
    quorum::words::decode(text).map_err(|e| e.to_string())
}

/// Checks a share against the archive and the shares already listed
/// before it is listed: of this archive, of one of its quorum slots, of a
/// holder of that slot, matching that holder's check (a flipped bit is
/// caught here) and not given already. Gives its slot's position.
pub(crate) fn admit(a: &Archive, listed: &[Added], share: &Share) -> Result<usize, String> {
    let id = a.manifest().archive_id;
    let slots = quorum_slots(a);
    let name = || quorum::path_name(&share.path);
    if share.archive_id != id {
        return Err(QuorumError::OtherArchive {
            path: name(),
            archive: legation_format::hex::encode(&share.archive_id),
        }
        .to_string());
    }
    let Some((slot, q)) = slots.iter().find(|(_, q)| q.id == share.slot_id) else {
        return Err(QuorumError::UnknownSlot {
            path: name(),
            id: legation_format::hex::encode(&share.slot_id),
        }
        .to_string());
    };
    let slot = *slot;
    if listed
        .iter()
        .any(|l| l.share.slot_id == share.slot_id && l.share.path == share.path)
    {
        return Err(QuorumError::DuplicateShare { slot, path: name() }.to_string());
    }
    // Alone, the share is checked against its holder's check (in constant
    // time): a holder the policy lacks or a flipped bit is named here.
    match q.rebuild(slot, &id, &[share]) {
        Ok(_) | Err(QuorumError::NotEnoughShares { .. }) => Ok(slot),
        Err(e) => Err(e.to_string()),
    }
}

/// How far the shares listed go towards a slot's threshold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Whether they are enough to open the slot.
    pub(crate) ready: bool,
    /// In words: `2 of 3 shares`; for a nested policy each node's count,
    /// the top first (`top: 1 of 2 groups; group 1: 2 of 3 shares, ...`).
    pub(crate) text: String,
}

/// The progress of `q`'s threshold with the holders at `paths` (checked
/// shares of this slot). Call after [`QuorumSlot::check`] succeeded.
pub(crate) fn progress(q: &QuorumSlot, paths: &[&[u8]]) -> Progress {
    // Whether each node is open: its members open, deepest nodes first
    // (a node's members are holders or nodes one level deeper). At most
    // 16 nodes of 16 members each (quorum::bounds), so this stays small.
    let mut nodes: Vec<&quorum::Node> = q.nodes.iter().collect();
    nodes.sort_by_key(|n| std::cmp::Reverse(n.path.len()));
    let mut open: Vec<(&[u8], usize)> = Vec::new();
    let mut member = Vec::new();
    for node in &nodes {
        let mut have = 0;
        for i in 1..=node.n {
            member.clear();
            member.extend_from_slice(&node.path);
            member.push(i);
            let holder = paths.iter().any(|p| *p == &member[..]);
            let sub = open
                .iter()
                .any(|(p, h)| *p == &member[..] && *h >= usize::from(sub_k(q, p)));
            if holder || sub {
                have += 1;
            }
        }
        open.push((&node.path, have));
    }
    let nested = q.nodes.len() > 1;
    let mut parts = Vec::new();
    let mut ready = false;
    // Top first, then the groups in the slot's order.
    for node in &q.nodes {
        let have = open
            .iter()
            .find(|(p, _)| *p == &node.path[..])
            .map_or(0, |(_, h)| *h);
        if node.path.is_empty() {
            ready = have >= usize::from(node.k);
        }
        let what = if q.nodes.iter().any(|n| is_child(&node.path, &n.path)) {
            "members"
        } else {
            "shares"
        };
        let counted = format!("{have} of {} {what}", node.k);
        parts.push(if nested {
            let name = if node.path.is_empty() {
                "top".to_owned()
            } else {
                format!("group {}", quorum::path_name(&node.path))
            };
            format!("{name}: {counted} (of {})", node.n)
        } else {
            format!("{counted} (of {} holders)", node.n)
        });
    }
    Progress {
        ready,
        text: parts.join("; "),
    }
}

/// The k of the node at `path` (0 when none: a holder).
fn sub_k(q: &QuorumSlot, path: &[u8]) -> u8 {
    q.nodes.iter().find(|n| n.path == path).map_or(0, |n| n.k)
}

/// Whether `child` is one level below `parent`.
fn is_child(parent: &[u8], child: &[u8]) -> bool {
    child.len() == parent.len() + 1 && child.starts_with(parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use legation_format::crypto::Argon2Params;
    use legation_format::keys::Identity;
    use legation_format::quorum::{Holder, Policy};

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn ids() -> Vec<Identity> {
        (0..5).map(|i| Identity::from_bytes([i + 90; 32])).collect()
    }

    /// 2 of (2 of 3 ministries, 1 of (officer, passphrase officer)).
    fn nested(seed: u64) -> Archive {
        let ids = ids();
        let holder = |i: usize| Policy::Holder(Holder::X25519(ids[i].public()));
        let policy = Policy::Quorum {
            k: 2,
            members: vec![
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
            ],
        };
        let bytes = legation_tests::quorum_archive(&[policy], false, seed, &["a.txt"]);
        Archive::open(legation_reader::source::MemSource::new(bytes, "q.lgn")).unwrap()
    }

    fn share_of(a: &Archive, who: &Identity) -> Share {
        let (_, q) = quorum_slots(a)[0];
        q.unwrap_holders(
            &a.manifest().archive_id,
            &[who.secret()],
            &[],
            &mut |_, _| true,
        )
        .pop()
        .unwrap()
    }

    fn added(a: &Archive, share: Share) -> Added {
        let slot = admit(a, &[], &share).unwrap();
        Added {
            share,
            holder: None,
            from: "test".into(),
            slot,
        }
    }

    #[test]
    fn a_nested_policy_counts_each_group_and_the_top() {
        let a = nested(1);
        let ids = ids();
        let (slot, q) = quorum_slots(&a)[0];
        assert_eq!(
            describe(q, slot),
            "quorum 2 of (2 of (x25519, x25519, x25519), 1 of (x25519, argon2id))"
        );
        let p = progress(q, &[]);
        assert!(!p.ready);
        assert_eq!(
            p.text,
            "top: 0 of 2 members (of 2); group 1: 0 of 2 shares (of 3); group 2: 0 of 1 shares (of 2)"
        );
        let p = progress(q, &[&[1, 1], &[1, 3], &[2, 1]]);
        assert!(p.ready, "{}", p.text);
        assert!(p.text.starts_with("top: 2 of 2 members"), "{}", p.text);
        // One ministry and the officer: group 1 still short.
        let p = progress(q, &[&[1, 1], &[2, 1]]);
        assert!(!p.ready);
        assert!(p.text.contains("group 1: 1 of 2 shares"), "{}", p.text);
        // Checked against the archive before listing.
        let one = share_of(&a, &ids[0]);
        let listed = [added(&a, share_of(&a, &ids[0]))];
        assert_eq!(
            admit(&a, &listed, &one).unwrap_err(),
            "key slot 0: two shares given for holder 1.1; each holder takes part once"
        );
        let other = nested(2);
        let foreign = share_of(&other, &ids[1]);
        assert!(admit(&a, &[], &foreign)
            .unwrap_err()
            .contains("is of archive"));
        let mut bad = share_of(&a, &ids[2]);
        bad.value[31] ^= 1;
        assert_eq!(
            admit(&a, &[], &bad).unwrap_err(),
            "key slot 0: the share of holder 1.3 does not match the slot (damaged, mistyped or forged)"
        );
    }

    #[test]
    fn share_files_and_words_read_back_with_the_holders_name() {
        let a = nested(3);
        let s = share_of(&a, &ids()[3]);
        let file = s.to_file("Embassy\u{7} officer", 1, 2);
        let (back, name) = parse_file(file.as_bytes(), "officer.share").unwrap();
        assert_eq!(back.path, vec![2, 1]);
        assert_eq!(name.as_deref(), Some("Embassy officer"));
        assert_eq!(holder_name(&s.to_file("", 1, 2)), None);
        // A flipped hex digit: the file's checksum names it.
        let mut text = file.to_string();
        let at = text.rfind(' ').unwrap() + 20;
        let c = if &text[at..at + 1] == "0" { "1" } else { "0" };
        text.replace_range(at..at + 1, c);
        let e = parse_file(text.as_bytes(), "officer.share").unwrap_err();
        assert!(e.contains("checksum fails"), "{e}");
        assert!(parse_file(&vec![b'#'; SHARE_FILE_MAX + 1], "big").is_err());
        // Words, one mistyped: the word is named.
        let words = quorum::words::encode(&s).join(" ");
        assert_eq!(parse_words(&words).unwrap().path, vec![2, 1]);
        let mut typo: Vec<String> = quorum::words::encode(&s);
        let w = &mut typo[6];
        let last = if w.ends_with('b') { 'd' } else { 'b' };
        w.pop();
        w.push(last);
        let e = parse_words(&typo.join(" ")).unwrap_err();
        assert!(e.starts_with("share: word 7 '"), "{e}");
    }
}
