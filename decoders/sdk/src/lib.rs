//! Write a Legation decoder as a plain Rust function.
//!
//! A decoder is a pure function from the bytes of a record to a view
//! [`Document`]. Write it as `fn decode(input: &[u8]) -> Result<Document,
//! DecodeError>` (and, for records with pages, `fn decode_page(input:
//! &[u8], page: u32) -> Result<Document, DecodeError>`), then name it in
//! [`decoder!`]:
//!
//! ```
//! use legation_decoder_sdk::{decoder, Block, DecodeError, Document};
//!
//! fn decode(input: &[u8]) -> Result<Document, DecodeError> {
//!     let text = std::str::from_utf8(input).map_err(|_| DecodeError::new("not UTF-8"))?;
//!     Ok(Document {
//!         title: "Note".into(),
//!         blocks: vec![Block::Code { text: text.into() }],
//!     })
//! }
//!
//! decoder! {
//!     name: "note", version: "1.0.0", media_types: ["text/x-note"],
//!     decode: decode,
//! }
//! # assert!(decode(b"hi").is_ok());
//! ```
//!
//! Built for `wasm32-unknown-unknown` as a `cdylib`, the crate becomes a
//! module with the decoder ABI below; built natively it is a plain library
//! whose functions tests and benchmarks call directly.
//!
//! # The decoder ABI, version 1
//!
//! - The module imports nothing, and exports its linear memory as
//!   `memory`.
//! - `legation_alloc(len: i32) -> i32` returns a pointer to `len` writable
//!   bytes, where the host writes the record, or 0 if it cannot.
//! - `legation_decode(ptr: i32, len: i32) -> i64` decodes the `len` bytes
//!   at `ptr` (which must be the last block `legation_alloc` returned, or
//!   lie within it) and returns `out_ptr << 32 | out_len`, both as unsigned
//!   32-bit numbers: the `out_len` bytes at `out_ptr` are one status byte
//!   and a payload. Status 0 ([`STATUS_OK`]): the payload is the canonical
//!   CBOR encoding of a [`Document`]. Status 1 ([`STATUS_REFUSED`]): the
//!   decoder refuses the input and the payload is a UTF-8 message.
//! - `legation_decode_page(ptr: i32, len: i32, page: i32) -> i64` does the
//!   same for page `page` (from 0) of a record with pages. Only decoders
//!   with a page function export it.
//! - A custom section named `legation.decoder` ([`SECTION_NAME`]) holds
//!   UTF-8 JSON describing the decoder, such as
//!   `{"abi":1,"name":"csv","version":"1.0.0","media_types":["text/csv"],"pages":false}`,
//!   which the host reads before running anything.
//!
//! The host runs each call in a fresh instance, so nothing is ever freed.
//! Decoder modules therefore allocate with a bump allocator (the
//! `bump-allocator` feature, on by default), which takes back only the
//! last block and is several times faster than a general-purpose one.
//! - `legation_panic() -> i64`, optional, called by the host after a
//!   trap: `ptr << 32 | len` of a UTF-8 message saying why the decoder
//!   panicked, or 0.
//!
//!
//! # The decoder ABI, version 2 (format 2.1): the record's facts
//!
//! A decoder named in [`decoder!`] with `decode_with_facts:` declares
//! `"abi":2`, and every call's input is then the record's [`Facts`] (its
//! path, media type and title as the catalog states them) before its
//! bytes; the SDK splits them ([`Facts::split`]) and hands both to the
//! function. Readers include the facts in the record's render hash, so a
//! view that shows them is verified like any other; readers of format 2.0
//! refuse such a decoder by its ABI, naming it.
//!
//! A panic is a trap (`panic = "abort"` is the default of the target); the
//! SDK's panic hook first keeps the panic's message and place in the
//! source for `legation_panic`, and the host reports the record as not
//! rendered because the decoder `panicked: MESSAGE (at src/lib.rs:LINE)`.

#![deny(unsafe_code)]

use std::fmt;

pub use legation_document as view;
pub use legation_document::{Block, ColumnType, Document, Limits, PixelFormat, Span};

mod metadata;
pub mod text;

