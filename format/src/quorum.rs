//! Quorum key slots (SPEC §7.9, format 2.0): the data key opened only when
//! K of N holders take part, with policies that nest.
//!
//! A quorum slot wraps the data key, as any slot does (§7.5), under a
//! random 32-byte *quorum secret*. That secret is split with Shamir's
//! scheme over GF(2^8) (the `vsss-rs` crate, constant time) into one share
//! for each member of the top node; a member is either a holder, whose
//! share is wrapped for an X25519 recipient, a post-quantum (X-Wing)
//! recipient (format 2.2, SPEC §7.9.1) or a passphrase, or a node of
//! its own, whose share is split again. Each node and holder has a *path*
//! (the member numbers from the top, which are also the Shamir
//! x-coordinates) and a public `check`, a BLAKE3 derive of its share with
//! the archive id, the slot id and the path: a share of another archive,
//! another slot, another holder or with a flipped bit is named, never used.
//!
//! The slot is flat in JSON (a list of nodes and a list of holder shares,
//! each with its path), so that a hostile nesting costs a parser nothing
//! and is refused by [`QuorumSlot::check`] from its counts alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, Argon2Params, DataKey};
use crate::pq;

/// BLAKE3 key-derivation contexts of quorum slots (fixed forever).
pub mod context {
    /// A node's or holder's public check of its share.
    pub const CHECK: &str = "legation 2.0 quorum share check";
    /// The checksum ending a share's binary form.
    pub const SHARE_SUM: &str = "legation 2.0 quorum share checksum";
}

/// The bounds every quorum slot keeps (SPEC §7.9), checked before any key
/// is derived.
pub mod bounds {
    /// Longest path: nodes nest at most 3 deep under the top one.
    pub const MAX_DEPTH: usize = 4;
    /// Most members of one node (its N).
    pub const MAX_MEMBERS: usize = 16;
    /// Most holders in one slot.
    pub const MAX_HOLDERS: usize = 64;
    /// Most nodes in one slot.
    pub const MAX_NODES: usize = 16;
    /// Most quorum slots in one archive.
    pub const MAX_SLOTS: usize = 4;
}

/// Everything that can go wrong with a quorum slot or a share; each names
/// the slot (its position in `key_slots`) and, where there is one, the
/// holder or node by its path (`1.2`: member 2 of member 1).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuorumError {
    /// The slot breaks a rule of its shape or a bound.
    #[error("key slot {slot}: quorum policy refused: {what}")]
    Policy {
        /// Position of the slot in `key_slots`.
        slot: usize,
        /// What is wrong.
        what: String,
    },
    /// Fewer shares than the policy needs.
    #[error("key slot {slot}: not enough shares: {what}")]
    NotEnoughShares {
        /// Position of the slot.
        slot: usize,
        /// For each node, the shares it has and needs.
        what: String,
    },
    /// A share given is of another archive.
    #[error("the share of holder {path} is of archive {archive}, not of this one")]
    OtherArchive {
        /// The share's holder path.
        path: String,
        /// The share's archive id, in hex.
        archive: String,
    },
    /// A share given is of no quorum slot of this archive.
    #[error("the share of holder {path} is of quorum slot {id}, which this archive does not have")]
    UnknownSlot {
        /// The share's holder path.
        path: String,
        /// The share's slot id, in hex.
        id: String,
    },
    /// A share's path is no holder of its slot.
    #[error("key slot {slot}: the share of holder {path}: the policy has no such holder")]
    NoSuchHolder {
        /// Position of the slot.
        slot: usize,
        /// The share's path.
        path: String,
    },
    /// Two shares were given for one holder (one index of one node).
    #[error("key slot {slot}: two shares given for holder {path}; each holder takes part once")]
    DuplicateShare {
        /// Position of the slot.
        slot: usize,
        /// The holder's path.
        path: String,
    },
    /// A share does not match its holder's check: damaged or forged.
    #[error("key slot {slot}: the share of holder {path} does not match the slot (damaged, mistyped or forged)")]
    ShareMismatch {
        /// Position of the slot.
        slot: usize,
        /// The holder's path.
        path: String,
    },
    /// The shares rebuilt a secret that fails the slot: the slot was
    /// made or changed wrongly (the shares each matched their checks).
    #[error("key slot {slot}: the shares of node {path} rebuild a key that fails the slot's check (slot damaged or forged)")]
    Rebuilt {
        /// Position of the slot.
        slot: usize,
        /// The node's path (`top` for the top node).
        path: String,
    },
    /// A share's binary, text or word form is malformed.
    #[error("share: {0}")]
    Form(String),
}

/// A path in words: `top` for the top node, else member numbers joined by
/// dots.
pub fn path_name(path: &[u8]) -> String {
    if path.is_empty() {
        return "top".into();
    }
    path.iter().map(u8::to_string).collect::<Vec<_>>().join(".")
}

/// A quorum slot as `public.json` holds it (SPEC §7.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumSlot {
    /// The slot's random id, which every share names.
    #[serde(with = "crate::hex::array")]
    pub id: [u8; 8],
    /// The threshold nodes, the top node (empty path) first, in pre-order.
    pub nodes: Vec<Node>,
    /// The holders' wrapped shares, in pre-order.
    pub shares: Vec<HolderShare>,
    /// The data key wrapped under the quorum secret (§7.5).
    #[serde(with = "crate::hex::array")]
    pub wrapped: [u8; 48],
    /// Commitment to the wrap (§7.5).
    #[serde(with = "crate::hex::array")]
    pub commitment: [u8; 32],
}

