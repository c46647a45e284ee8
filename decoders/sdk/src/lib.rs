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

/// Version of the decoder ABI the [`decoder!`] macro implements.
pub const ABI_VERSION: u32 = 1;

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
/// The name, version and media types must be string literals; the JSON
/// description is built from them at compile time (a control character in
/// one is a compile error). On every target the macro checks the
/// functions' types; elsewhere than `wasm32` it generates nothing else.
#[macro_export]
macro_rules! decoder {
    (@pages) => { false };
    (@pages $page:path) => { true };
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

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            const PAGES: bool = $crate::decoder!(@pages $($page)?);
            const LEN: usize = $crate::__private::metadata_len(
                $name, $version, &[$($media),*], PAGES,
            );

            #[allow(unsafe_code)]
            #[unsafe(link_section = "legation.decoder")]
            #[used]
            static METADATA: [u8; LEN] = $crate::__private::metadata::<LEN>(
                $name, $version, &[$($media),*], PAGES,
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
                $crate::__private::decode(ptr, len, $decode)
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
                    $crate::__private::decode_page(ptr, len, page, $page)
                }
            )?
        };
    };
}

/// Support for [`decoder!`]; not a public interface.
#[doc(hidden)]
pub mod __private {
    pub use crate::metadata::{metadata, metadata_len};

    #[cfg(target_arch = "wasm32")]
    pub use crate::abi::{alloc, decode, decode_page, panic_message};
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