/// Version of the decoder ABI the [`decoder!`] macro implements for a
/// decoder of the record's bytes alone (`decode:`).
pub const ABI_VERSION: u32 = 1;

/// Version of the decoder ABI (format 2.1) the [`decoder!`] macro
/// implements for a decoder that is also given the record's [`Facts`]
/// (`decode_with_facts:`).
pub const ABI_FACTS: u32 = 2;

/// What the host tells a decoder of ABI 2 about the record it decodes,
/// as the archive's catalog states it: its path, its media type and its
/// title (the Dublin Core title, else the last segment of the path). Each
/// is at most 4096 bytes, cut at a whole character by the host.
///
/// A format that does not name itself (a time zone file, a mainframe
/// record file) can show what it is from these. They are part of the
/// render hash, so a view that shows them is checked like any other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The record's path in the archive, `/`-separated (`zoneinfo/Europe/Oslo`).
    pub path: &'a str,
    /// Its media type (`application/octet-stream`).
    pub media_type: &'a str,
    /// Its title.
    pub title: &'a str,
}

impl<'a> Facts<'a> {
    /// Splits what the host gave a call of ABI 2 into the facts and the
    /// record: `LE32(len) || UTF-8` for the path, the media type and the
    /// title, then the record's bytes.
    pub fn split(input: &'a [u8]) -> Result<(Facts<'a>, &'a [u8]), DecodeError> {
        let mut rest = input;
        let mut field = |what: &str| -> Result<&'a str, DecodeError> {
            let bad =
                || DecodeError::new(format!("the host's facts block breaks off in the {what}"));
            let (len, after) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
            let len = u32::from_le_bytes(*len) as usize;
            if len > 4096 || len > after.len() {
                return Err(bad());
            }
            let (text, after) = after.split_at(len);
            rest = after;
            std::str::from_utf8(text).map_err(|_| {
                DecodeError::new(format!("the host's facts give a {what} that is not UTF-8"))
            })
        };
        let facts = Facts {
            path: field("path")?,
            media_type: field("media type")?,
            title: field("title")?,
        };
        Ok((facts, rest))
    }

    /// The facts block followed by `record`, as a host gives a call of
    /// ABI 2: for tests of a decoder, natively. Each field is cut to
    /// 4096 bytes at a whole character, as hosts do.
    pub fn input(&self, record: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for field in [self.path, self.media_type, self.title] {
            let mut end = field.len().min(4096);
            while !field.is_char_boundary(end) {
                end -= 1;
            }
            out.extend_from_slice(&(end as u32).to_le_bytes());
            out.extend_from_slice(&field.as_bytes()[..end]);
        }
        out.extend_from_slice(record);
        out
    }

    /// The last segment of the path (`Oslo` of `zoneinfo/Europe/Oslo`).
    pub fn file_name(&self) -> &'a str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }
}

/// Name of the custom section holding the decoder's JSON description.
pub const SECTION_NAME: &str = "legation.decoder";

/// Status byte of a successful decode: a CBOR document follows.
pub const STATUS_OK: u8 = 0;

/// Status byte of a refusal: a UTF-8 message follows.
pub const STATUS_REFUSED: u8 = 1;

/// Why a decoder refuses its input: a message for the person viewing the
/// record, such as `"PNG chunk IDAT has a bad CRC"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    /// A refusal with this message.
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// The message, taken out.
    pub fn into_message(self) -> String {
        self.0
    }
}

impl From<String> for DecodeError {
    fn from(message: String) -> Self {
        DecodeError(message)
    }
}