/// A threshold node: `k` of its `n` members open it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Member numbers from the top node; empty for the top node.
    pub path: Vec<u8>,
    /// Members needed.
    pub k: u8,
    /// Members.
    pub n: u8,
    /// The check of this node's secret (its share in its parent).
    #[serde(with = "crate::hex::array")]
    pub check: [u8; 32],
}

/// One holder's share, wrapped for an X25519 recipient or a passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderShare {
    /// Member numbers from the top node; the last is the share's
    /// x-coordinate in its node.
    pub path: Vec<u8>,
    /// How the share is wrapped.
    #[serde(flatten)]
    pub holder: HolderSlot,
    /// The check of the share.
    #[serde(with = "crate::hex::array")]
    pub check: [u8; 32],
}

/// A holder's wrap: the members of an `x25519` or `argon2id` slot (§7.2),
/// wrapping a share rather than the data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum HolderSlot {
    /// Wrapped for an X25519 public key.
    #[serde(rename = "x25519")]
    X25519 {
        /// The writer's ephemeral public key.
        #[serde(with = "crate::hex::array")]
        ephemeral: [u8; 32],
        /// AES-256-GCM of the share.
        #[serde(with = "crate::hex::array")]
        wrapped: [u8; 48],
        /// Commitment to the wrap.
        #[serde(with = "crate::hex::array")]
        commitment: [u8; 32],
    },
    /// Wrapped under a passphrase's Argon2id.
    #[serde(rename = "argon2id")]
    Passphrase {
        /// Argon2id salt.
        #[serde(with = "crate::hex::array")]
        salt: [u8; 16],
        /// Argon2id parameters.
        #[serde(flatten)]
        params: Argon2Params,
        /// AES-256-GCM of the share.
        #[serde(with = "crate::hex::array")]
        wrapped: [u8; 48],
        /// Commitment to the wrap.
        #[serde(with = "crate::hex::array")]
        commitment: [u8; 32],
    },
    /// Wrapped for a post-quantum (X-Wing) public key (format 2.2, SPEC
    /// §7.9.1).
    #[serde(rename = "mlkem768x25519")]
    MlKem768X25519(Box<PqHolder>),
    /// A kind this reader does not know: that holder cannot take part.
    #[serde(other)]
    Unknown,
}

/// An `mlkem768x25519` holder's wrap (format 2.2, SPEC §7.9.1): the
/// members of an `mlkem768x25519` slot (§7.11), wrapping a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PqHolder {
    /// The X-Wing ciphertext: ML-KEM-768's, then the X25519 ephemeral key.
    #[serde(with = "crate::hex::array")]
    pub ciphertext: [u8; pq::CIPHERTEXT_LEN],
    /// AES-256-GCM of the share.
    #[serde(with = "crate::hex::array")]
    pub wrapped: [u8; 48],
    /// Commitment to the wrap.
    #[serde(with = "crate::hex::array")]
    pub commitment: [u8; 32],
}

impl HolderSlot {
    /// The kind's name in a policy's shape.
    fn kind(&self) -> &'static str {
        match self {
            HolderSlot::X25519 { .. } => "x25519",
            HolderSlot::Passphrase { .. } => "argon2id",
            HolderSlot::MlKem768X25519(_) => pq::SLOT_TYPE,
            HolderSlot::Unknown => "unknown",
        }
    }

    /// The kind's name in the shape the slot's header hashes: the kinds of
    /// format 2.0 by name, every later one as `unknown`, as a reader that
    /// does not know it sees it (SPEC §7.9.1), so that such a reader
    /// still opens the slot with K other holders.
    fn header_kind(&self) -> &'static str {
        match self {
            HolderSlot::X25519 { .. } | HolderSlot::Passphrase { .. } => self.kind(),
            HolderSlot::MlKem768X25519(_) | HolderSlot::Unknown => "unknown",
        }
    }
}

/// A policy as a writer is given it.
#[derive(Debug)]
pub enum Policy {
    /// One holder.
    Holder(Holder),
    /// `k` of the members.
    Quorum {
        /// Members needed.
        k: u8,
        /// The members.
        members: Vec<Policy>,
    },
}

/// A holder as a writer is given it.
pub enum Holder {
    /// An X25519 recipient's public key.
    X25519([u8; 32]),
    /// A passphrase and its Argon2id parameters.
    Passphrase(Zeroizing<String>, Argon2Params),
    /// A post-quantum (X-Wing) recipient's public key (format 2.2).
    MlKem768X25519(Box<pq::PqRecipient>),
}

impl std::fmt::Debug for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::X25519(k) => write!(f, "X25519({})", crate::hex::encode(k)),
            Holder::Passphrase(_, p) => write!(f, "Passphrase(<redacted>, {p:?})"),
            Holder::MlKem768X25519(r) => write!(f, "MlKem768X25519({})", r.fingerprint()),
        }
    }
}

impl Policy {
    /// Passphrase holders in the policy (each costs one Argon2id run).
    pub fn passphrases(&self) -> usize {
        match self {
            Policy::Holder(Holder::Passphrase(..)) => 1,
            Policy::Holder(_) => 0,
            Policy::Quorum { members, .. } => members.iter().map(Policy::passphrases).sum(),
        }
    }
}

