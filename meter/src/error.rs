//! Why a module was refused.

/// Why [`check_decoder_module`](crate::check_decoder_module) refused a
/// module, or [`meter`](crate::meter) could not rewrite it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MeterError {
    /// The module is larger than the caller's limit.
    #[error("the decoder module is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Size of the module in bytes.
        size: usize,
        /// The caller's limit in bytes.
        limit: usize,
    },
    /// The module is not valid WebAssembly for the feature set decoders may
    /// use (WebAssembly 2.0); the text is wasmparser's.
    #[error("invalid decoder module at byte offset {offset}: {message}")]
    Invalid {
        /// wasmparser's description of the problem.
        message: String,
        /// Byte offset in the module where it was found.
        offset: usize,
    },
    /// The module imports something; decoders must be self-contained.
    #[error("the decoder module imports `{module}`.`{name}`; decoders must have no imports")]
    HasImports {
        /// Module name of the first import.
        module: String,
        /// Field name of the first import.
        name: String,
    },
    /// The module has a start function, which would run before the host
    /// could call anything.
    #[error("the decoder module has a start function; decoders must not")]
    HasStart,
    /// A required export is absent.
    #[error("the decoder module does not export `{name}`")]
    MissingExport {
        /// The missing export's name.
        name: &'static str,
    },
    /// An ABI export has the wrong kind or function type.
    #[error("the decoder module's export `{name}` is {found}, expected {expected}")]
    WrongSignature {
        /// The export's name.
        name: String,
        /// What the ABI requires, e.g. `a function (i32) -> i32`.
        expected: &'static str,
        /// What the module has, e.g. `a function (i64) -> i32` or `a global`.
        found: String,
    },
    /// The module defines more than one memory.
    #[error("the decoder module defines {count} memories; decoders have exactly one")]
    MultipleMemories {
        /// Number of memories defined.
        count: u32,
    },
    /// The module's memory is 64-bit.
    #[error("the decoder module's memory is 64-bit (memory64); decoders use a 32-bit memory")]
    Memory64,
    /// A function uses an operator decoders must not use: tail calls
    /// (`return_call`, `return_call_indirect`), which would skip the
    /// depth counter's decrement, or `table.grow`, which would let memory
    /// use escape the memory cap.
    #[error(
        "function {function} of the decoder module uses `{operator}`, which decoders must not use"
    )]
    RefusedOperator {
        /// Index of the function (decoders have no imported functions, so
        /// this is also the index in the code section).
        function: u32,
        /// The operator's text-format name.
        operator: &'static str,
    },
    /// The `legation.decoder` custom section is absent.
    #[error("the decoder module has no `legation.decoder` custom section")]
    MissingDecoderSection,
    /// A custom section that may appear once appears more than once.
    #[error("the decoder module has more than one `{name}` custom section")]
    DuplicateSection {
        /// The section's name.
        name: &'static str,
    },
    /// The `legation.decoder` custom section is not UTF-8 text.
    #[error("the decoder module's `legation.decoder` custom section is not UTF-8")]
    DecoderSectionNotUtf8,
    /// The `legation.meter` custom section does not hold exactly 16 bytes.
    #[error("the decoder module's `legation.meter` custom section is {len} bytes, not 16")]
    BadMeterSection {
        /// Length of the section's payload in bytes.
        len: usize,
    },
    /// [`verify_metered`](crate::verify_metered) was given a module without
    /// a `legation.meter` section.
    #[error("the decoder module is not metered (it has no `legation.meter` section)")]
    NotMetered,
    /// The module's code is not what metering a decoder module with the
    /// limits in its `legation.meter` section gives: the record cannot be
    /// trusted.
    #[error("the decoder module's code does not enforce the limits its `legation.meter` section records")]
    MeterMismatch,
    /// [`meter`](crate::meter) was given a module that is already metered.
    #[error("the decoder module is already metered")]
    AlreadyMetered,
    /// The configured fuel does not fit the signed 64-bit counter.
    #[error("fuel {fuel} is more than the largest counter value, {max}", max = i64::MAX)]
    FuelTooLarge {
        /// The configured fuel.
        fuel: u64,
    },
    /// The configured memory cap is more than a 32-bit memory can hold.
    #[error("a memory cap of {pages} pages is more than 65536 (4 GiB)")]
    MemoryCapTooLarge {
        /// The configured cap in 64 KiB pages.
        pages: u32,
    },
    /// The module's memory starts larger than the configured cap.
    #[error("the decoder module's memory starts at {minimum} pages, more than the cap of {cap}")]
    MemoryOverCap {
        /// The memory's declared minimum in 64 KiB pages.
        minimum: u64,
        /// The configured cap in 64 KiB pages.
        cap: u32,
    },
    /// The rewritten module failed validation. This is a bug in this
    /// crate (or a function so close to an engine limit, such as 50 000
    /// locals, that the counters pushed it over).
    #[error("the metered module does not validate at byte offset {offset}: {message}")]
    OutputInvalid {
        /// wasmparser's description of the problem.
        message: String,
        /// Byte offset in the metered module.
        offset: usize,
    },
}

impl MeterError {
    pub(crate) fn invalid(error: &wasmparser::BinaryReaderError) -> Self {
        MeterError::Invalid {
            message: error.message().to_string(),
            offset: error.offset(),
        }
    }
}
