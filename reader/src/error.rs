use thiserror::Error;

/// What pins an entry's BLAKE3 ([`Error::EntryHash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// A 1.x archive's manifest (its own hash: the bytes opening took).
    Manifest,
    /// A 2.0 archive's entry table, for every entry before it.
    EntryTable,
    /// A 2.0 archive's head, for `entries` and `public.json`.
    Head,
    /// The bytes opening read or put right (a 2.0 archive's `head` and
    /// `signatures`).
    Opened,
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pin::Manifest => "the manifest",
            Pin::EntryTable => "the entry table",
            Pin::Head => "the head",
            Pin::Opened => "the bytes read when the archive was opened",
        })
    }
}

/// Result with the reader's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Broad classes of failure; the command maps them to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The archive is damaged: bytes differ from what the format or the
    /// manifest requires.
    Damaged,
    /// The archive is not what its issuer signed, or not signed by whom the
    /// caller expects.
    Forged,
    /// No key given opens the archive.
    WrongKey,
    /// Something asked for does not exist (a record path).
    NotFound,
    /// The archive uses a format version or feature this reader lacks.
    Unsupported,
    /// Reading the source failed.
    Io,
}

/// What went wrong while opening, unlocking, reading or verifying.
/// Messages name the entry or record, and the problem.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the source failed.
    #[error("reading {what} from {source_name}: {source}")]
    Source {
        /// What was being read.
        what: String,
        /// The source's name.
        source_name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A structure breaks the format (container, manifest, catalog).
    #[error(transparent)]
    Format(#[from] legation_format::Error),
    /// The first entry does not say this is a Legation archive.
    #[error("not a Legation archive: {0}")]
    NotLegation(String),
    /// An entry the manifest or catalog names is not in the container.
    #[error("{entry}: missing from the container")]
    MissingEntry {
        /// The entry name.
        entry: String,
    },
    /// The container and the manifest disagree about an entry.
    #[error("{entry}: {what}")]
    ManifestMismatch {
        /// The entry name.
        entry: String,
        /// How they differ.
        what: String,
    },
    /// An entry's bytes do not hash to what pins them: the manifest (1.x),
    /// the entry table or the head (2.0).
    #[error("{entry}: BLAKE3 of the stored bytes differs from {pinned_by} (changed or damaged)")]
    EntryHash {
        /// The entry name.
        entry: String,
        /// What gives the hash the bytes should have.
        pinned_by: Pin,
    },
    /// An entry is larger than this reader accepts for its kind.
    #[error("{entry}: {size} bytes is more than the {limit} bytes allowed")]
    TooLarge {
        /// The entry name.
        entry: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The manifest signature does not verify.
    #[error("manifest.sig: signature does not verify against the issuer key in the manifest (forged or damaged)")]
    BadSignature,
    /// The signature entry is damaged (its CRC-32 differs from its
    /// headers, or it is not a signature's text): who signed cannot be
    /// checked from this copy, though everything else can be read.
    #[error("manifest.sig: damaged ({what}); who signed cannot be checked from this copy: `legation repair` with --from another copy restores it")]
    SignatureDamaged {
        /// What is wrong.
        what: String,
    },
    /// The archive is unsigned but a signer was required.
    #[error("manifest.json: archive is not signed, but issuer {expected} was required")]
    Unsigned {
        /// Fingerprint of the required issuer.
        expected: String,
    },
    /// Signed by someone else than the pinned issuer.
    #[error("manifest.json: signed by {found}, not by the pinned issuer {expected}")]
    WrongIssuer {
        /// Fingerprint of the required issuer.
        expected: String,
        /// Fingerprint of the actual signer.
        found: String,
    },
    /// Format 2.0: a line of `signatures` does not verify over `head`
    /// ([`Error::BadSignature`] of 1.x).
    #[error(
        "signatures: a signature does not verify over head with its public key (forged or damaged)"
    )]
    SignaturesBad,
    /// Format 2.0: `signatures` is damaged ([`Error::SignatureDamaged`]
    /// of 1.x).
    #[error("signatures: damaged ({what}); who signed cannot be checked from this copy: `legation repair` with --from another copy restores it")]
    SignaturesDamaged {
        /// What is wrong.
        what: String,
    },
    /// Format 2.0: no signature line, but a signer was required
    /// ([`Error::Unsigned`] of 1.x).
    #[error("signatures: archive is not signed, but issuer {expected} was required")]
    HeadUnsigned {
        /// Fingerprint of the required issuer.
        expected: String,
    },
    /// Format 2.0: no valid line of `signatures` is the pinned issuer's
    /// ([`Error::WrongIssuer`] of 1.x).
    #[error("signatures: signed by {found}, not by the pinned issuer {expected}")]
    HeadWrongIssuer {
        /// Fingerprint of the required issuer.
        expected: String,
        /// Fingerprint of the actual signer.
        found: String,
    },
    /// Format 2.0: a slot's key fails `public.json`'s key commitment
    /// ([`Error::KeyCommitment`] of 1.x).
    #[error(
        "public.json: key slot {slot} yields a key that fails the key commitment (forged slot)"
    )]
    PublicKeyCommitment {
        /// The slot index.
        slot: usize,
    },
    /// No key given opens any slot.
    #[error(
        "no key given opens this archive (wrong passphrase or identity; {slots} key slot(s) tried)"
    )]
    NoKey {
        /// How many slots were tried.
        slots: usize,
    },
    /// A quorum slot or a share given for one (SPEC §7.9): the policy
    /// refused, too few shares, a share of another archive, slot or
    /// holder, damaged or given twice.
    #[error(transparent)]
    Quorum(#[from] legation_format::quorum::QuorumError),
    /// No key was given at all.
    #[error("a key is needed: give an identity file or a passphrase")]
    KeyNeeded,
    /// A slot opened but the data key fails the manifest's commitment.
    #[error(
        "manifest.json: key slot {slot} yields a key that fails the key commitment (forged slot)"
    )]
    KeyCommitment {
        /// The slot index.
        slot: usize,
    },
    /// A chunk failed authentication.
    #[error(
        "{what}: chunk {chunk} of entry {entry} fails authentication (changed, moved or truncated)"
    )]
    Chunk {
        /// The record path or catalog part.
        what: String,
        /// The entry.
        entry: String,
        /// The chunk index.
        chunk: u64,
    },
    /// A record's bytes are not what the catalog says.
    #[error("{path}: {what}")]
    RecordMismatch {
        /// The record path.
        path: String,
        /// How it differs.
        what: String,
    },
    /// No record has this path.
    #[error("{path}: no such record in the archive")]
    NoSuchRecord {
        /// The path asked for.
        path: String,
    },
    /// Repair: neither copy holds an intact entry.
    #[error("{entry}: damaged in both copies ({damaged}: {damaged_why}; {other}: {other_why})")]
    DamagedInBoth {
        /// The entry name.
        entry: String,
        /// The damaged copy's name.
        damaged: String,
        /// What is wrong with the entry there.
        damaged_why: String,
        /// The other copy's name.
        other: String,
        /// What is wrong with the entry there.
        other_why: String,
    },
    /// Repair from one copy alone: an entry is damaged and the archive's
    /// own recovery data cannot rebuild it.
    #[error("{entry} is damaged in {damaged} ({damaged_why}) and the archive's own recovery data cannot rebuild it: give an intact copy with --from")]
    DamagedAlone {
        /// The entry name.
        entry: String,
        /// The copy's name.
        damaged: String,
        /// What is wrong with the entry there.
        damaged_why: String,
    },
    /// Repair from one copy alone: it holds no manifest that can be used,
    /// even with its recovery data.
    #[error("no usable manifest in {damaged} ({damaged_why}): give another copy with --from")]
    NoManifestAlone {
        /// The copy's name.
        damaged: String,
        /// Why its manifest cannot be used.
        damaged_why: String,
        /// Whether it was refused for its signer rather than for damage.
        forged: bool,
    },
    /// Repair: neither copy holds a manifest that can be used.
    #[error("no usable manifest in either copy ({damaged}: {damaged_why}; {other}: {other_why})")]
    NoManifest {
        /// The damaged copy's name.
        damaged: String,
        /// Why its manifest cannot be used.
        damaged_why: String,
        /// The other copy's name.
        other: String,
        /// Why its manifest cannot be used.
        other_why: String,
        /// Whether a manifest was refused for its signer (pinned issuer,
        /// bad signature) rather than for damage.
        forged: bool,
    },
    /// Repair: the copies hold different valid manifests (another archive,
    /// an older one, or a re-signed one), and the caller chose neither.
    #[error("the copies hold different manifests: {damaged} is {damaged_is}; {other} is {other_is}; choose the one to repair to")]
    CopiesDisagree {
        /// The damaged copy's name.
        damaged: String,
        /// Archive id, creation time and signer of its manifest.
        damaged_is: String,
        /// The other copy's name.
        other: String,
        /// Archive id, creation time and signer of its manifest.
        other_is: String,
    },
    /// Repair: the damaged copy holds no usable manifest, and the other
    /// copy's is not one the damaged copy's surviving bytes support
    /// (another archive, an older one or a re-signed one; §16.5).
    #[error("{other}'s manifest is not supported by {damaged}: {why}. Nothing was repaired: a manifest from another copy is used only where the damaged copy's surviving entries confirm it")]
    ManifestUnsupported {
        /// The damaged copy's name.
        damaged: String,
        /// The other copy's name.
        other: String,
        /// What the damaged copy's surviving bytes show.
        why: String,
    },
    /// A one-record proof was asked of a format 1.x archive.
    #[error("{archive}: format 1.x archives carry no records tree; convert first")]
    NoRecordsTree {
        /// The archive's name.
        archive: String,
    },
    /// Writing an output failed.
    #[error("writing {what}: {source}")]
    Output {
        /// What was being written.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// This error as a format 2.0 archive names it: the signature and key
    /// commitment errors of 1.x name `manifest.sig` and `manifest.json`,
    /// their 2.0 forms `signatures` and `public.json`; others unchanged.
    pub fn for_v2(self) -> Error {
        match self {
            Error::BadSignature => Error::SignaturesBad,
            Error::SignatureDamaged { what } => Error::SignaturesDamaged { what },
            Error::Unsigned { expected } => Error::HeadUnsigned { expected },
            Error::WrongIssuer { expected, found } => Error::HeadWrongIssuer { expected, found },
            Error::KeyCommitment { slot } => Error::PublicKeyCommitment { slot },
            e => e,
        }
    }

    /// Whether this is a damaged signature entry (1.x `manifest.sig` or
    /// 2.0 `signatures`): who signed cannot be checked, though the rest
    /// can be read.
    pub fn is_signature_damaged(&self) -> bool {
        matches!(
            self,
            Error::SignatureDamaged { .. } | Error::SignaturesDamaged { .. }
        )
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        use legation_format::Error as F;
        match self {
            Error::Source { .. } => ErrorKind::Io,
            Error::Format(F::UnsupportedVersion { .. }) => ErrorKind::Unsupported,
            Error::Format(F::Io { .. }) => ErrorKind::Io,
            Error::Format(_) | Error::NotLegation(_) => ErrorKind::Damaged,
            Error::MissingEntry { .. }
            | Error::ManifestMismatch { .. }
            | Error::EntryHash { .. }
            | Error::TooLarge { .. }
            | Error::Chunk { .. }
            | Error::RecordMismatch { .. } => ErrorKind::Damaged,
            Error::SignatureDamaged { .. } | Error::SignaturesDamaged { .. } => ErrorKind::Damaged,
            Error::SignaturesBad
            | Error::HeadUnsigned { .. }
            | Error::HeadWrongIssuer { .. }
            | Error::PublicKeyCommitment { .. } => ErrorKind::Forged,
            Error::BadSignature
            | Error::Unsigned { .. }
            | Error::WrongIssuer { .. }
            | Error::KeyCommitment { .. } => ErrorKind::Forged,
            Error::NoKey { .. } | Error::KeyNeeded => ErrorKind::WrongKey,
            Error::Quorum(q) => {
                use legation_format::quorum::QuorumError as Q;
                match q {
                    Q::Policy { .. } | Q::Rebuilt { .. } => ErrorKind::Forged,
                    _ => ErrorKind::WrongKey,
                }
            }
            Error::NoSuchRecord { .. } => ErrorKind::NotFound,
            Error::DamagedInBoth { .. } | Error::DamagedAlone { .. } => ErrorKind::Damaged,
            Error::NoManifestAlone { forged, .. } => {
                if *forged {
                    ErrorKind::Forged
                } else {
                    ErrorKind::Damaged
                }
            }
            Error::NoManifest { forged, .. } => {
                if *forged {
                    ErrorKind::Forged
                } else {
                    ErrorKind::Damaged
                }
            }
            Error::CopiesDisagree { .. } | Error::ManifestUnsupported { .. } => ErrorKind::Forged,
            Error::Output { .. } => ErrorKind::Io,
            Error::NoRecordsTree { .. } => ErrorKind::Unsupported,
        }
    }
}