/// A holder's share, unwrapped: what `legation share` writes and `--share`
/// reads. It opens nothing alone, and nothing of another archive.
pub struct Share {
    /// The archive it belongs to.
    pub archive_id: [u8; 16],
    /// The quorum slot's id.
    pub slot_id: [u8; 8],
    /// The holder's path.
    pub path: Vec<u8>,
    /// The share's value.
    pub value: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Share(archive {}, slot {}, holder {}, <redacted>)",
            crate::hex::encode(&self.archive_id),
            crate::hex::encode(&self.slot_id),
            path_name(&self.path)
        )
    }
}

/// The public check of a share (SPEC §7.9).
pub fn share_check(
    value: &[u8; 32],
    archive_id: &[u8; 16],
    slot_id: &[u8; 8],
    path: &[u8],
) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(context::CHECK);
    h.update(value);
    h.update(archive_id);
    h.update(slot_id);
    h.update(&[path.len() as u8]);
    h.update(path);
    let out = *h.finalize().as_bytes();
    zeroize::Zeroize::zeroize(&mut h);
    out
}

/// The header binding a holder's wrap to the archive, the slot, the path
/// and the wrap's public parameters (SPEC §7.9).
fn holder_header(
    archive_id: &[u8; 16],
    slot_id: &[u8; 8],
    path: &[u8],
    holder: &HolderSlot,
    recipient: &[u8],
) -> Vec<u8> {
    let mut h = b"quorum-share\0".to_vec();
    h.extend_from_slice(archive_id);
    h.extend_from_slice(slot_id);
    h.push(path.len() as u8);
    h.extend_from_slice(path);
    match holder {
        HolderSlot::X25519 { ephemeral, .. } => {
            h.extend_from_slice(ephemeral);
            h.extend_from_slice(recipient);
        }
        HolderSlot::Passphrase { salt, params, .. } => {
            h.extend_from_slice(salt);
            h.extend_from_slice(&params.memory_kib.to_le_bytes());
            h.extend_from_slice(&params.iterations.to_le_bytes());
            h.extend_from_slice(&params.parallelism.to_le_bytes());
        }
        HolderSlot::MlKem768X25519(p) => {
            h.extend_from_slice(&p.ciphertext);
            h.extend_from_slice(recipient);
        }
        HolderSlot::Unknown => {}
    }
    h
}

/// rand_core 0.6's generator as rand_core 0.10's, which `vsss-rs` takes.
struct Rng10<'a, R>(&'a mut R);

impl<R: rand_core::CryptoRngCore> rand_core_010::TryRng for Rng10<'_, R> {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: rand_core::CryptoRngCore> rand_core_010::TryCryptoRng for Rng10<'_, R> {}

/// Splits `secret` into `n` shares, any `k` of which rebuild it; share `i`
/// (from 0) is the polynomial's value at x = i + 1. With `k` = 1 every
/// share is the secret (a polynomial of degree 0).
fn split(
    secret: &[u8; 32],
    k: u8,
    n: u8,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Vec<Zeroizing<[u8; 32]>> {
    if k == 1 {
        return (0..n).map(|_| Zeroizing::new(*secret)).collect();
    }
    let ids = (1..=n).map(|i| vsss_rs::IdentifierGf256(vsss_rs::Gf256(i)));
    let shares = vsss_rs::Gf256::split_bytes_with_participant_ids_iter(
        usize::from(k),
        usize::from(n),
        secret,
        Rng10(rng),
        ids,
    )
    .unwrap(); // 2 <= k <= n <= MAX_MEMBERS, non-zero ids, a 32-byte secret: checked by the caller
    shares
        .into_iter()
        .map(|s| {
            let s = Zeroizing::new(s);
            let mut v = Zeroizing::new([0u8; 32]);
            v.copy_from_slice(&s[1..33]); // [x, 32 bytes]
            v
        })
        .collect()
}

/// Rebuilds a secret from `k` shares at distinct non-zero x-coordinates.
fn combine(shares: &[(u8, &[u8; 32])]) -> Zeroizing<[u8; 32]> {
    if let [(_, only)] = shares {
        return Zeroizing::new(**only);
    }
    let input: Vec<Vec<u8>> = shares
        .iter()
        .map(|(x, y)| {
            let mut v = Vec::with_capacity(33);
            v.push(*x);
            v.extend_from_slice(&y[..]);
            v
        })
        .collect();
    let input = Zeroizing::new(input);
    let out = Zeroizing::new(vsss_rs::Gf256::combine_bytes(&input[..]).unwrap()); // distinct non-zero x, equal lengths: checked by the caller
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&out[..]);
    secret
}

/// Makes a quorum slot for `data_key`: the policy's top must be a node
/// (a single holder is an ordinary slot).
pub fn quorum_slot(
    data_key: &DataKey,
    archive_id: &[u8; 16],
    policy: &Policy,
    rng: &mut impl rand_core::CryptoRngCore,
) -> crate::Result<QuorumSlot> {
    check_policy(policy, 0).map_err(|what| crate::Error::invalid("quorum policy", what))?;
    let mut id = [0u8; 8];
    rng.fill_bytes(&mut id);
    let mut secret = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut secret[..]);
    let mut slot = QuorumSlot {
        id,
        nodes: Vec::new(),
        shares: Vec::new(),
        wrapped: [0; 48],
        commitment: [0; 32],
    };
    let mut path = Vec::new();
    add(&mut slot, archive_id, policy, &secret, &mut path, rng)?;
    slot.check(0)
        .map_err(|e| crate::Error::invalid("quorum policy", e.to_string()))?;
    let (w, c) = crypto::wrap_bytes(&secret, &slot.header(archive_id), data_key.as_bytes());
    slot.wrapped = w;
    slot.commitment = c;
    Ok(slot)
}