impl From<&str> for DecodeError {
    fn from(message: &str) -> Self {
        DecodeError(message.to_owned())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The bytes a decoder hands back for `result`: a status byte and its
/// payload, as the ABI says.
///
/// A document is first checked with [`Document::validate`] against
/// [`Limits::default`], so a decoder bug that would make an invalid
/// document becomes a refusal that says so rather than output the host
/// has to refuse.
pub fn respond(result: Result<Document, DecodeError>) -> Vec<u8> {
    let refusal = |message: &str| {
        let mut out = Vec::with_capacity(1 + message.len());
        out.push(STATUS_REFUSED);
        out.extend_from_slice(message.as_bytes());
        out
    };
    match result {
        Ok(document) => match document.validate(&Limits::default()) {
            Ok(()) => {
                let mut out = vec![STATUS_OK];
                out.extend_from_slice(&document.to_cbor());
                out
            }
            Err(error) => refusal(&format!(
                "the decoder produced an invalid view document: {error}"
            )),
        },
        Err(error) => refusal(error.message()),
    }
}

/// What the host would make of a response: the document, or the refusal's
/// message. For tests of decoders and of [`respond`].
pub fn read_response(response: &[u8]) -> Result<Document, DecodeError> {
    match response.split_first() {
        Some((&STATUS_OK, payload)) => Document::from_cbor(payload, &Limits::default())
            .map_err(|error| DecodeError::new(format!("bad document: {error}"))),
        Some((&STATUS_REFUSED, payload)) => Err(DecodeError::new(
            String::from_utf8_lossy(payload).into_owned(),
        )),
        _ => Err(DecodeError::new("bad status byte")),
    }
}

/// Generates the ABI exports and the `legation.decoder` section of a
/// decoder, on `wasm32` targets only.
///
/// ```
/// use legation_decoder_sdk::{DecodeError, Document};
///
/// fn decode(input: &[u8]) -> Result<Document, DecodeError> {
///     Ok(Document { title: format!("{} bytes", input.len()), blocks: Vec::new() })
/// }
/// fn decode_page(_input: &[u8], page: u32) -> Result<Document, DecodeError> {
///     Err(DecodeError::new(format!("no page {page}")))
/// }
///
/// legation_decoder_sdk::decoder! {
///     name: "tiff", version: "1.0.0", media_types: ["image/tiff"],
///     decode: decode,            // fn(&[u8]) -> Result<Document, DecodeError>
///     decode_page: decode_page,  // optional: fn(&[u8], u32) -> Result<Document, DecodeError>
/// }
/// ```
///
/// A decoder that is also given the record's [`Facts`] (its path, media
/// type and title; decoder ABI 2, format 2.1) names its functions with
/// `decode_with_facts:` and `decode_page_with_facts:` instead:
///
/// ```
/// use legation_decoder_sdk::{Block, DecodeError, Document, Facts};
///
/// fn decode(input: &[u8], facts: &Facts) -> Result<Document, DecodeError> {
///     Ok(Document {
///         title: facts.title.into(),
///         blocks: vec![Block::Fields { items: vec![("Path".into(), facts.path.into())] }],
///     })
/// }
///
/// legation_decoder_sdk::decoder! {
///     name: "zone", version: "1.0.0", media_types: [],
///     decode_with_facts: decode, // fn(&[u8], &Facts) -> Result<Document, DecodeError>
/// }
/// # let facts = Facts { path: "zoneinfo/UTC", media_type: "", title: "UTC" };
/// # assert_eq!(decode(b"", &facts).unwrap().title, "UTC");
/// ```
///
/// The name, version and media types must be string literals; the JSON
/// description is built from them at compile time (a control character in
/// one is a compile error). On every target the macro checks the
/// functions' types; elsewhere than `wasm32` it generates nothing else.
#[macro_export]
macro_rules! decoder {
    (@pages) => { false };
    (@pages $page:path) => { true };
    (
        @module $abi:literal, $name:literal, $version:literal, [$($media:literal),*],
        $glue:ident $decode:path, $page_glue:ident $(, $page:path)?
    ) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            const PAGES: bool = $crate::decoder!(@pages $($page)?);
            const LEN: usize = $crate::__private::metadata_len(
                $abi, $name, $version, &[$($media),*], PAGES,
            );

            #[allow(unsafe_code)]
            #[unsafe(link_section = "legation.decoder")]
            #[used]
            static METADATA: [u8; LEN] = $crate::__private::metadata::<LEN>(
                $abi, $name, $version, &[$($media),*], PAGES,
            );

            /// ABI: `len` writable bytes for the record, or 0.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            pub extern "C" fn legation_alloc(len: i32) -> i32 {
                $crate::__private::alloc(len)
            }

            /// ABI: decode the record at `ptr`.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            pub extern "C" fn legation_decode(ptr: i32, len: i32) -> i64 {
                $crate::__private::$glue(ptr, len, $decode)
            }

