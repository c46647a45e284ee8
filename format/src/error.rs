use thiserror::Error;

/// Result with the format's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while writing an archive or decoding one of
/// its structures. Messages name the entry or file concerned, last.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a source file or writing the archive failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, ending with the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A ZIP structure is not what the canonical container allows.
    #[error("container: {what}")]
    Container {
        /// What is wrong and where.
        what: String,
    },
    /// A JSON document (manifest, catalog page or index, sidecar) is malformed.
    #[error("{entry}: malformed JSON: {reason}")]
    Json {
        /// The entry or file holding the document.
        entry: String,
        /// The parser's message.
        reason: String,
    },
    /// A document is valid JSON but breaks a rule of the format.
    #[error("{entry}: {what}")]
    Invalid {
        /// The entry or file concerned.
        entry: String,
        /// What is wrong.
        what: String,
    },
    /// The archive declares a major format version this reader does not know.
    #[error(
        "manifest.json: format version {found} is not supported (this reader reads {supported}.x)"
    )]
    UnsupportedVersion {
        /// The version found.
        found: String,
        /// The major version supported.
        supported: u32,
    },
    /// An authentication tag did not verify: the ciphertext was changed,
    /// truncated, reordered or moved, or the key is not the archive's.
    #[error("{entry}: chunk {chunk} fails authentication (changed, moved or truncated)")]
    Decrypt {
        /// The entry concerned.
        entry: String,
        /// The chunk index within the entry.
        chunk: u64,
    },
    /// A key file could not be parsed.
    #[error("{path}: not a Legation {expected} key file: {reason}")]
    KeyFile {
        /// The file.
        path: String,
        /// Which kind of key was expected.
        expected: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A passphrase was refused as too weak.
    #[error("passphrase is too weak: {0} (use `legation keygen passphrase`, or force it)")]
    WeakPassphrase(String),
    /// A key slot's KDF parameters exceed the bounds a reader accepts.
    #[error("key slot {slot}: {what}")]
    HostileKdf {
        /// Index of the key slot.
        slot: usize,
        /// Which parameter, its value and the bound.
        what: String,
    },
    /// A record or folder name cannot be packed.
    #[error("{path}: {what}")]
    Unsupported {
        /// The path relative to the packed folder (or the full path).
        path: String,
        /// Why it cannot be packed.
        what: String,
    },
    /// A source file changed while it was being packed.
    #[error("{path}: changed while being packed ({what})")]
    Changed {
        /// The file.
        path: String,
        /// What differed.
        what: String,
    },
}

impl Error {
    /// Builds an [`Error::Io`] with a context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
    /// Builds an [`Error::Container`].
    pub fn container(what: impl Into<String>) -> Self {
        Error::Container { what: what.into() }
    }
    /// Builds an [`Error::Invalid`].
    pub fn invalid(entry: impl Into<String>, what: impl Into<String>) -> Self {
        Error::Invalid {
            entry: entry.into(),
            what: what.into(),
        }
    }
}