/// Checks a policy before anything is drawn: depth, k and n, counts.
fn check_policy(policy: &Policy, depth: usize) -> Result<(usize, usize), String> {
    match policy {
        Policy::Holder(_) if depth == 0 => {
            Err("the top of a quorum policy is a node (one holder is an ordinary slot)".into())
        }
        Policy::Holder(_) => Ok((0, 1)),
        Policy::Quorum { .. } if depth >= bounds::MAX_DEPTH => {
            Err(format!("nodes nest more than {} deep", bounds::MAX_DEPTH))
        }
        Policy::Quorum { k, members } => {
            let n = members.len();
            if n == 0 || n > bounds::MAX_MEMBERS {
                return Err(format!(
                    "a node has {n} members, not 1 to {}",
                    bounds::MAX_MEMBERS
                ));
            }
            if *k == 0 || usize::from(*k) > n {
                return Err(format!("a node asks for {k} of {n} members"));
            }
            let (mut nodes, mut holders) = (1, 0);
            for m in members {
                let (a, b) = check_policy(m, depth + 1)?;
                nodes += a;
                holders += b;
            }
            if nodes > bounds::MAX_NODES || holders > bounds::MAX_HOLDERS {
                return Err(format!(
                    "{nodes} nodes and {holders} holders, over {} and {}",
                    bounds::MAX_NODES,
                    bounds::MAX_HOLDERS
                ));
            }
            Ok((nodes, holders))
        }
    }
}

/// Adds a policy's node or holder at `path`, holding `secret`.
fn add(
    slot: &mut QuorumSlot,
    archive_id: &[u8; 16],
    policy: &Policy,
    secret: &[u8; 32],
    path: &mut Vec<u8>,
    rng: &mut impl rand_core::CryptoRngCore,
) -> crate::Result<()> {
    let check = share_check(secret, archive_id, &slot.id, path);
    match policy {
        Policy::Quorum { k, members } => {
            let n = members.len() as u8; // at most MAX_MEMBERS: check_policy
            slot.nodes.push(Node {
                path: path.clone(),
                k: *k,
                n,
                check,
            });
            for (i, (m, share)) in members.iter().zip(split(secret, *k, n, rng)).enumerate() {
                path.push(i as u8 + 1);
                add(slot, archive_id, m, &share, path, rng)?;
                path.pop();
            }
        }
        Policy::Holder(h) => {
            let (holder, wrap_secret, recipient) = match h {
                Holder::X25519(recipient) => {
                    let (ephemeral, shared) = crypto::x25519_send(recipient, rng)?;
                    let slot = HolderSlot::X25519 {
                        ephemeral,
                        wrapped: [0; 48],
                        commitment: [0; 32],
                    };
                    (slot, shared, recipient.to_vec())
                }
                Holder::MlKem768X25519(recipient) => {
                    let mut randomness = Zeroizing::new([0u8; pq::ENCAPSULATION_RANDOMNESS_LEN]);
                    rng.fill_bytes(&mut randomness[..]);
                    let (ciphertext, shared) = pq::encapsulate(recipient, &randomness);
                    let slot = HolderSlot::MlKem768X25519(Box::new(PqHolder {
                        ciphertext,
                        wrapped: [0; 48],
                        commitment: [0; 32],
                    }));
                    (slot, shared, recipient.as_bytes().to_vec())
                }
                Holder::Passphrase(p, params) => {
                    params.check(0)?;
                    let mut salt = [0u8; 16];
                    rng.fill_bytes(&mut salt);
                    let secret = crypto::argon2id(&crypto::normalize_passphrase(p), &salt, params);
                    let slot = HolderSlot::Passphrase {
                        salt,
                        params: *params,
                        wrapped: [0; 48],
                        commitment: [0; 32],
                    };
                    (slot, secret, vec![0; 32])
                }
            };
            let mut holder = holder;
            let header = holder_header(archive_id, &slot.id, path, &holder, &recipient);
            let (w, c) = crypto::wrap_bytes(&wrap_secret, &header, secret);
            match &mut holder {
                HolderSlot::X25519 {
                    wrapped,
                    commitment,
                    ..
                }
                | HolderSlot::Passphrase {
                    wrapped,
                    commitment,
                    ..
                } => {
                    *wrapped = w;
                    *commitment = c;
                }
                HolderSlot::MlKem768X25519(p) => {
                    p.wrapped = w;
                    p.commitment = c;
                }
                HolderSlot::Unknown => {}
            }
            slot.shares.push(HolderShare {
                path: path.clone(),
                holder,
                check,
            });
        }
    }
    Ok(())
}

/// What can take part in opening a quorum slot: identities, passphrases
/// and shares already unwrapped.
pub struct Keys<'a> {
    /// X25519 secret keys.
    pub identities: &'a [&'a [u8; 32]],
    /// Passphrases.
    pub passphrases: &'a [&'a str],
    /// Shares (of any archive: one of another is named).
    pub shares: &'a [&'a Share],
}