            /// ABI: where the message of the panic that trapped the call
            /// is, `ptr << 32 | len`, or 0.
            #[allow(unsafe_code)]
            #[unsafe(no_mangle)]
            pub extern "C" fn legation_panic() -> i64 {
                $crate::__private::panic_message()
            }

            $(
                /// ABI: decode page `page` of the record at `ptr`.
                #[allow(unsafe_code)]
                #[unsafe(no_mangle)]
                pub extern "C" fn legation_decode_page(ptr: i32, len: i32, page: i32) -> i64 {
                    $crate::__private::$page_glue(ptr, len, page, $page)
                }
            )?
        };
    };
    (
        name: $name:literal,
        version: $version:literal,
        media_types: [$($media:literal),* $(,)?],
        decode: $decode:path
        $(, decode_page: $page:path)?
        $(,)?
    ) => {
        const _: () = {
            let _: fn(&[u8]) -> ::core::result::Result<$crate::Document, $crate::DecodeError> =
                $decode;
            $(
                let _: fn(&[u8], u32)
                    -> ::core::result::Result<$crate::Document, $crate::DecodeError> = $page;
            )?
        };
        $crate::decoder!(
            @module 1, $name, $version, [$($media),*], decode $decode, decode_page $(, $page)?
        );
    };
    (
        name: $name:literal,
        version: $version:literal,
        media_types: [$($media:literal),* $(,)?],
        decode_with_facts: $decode:path
        $(, decode_page_with_facts: $page:path)?
        $(,)?
    ) => {
        const _: () = {
            let _: fn(&[u8], &$crate::Facts<'_>)
                -> ::core::result::Result<$crate::Document, $crate::DecodeError> = $decode;
            $(
                let _: fn(&[u8], &$crate::Facts<'_>, u32)
                    -> ::core::result::Result<$crate::Document, $crate::DecodeError> = $page;
            )?
        };
        $crate::decoder!(
            @module 2, $name, $version, [$($media),*],
            decode_with_facts $decode, decode_page_with_facts $(, $page)?
        );
    };
}

/// Support for [`decoder!`]; not a public interface.
#[doc(hidden)]
pub mod __private {
    pub use crate::metadata::{metadata, metadata_len};

    #[cfg(target_arch = "wasm32")]
    pub use crate::abi::{
        alloc, decode, decode_page, decode_page_with_facts, decode_with_facts, panic_message,
    };
}

#[cfg(target_arch = "wasm32")]
mod abi;

#[cfg(all(target_arch = "wasm32", feature = "bump-allocator"))]
mod bump;

/// Decoder modules allocate with [`bump::Bump`] unless the
/// `bump-allocator` feature is turned off (then Rust's default,
/// dlmalloc, is used).
#[cfg(all(target_arch = "wasm32", feature = "bump-allocator"))]
#[global_allocator]
static ALLOCATOR: bump::Bump = bump::Bump::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_status_0_and_its_encoding() {
        let document = Document {
            title: "t".into(),
            blocks: vec![Block::Code { text: "x".into() }],
        };
        let response = respond(Ok(document.clone()));
        assert_eq!(response[0], STATUS_OK);
        assert_eq!(&response[1..], document.to_cbor());
        assert_eq!(read_response(&response), Ok(document));
    }

    #[test]
    fn a_refusal_is_status_1_and_its_message() {
        let response = respond(Err(DecodeError::new("no PNG signature")));
        assert_eq!(response, b"\x01no PNG signature");
        assert_eq!(
            read_response(&response),
            Err(DecodeError::from("no PNG signature"))
        );
    }

    #[test]
    fn an_invalid_document_becomes_a_refusal() {
        let document = Document {
            title: String::new(),
            blocks: vec![Block::Heading {
                level: 0,
                text: "x".into(),
            }],
        };
        let response = respond(Ok(document));
        assert_eq!(response[0], STATUS_REFUSED);
        assert_eq!(
            read_response(&response).unwrap_err().message(),
            "the decoder produced an invalid view document: heading level 0 is not between 1 and 6"
        );
    }

    #[test]
    fn decode_error_conversions() {
        let error: DecodeError = "a".into();
        assert_eq!(error.to_string(), "a");
        let error: DecodeError = String::from("b").into();
        assert_eq!(error.into_message(), "b");
    }

    fn decode(_: &[u8]) -> Result<Document, DecodeError> {
        Ok(Document::default())
    }

    fn page(_: &[u8], _: u32) -> Result<Document, DecodeError> {
        Ok(Document::default())
    }

    // The macro expands natively too (to type checks only).
    decoder! { name: "t", version: "0", media_types: [], decode: decode }
    mod with_facts {
        use super::*;
        fn titled(input: &[u8], facts: &Facts) -> Result<Document, DecodeError> {
            Ok(Document {
                title: format!("{} ({} bytes)", facts.title, input.len()),
                blocks: Vec::new(),
            })
        }
        fn page(_: &[u8], facts: &Facts, page: u32) -> Result<Document, DecodeError> {
            Ok(Document {
                title: format!("{} {page}", facts.file_name()),
                blocks: Vec::new(),
            })
        }
        decoder! {
            name: "t", version: "0", media_types: [],
            decode_with_facts: titled, decode_page_with_facts: page,
        }

        #[test]
        fn facts_reach_the_function() {
            let facts = Facts {
                path: "zoneinfo/Europe/Oslo",
                media_type: "application/octet-stream",
                title: "Oslo",
            };
            let input = facts.input(b"TZif");
            let (given, record) = Facts::split(&input).unwrap();
            assert_eq!((given, record), (facts, &b"TZif"[..]));
            assert_eq!(titled(record, &given).unwrap().title, "Oslo (4 bytes)");
            assert_eq!(page(record, &given, 2).unwrap().title, "Oslo 2");
        }
    }

    /// The facts block of SPEC §12.3's example, byte for byte.
    #[test]
    fn the_facts_block_of_the_spec() {
        let facts = Facts {
            path: "tz/Oslo",
            media_type: "application/x-tzif",
            title: "Oslo",
        };
        let input = facts.input(b"");
        assert_eq!(
            input,
            b"\x07\0\0\0tz/Oslo\x12\0\0\0application/x-tzif\x04\0\0\0Oslo"
        );
        assert_eq!(Facts::split(&input).unwrap(), (facts, &b""[..]));
    }

    #[test]
    fn a_facts_block_out_of_bounds_is_refused() {
        let good = Facts {
            path: "a",
            media_type: "b",
            title: "c",
        }
        .input(b"rest");
        for cut in 0..12 {
            let message = Facts::split(&good[..cut]).unwrap_err().into_message();
            assert!(
                message.starts_with("the host's facts block breaks off"),
                "{message}"
            );
        }
        // A length over 4096, and one over the input.
        let mut long = good.clone();
        long[0..4].copy_from_slice(&4097u32.to_le_bytes());
        assert!(Facts::split(&long).is_err());
        let mut past = good.clone();
        past[10..14].copy_from_slice(&100u32.to_le_bytes());
        assert!(Facts::split(&past).unwrap_err().message().contains("title"));
        // Not UTF-8.
        let mut bad = good;
        bad[4] = 0xff;
        assert!(Facts::split(&bad)
            .unwrap_err()
            .message()
            .contains("not UTF-8"));
        // Long fields are cut at a whole character.
        let long_title = "é".repeat(3000);
        let input = Facts {
            path: "p",
            media_type: "",
            title: &long_title,
        }
        .input(b"");
        let (facts, _) = Facts::split(&input).unwrap();
        assert_eq!(facts.title.len(), 4096);
    }
    mod with_pages {
        use super::{decode, page};
        decoder! {
            name: "t", version: "0", media_types: ["a/b", "c/d",],
            decode: decode, decode_page: page,
        }
    }

    #[test]
    fn the_functions_work_natively() {
        assert_eq!(decode(b""), Ok(Document::default()));
        assert_eq!(page(b"", 0), Ok(Document::default()));
    }
}