impl QuorumSlot {
    /// Checks the slot's shape against its rules and [`bounds`], by its
    /// counts first, so that a hostile slot costs next to nothing; gives
    /// the policy's shape (as [`QuorumSlot::shape`]).
    pub fn check(&self, slot: usize) -> Result<String, QuorumError> {
        let bad = |what: String| Err(QuorumError::Policy { slot, what });
        if self.nodes.is_empty() || self.nodes.len() > bounds::MAX_NODES {
            return bad(format!(
                "{} nodes, not 1 to {}",
                self.nodes.len(),
                bounds::MAX_NODES
            ));
        }
        if self.shares.is_empty() || self.shares.len() > bounds::MAX_HOLDERS {
            return bad(format!(
                "{} holders, not 1 to {}",
                self.shares.len(),
                bounds::MAX_HOLDERS
            ));
        }
        // Every path once: a node (with k, n) or a holder.
        let mut paths: BTreeMap<&[u8], Option<(u8, u8)>> = BTreeMap::new();
        let entries = self
            .nodes
            .iter()
            .map(|n| (&n.path[..], Some((n.k, n.n))))
            .chain(self.shares.iter().map(|s| (&s.path[..], None)));
        for (path, node) in entries {
            if path.len() > bounds::MAX_DEPTH {
                return bad(format!(
                    "path {} is {} deep, over {}",
                    path_name(path),
                    path.len(),
                    bounds::MAX_DEPTH
                ));
            }
            if path
                .iter()
                .any(|&m| m == 0 || usize::from(m) > bounds::MAX_MEMBERS)
            {
                return bad(format!(
                    "path {} has a member number outside 1 to {}",
                    path_name(path),
                    bounds::MAX_MEMBERS
                ));
            }
            if let Some((k, n)) = node {
                if n == 0 || usize::from(n) > bounds::MAX_MEMBERS || k == 0 || k > n {
                    return bad(format!(
                        "node {} asks for {k} of {n} members",
                        path_name(path)
                    ));
                }
            }
            if paths.insert(path, node).is_some() {
                return bad(format!("path {} is listed twice", path_name(path)));
            }
        }
        if !matches!(paths.get(&[][..]), Some(Some(_))) {
            return bad("no top node (a node with an empty path)".into());
        }
        // Each member's parent is a node with that many members, and each
        // node has all its members (so the tree is whole).
        let mut members: BTreeMap<&[u8], usize> = BTreeMap::new();
        for path in paths.keys().filter(|p| !p.is_empty()) {
            let (parent, last) = path.split_at(path.len() - 1);
            match paths.get(parent) {
                Some(Some((_, n))) if last[0] <= *n => *members.entry(parent).or_default() += 1,
                Some(Some((_, n))) => {
                    return bad(format!(
                        "{} is past node {}'s {n} members",
                        path_name(path),
                        path_name(parent)
                    ))
                }
                _ => return bad(format!("{} is under no node", path_name(path))),
            }
        }
        for (path, node) in &paths {
            if let Some((_, n)) = node {
                let have = members.get(path).copied().unwrap_or(0);
                if have != usize::from(*n) {
                    return bad(format!(
                        "node {} has {have} of its {n} members",
                        path_name(path)
                    ));
                }
            }
        }
        Ok(self.shape())
    }

    /// The policy's shape, what `info` shows without a key: `2 of (x25519,
    /// x25519, 1 of (x25519, argon2id))`. Call after [`QuorumSlot::check`].
    pub fn shape(&self) -> String {
        self.shape_at(&[], false)
    }

    /// The shape as the slot's header hashes it: kinds after format 2.0
    /// as `unknown` (SPEC §7.9.1).
    fn header_shape(&self) -> String {
        self.shape_at(&[], true)
    }

    fn shape_at(&self, path: &[u8], for_header: bool) -> String {
        if let Some(s) = self.shares.iter().find(|s| s.path == path) {
            return if for_header {
                s.holder.header_kind()
            } else {
                s.holder.kind()
            }
            .into();
        }
        let Some(node) = self.nodes.iter().find(|n| n.path == path) else {
            return "missing".into();
        };
        let mut child = path.to_vec();
        let members: Vec<String> = (1..=node.n)
            .map(|i| {
                child.push(i);
                let s = if child.len() <= bounds::MAX_DEPTH {
                    self.shape_at(&child, for_header)
                } else {
                    "missing".into()
                };
                child.pop();
                s
            })
            .collect();
        format!("{} of ({})", node.k, members.join(", "))
    }

    /// The header binding the quorum secret's wrap of the data key to the
    /// archive, the slot and its policy's shape (SPEC §7.9).
    pub fn header(&self, archive_id: &[u8; 16]) -> Vec<u8> {
        let mut h = b"quorum\0".to_vec();
        h.extend_from_slice(archive_id);
        h.extend_from_slice(&self.id);
        h.extend_from_slice(blake3::hash(self.header_shape().as_bytes()).as_bytes());
        h
    }

    /// Holders whose wrap `keys` open (`path`, share), trying each
    /// identity on each `x25519` holder and each passphrase on each
    /// `argon2id` holder. `derive(path, params)` is asked before each
    /// Argon2id run (to bound what a hostile slot costs).
    pub fn unwrap_holders(
        &self,
        archive_id: &[u8; 16],
        identities: &[&[u8; 32]],
        passphrases: &[&str],
        derive: &mut dyn FnMut(&[u8], &Argon2Params) -> bool,
    ) -> Vec<Share> {
        self.opened(archive_id, |s| match &s.holder {
            HolderSlot::X25519 {
                ephemeral,
                wrapped,
                commitment,
            } => identities.iter().find_map(|idt| {
                let (public, shared) = crypto::x25519_receive(idt, ephemeral)?;
                let header = holder_header(archive_id, &self.id, &s.path, &s.holder, &public);
                crypto::unwrap_bytes(&shared, &header, wrapped, commitment)
            }),
            HolderSlot::Passphrase {
                salt,
                params,
                wrapped,
                commitment,
            } => passphrases.iter().find_map(|p| {
                if params.check(0).is_err() || !derive(&s.path, params) {
                    return None;
                }
                let secret = crypto::argon2id(&crypto::normalize_passphrase(p), salt, params);
                let header = holder_header(archive_id, &self.id, &s.path, &s.holder, &[0; 32]);
                crypto::unwrap_bytes(&secret, &header, wrapped, commitment)
            }),
            // Post-quantum identities: [`QuorumSlot::unwrap_pq_holders`].
            HolderSlot::MlKem768X25519(_) | HolderSlot::Unknown => None,
        })
    }

    /// The shares of the holders `open` unwraps.
    fn opened(
        &self,
        archive_id: &[u8; 16],
        mut open: impl FnMut(&HolderShare) -> Option<Zeroizing<[u8; 32]>>,
    ) -> Vec<Share> {
        self.shares
            .iter()
            .filter_map(|s| {
                open(s).map(|value| Share {
                    archive_id: *archive_id,
                    slot_id: self.id,
                    path: s.path.clone(),
                    value,
                })
            })
            .collect()
    }

    /// Holders whose `mlkem768x25519` wrap one of the post-quantum
    /// `identities` opens (format 2.2, SPEC §7.9.1); each identity's
    /// public key is expanded once.
    pub fn unwrap_pq_holders(
        &self,
        archive_id: &[u8; 16],
        identities: &[&pq::PqIdentity],
    ) -> Vec<Share> {
        let publics: Vec<pq::PqRecipient> = identities.iter().map(|i| i.public()).collect();
        self.opened(archive_id, |s| {
            let HolderSlot::MlKem768X25519(p) = &s.holder else {
                return None;
            };
            identities.iter().zip(&publics).find_map(|(idt, public)| {
                let shared = pq::decapsulate(idt, &p.ciphertext);
                let header =
                    holder_header(archive_id, &self.id, &s.path, &s.holder, public.as_bytes());
                crypto::unwrap_bytes(&shared, &header, &p.wrapped, &p.commitment)
            })
        })
    }

    /// Rebuilds the data key from shares of this slot (`slot` is its
    /// position, for errors): each share is checked against its holder's
    /// check, then each node is rebuilt from its first `k` members, from
    /// the deepest up, and checked; the top's secret unwraps the data key.
    /// `Ok(None)` when no share was given; a share of another slot or
    /// archive is the caller's to sort out ([`shares_for`]).
    pub fn rebuild(
        &self,
        slot: usize,
        archive_id: &[u8; 16],
        shares: &[&Share],
    ) -> Result<Option<DataKey>, QuorumError> {
        self.check(slot)?;
        if shares.is_empty() {
            return Ok(None);
        }
        let mut values: BTreeMap<Vec<u8>, Zeroizing<[u8; 32]>> = BTreeMap::new();
        for sh in shares {
            let name = || path_name(&sh.path);
            let Some(holder) = self.shares.iter().find(|s| s.path == sh.path) else {
                return Err(QuorumError::NoSuchHolder { slot, path: name() });
            };
            let check = share_check(&sh.value, archive_id, &self.id, &sh.path);
            if blake3::Hash::from(check) != blake3::Hash::from(holder.check) {
                return Err(QuorumError::ShareMismatch { slot, path: name() });
            }
            if values
                .insert(sh.path.clone(), Zeroizing::new(*sh.value))
                .is_some()
            {
                return Err(QuorumError::DuplicateShare { slot, path: name() });
            }
        }
        let mut nodes: Vec<&Node> = self.nodes.iter().collect();
        nodes.sort_by_key(|n| std::cmp::Reverse(n.path.len()));
        let mut short = Vec::new();
        for node in nodes {
            let mut child = node.path.clone();
            let mut have = Vec::new();
            for i in 1..=node.n {
                child.push(i);
                if let Some(v) = values.get(&child) {
                    have.push((i, v));
                }
                child.pop();
            }
            if have.len() < usize::from(node.k) {
                short.push(format!(
                    "node {} ({} of {}) has {}",
                    path_name(&node.path),
                    node.k,
                    node.n,
                    have.len()
                ));
                continue;
            }
            let parts: Vec<(u8, &[u8; 32])> = have
                .iter()
                .take(usize::from(node.k))
                .map(|(i, v)| (*i, &***v))
                .collect();
            let secret = combine(&parts);
            let check = share_check(&secret, archive_id, &self.id, &node.path);
            if blake3::Hash::from(check) != blake3::Hash::from(node.check) {
                return Err(QuorumError::Rebuilt {
                    slot,
                    path: path_name(&node.path),
                });
            }
            values.insert(node.path.clone(), secret);
        }
        let Some(top) = values.get(&[][..]) else {
            return Err(QuorumError::NotEnoughShares {
                slot,
                what: short.join("; "),
            });
        };
        crypto::unwrap_bytes(
            top,
            &self.header(archive_id),
            &self.wrapped,
            &self.commitment,
        )
        .map(|k| Some(DataKey::from(k)))
        .ok_or(QuorumError::Rebuilt {
            slot,
            path: "top".into(),
        })
    }
}

/// Sorts shares among an archive's quorum slots (`slots`: position and
/// slot): a share of another archive, or of a slot the archive does not
/// have, is an error naming it.
pub fn shares_for<'a>(
    archive_id: &[u8; 16],
    slots: &[(usize, &QuorumSlot)],
    shares: &[&'a Share],
) -> Result<Vec<Vec<&'a Share>>, QuorumError> {
    let mut out = vec![Vec::new(); slots.len()];
    for sh in shares {
        if sh.archive_id != *archive_id {
            return Err(QuorumError::OtherArchive {
                path: path_name(&sh.path),
                archive: crate::hex::encode(&sh.archive_id),
            });
        }
        match slots.iter().position(|(_, s)| s.id == sh.slot_id) {
            Some(i) => out[i].push(*sh),
            None => {
                return Err(QuorumError::UnknownSlot {
                    path: path_name(&sh.path),
                    id: crate::hex::encode(&sh.slot_id),
                })
            }
        }
    }
    Ok(out)
}

/// Version byte of a share's binary form.
const SHARE_VERSION: u8 = 1;
/// Bytes of the checksum ending a share's binary form.
const SUM_LEN: usize = 4;

impl Share {
    /// The share's binary form (SPEC §7.10): version, archive id, slot id,
    /// path length and path, value, then 4 bytes of checksum.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut b = Zeroizing::new(Vec::with_capacity(62 + bounds::MAX_DEPTH));
        b.push(SHARE_VERSION);
        b.extend_from_slice(&self.archive_id);
        b.extend_from_slice(&self.slot_id);
        b.push(self.path.len() as u8);
        b.extend_from_slice(&self.path);
        b.extend_from_slice(&self.value[..]);
        let sum = share_sum(&b);
        b.extend_from_slice(&sum);
        b
    }

    /// Parses the binary form; `trailing_zeros` bytes of zero padding may
    /// follow (the words' last bits).
    pub fn from_bytes(b: &[u8], trailing_zeros: usize) -> Result<Share, QuorumError> {
        let bad = |what: &str| Err(QuorumError::Form(what.into()));
        if b.len() < 26 {
            return bad("too short to be a share");
        }
        if b[0] != SHARE_VERSION {
            return Err(QuorumError::Form(format!(
                "share form {} is not known (this reader reads 1)",
                b[0]
            )));
        }
        let depth = usize::from(b[25]);
        if depth == 0 || depth > bounds::MAX_DEPTH {
            return bad("its path is empty or deeper than 4");
        }
        let len = 26 + depth + 32 + SUM_LEN;
        if b.len() < len || b.len() > len + trailing_zeros || b[len..].iter().any(|&x| x != 0) {
            return bad("its length does not match its path (a part missing or added)");
        }
        let (body, sum) = b[..len].split_at(len - SUM_LEN);
        if share_sum(body)[..] != *sum {
            return bad("its checksum fails: damaged or mistyped");
        }
        let mut value = Zeroizing::new([0u8; 32]);
        value.copy_from_slice(&body[26 + depth..]);
        Ok(Share {
            archive_id: body[1..17].try_into().unwrap(), // 16 bytes
            slot_id: body[17..25].try_into().unwrap(),   // 8 bytes
            path: body[26..26 + depth].to_vec(),
            value,
        })
    }

    /// The share as a text file, saying what it is and what it is for.
    pub fn to_file(&self, holder: &str, k: u8, n: u8) -> Zeroizing<String> {
        let hex = Zeroizing::new(crate::hex::encode(&self.to_bytes()));
        let mut s = Zeroizing::new(String::with_capacity(600 + holder.len()));
        s.push_str(&format!(
            "# Legation quorum share: holder {} ({} of {} in its node) of quorum slot {}\n\
             # of archive {} only. It opens nothing alone and nothing else;\n\
             # keep it as secret as a key. Holder: {}\n{SHARE_TAG} ",
            path_name(&self.path),
            k,
            n,
            crate::hex::encode(&self.slot_id),
            crate::hex::encode(&self.archive_id),
            holder.replace(['\n', '\r'], " ")
        ));
        s.push_str(&hex);
        s.push('\n');
        s
    }

    /// Parses a share file (`path` names it in errors): `#` lines are
    /// comments, one line is the tag and the hex of the binary form.
    pub fn from_file(text: &str, path: &str) -> Result<Share, QuorumError> {
        let bad = |what: String| QuorumError::Form(format!("{path}: {what}"));
        let mut found = None;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let Some(hex) = line.strip_prefix(SHARE_TAG).map(str::trim) else {
                return Err(bad(format!(
                    "a line is not `{SHARE_TAG} HEX` (is this a share file?)"
                )));
            };
            if found.is_some() {
                return Err(bad("more than one share line".into()));
            }
            let bytes = crate::hex::decode(hex)
                .map(Zeroizing::new)
                .ok_or_else(|| bad("the share is not lower-case hex".into()))?;
            found = Some(Share::from_bytes(&bytes, 0).map_err(|e| bad(e.to_string()))?);
        }
        found.ok_or_else(|| bad("no share line".into()))
    }
}

/// The tag of a share file's line.
pub const SHARE_TAG: &str = "LEGATION-SHARE-1";

fn share_sum(body: &[u8]) -> [u8; SUM_LEN] {
    let mut h = blake3::Hasher::new_derive_key(context::SHARE_SUM);
    h.update(body);
    let mut out = [0u8; SUM_LEN];
    out.copy_from_slice(&h.finalize().as_bytes()[..SUM_LEN]);
    zeroize::Zeroize::zeroize(&mut h);
    out
}

/// Share words (SPEC §7.10): 12 bits a word of five letters, consonant,
/// vowel, consonant, vowel and a check letter bound to the word's place,
/// so that any one mistyped letter is caught and the word named.
pub mod words {
    use super::{QuorumError, Share};
    use zeroize::Zeroizing;

    /// The 16 consonants (4 bits each).
    pub const CONSONANTS: &[u8; 16] = b"bdfghjklmnprstvz";
    /// The 4 vowels (2 bits each).
    pub const VOWELS: &[u8; 4] = b"aiou";

    fn check_letter(c1: u16, v1: u16, c2: u16, v2: u16, place: usize) -> u8 {
        CONSONANTS[((c1 + 2 * v1 + 3 * c2 + 4 * v2 + (place % 16) as u16) % 16) as usize]
    }

    /// One 12-bit value as the word at `place` (from 0).
    pub fn word(value: u16, place: usize) -> String {
        let (c1, v1, c2, v2) = (value >> 8 & 15, value >> 6 & 3, value >> 2 & 15, value & 3);
        let letters = [
            CONSONANTS[c1 as usize],
            VOWELS[v1 as usize],
            CONSONANTS[c2 as usize],
            VOWELS[v2 as usize],
            check_letter(c1, v1, c2, v2, place),
        ];
        String::from_utf8(letters.to_vec()).unwrap() // ASCII letters
    }

    /// The value of the word at `place`, or why it is no share word there.
    pub fn value(word: &str, place: usize) -> Result<u16, String> {
        let b = word.as_bytes();
        let pos = |set: &[u8], c: u8| set.iter().position(|&x| x == c).map(|i| i as u16);
        let parts = (b.len() == 5)
            .then(|| {
                Some((
                    pos(CONSONANTS, b[0])?,
                    pos(VOWELS, b[1])?,
                    pos(CONSONANTS, b[2])?,
                    pos(VOWELS, b[3])?,
                ))
            })
            .flatten();
        let Some((c1, v1, c2, v2)) = parts else {
            return Err(
                "not a share word (five letters: consonant, vowel, consonant, vowel, consonant)"
                    .into(),
            );
        };
        if check_letter(c1, v1, c2, v2, place) != b[4] {
            return Err(
                "its letters do not check (a letter mistyped, or the word out of place)".into(),
            );
        }
        Ok(c1 << 8 | v1 << 6 | c2 << 2 | v2)
    }

    /// A share as words.
    pub fn encode(share: &Share) -> Vec<String> {
        let bytes = share.to_bytes();
        let bits = bytes.len() * 8;
        (0..bits.div_ceil(12))
            .map(|w| {
                let mut v = 0u16;
                for i in 0..12 {
                    let bit = w * 12 + i;
                    let on = bit < bits && bytes[bit / 8] >> (7 - bit % 8) & 1 == 1;
                    v = v << 1 | u16::from(on);
                }
                word(v, w)
            })
            .collect()
    }

    /// Reads words back into a share. Numbers (line numbers) and
    /// punctuation between words are skipped; case is ignored. A word that
    /// does not check is named by its number (from 1).
    pub fn decode(text: &str) -> Result<Share, QuorumError> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_ascii_alphabetic() && !c.is_ascii_digit())
            .filter(|w| !w.is_empty() && !w.bytes().all(|c| c.is_ascii_digit()))
            .map(str::to_ascii_lowercase)
            .collect();
        if words.len() > 64 {
            return Err(QuorumError::Form(format!(
                "{} words, more than a share has",
                words.len()
            )));
        }
        let mut bytes = Zeroizing::new(vec![0u8; words.len() * 12 / 8]);
        let mut tail_bits = 0u16;
        for (w, word) in words.iter().enumerate() {
            let v = value(word, w)
                .map_err(|why| QuorumError::Form(format!("word {} '{word}': {why}", w + 1)))?;
            for i in 0..12 {
                let bit = w * 12 + i;
                let on = (v >> (11 - i) & 1) as u8;
                if bit / 8 < bytes.len() {
                    bytes[bit / 8] |= on << (7 - bit % 8);
                } else {
                    tail_bits |= u16::from(on);
                }
            }
        }
        if tail_bits != 0 {
            return Err(QuorumError::Form(
                "the last word's padding is not zero: a word is missing or added".into(),
            ));
        }
        Share::from_bytes(&bytes, 1).map_err(|e| match e {
            QuorumError::Form(why) => QuorumError::Form(format!(
                "the words each check but not the whole ({why}): a word missing, repeated or from another sheet"
            )),
            e => e,
        })
    }
}

#[cfg(test)]
mod tests;
