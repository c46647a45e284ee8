//! Checks every built-in decoder, as built for `wasm32-unknown-unknown`,
//! against the decoder ABI: no imports at all, the `memory` and
//! `legation_*` exports, and the `legation.decoder` section.

/// Package, its JSON description.
const DECODERS: &[(&str, &str)] = &[
    (
        "legation-decoder-text",
        r#"{"abi":1,"name":"text","version":"1.0.0","media_types":["text/plain","text/markdown"],"pages":false}"#,
    ),
    (
        "legation-decoder-csv",
        r#"{"abi":1,"name":"csv","version":"1.0.0","media_types":["text/csv","text/tab-separated-values"],"pages":false}"#,
    ),
    (
        "legation-decoder-json",
        r#"{"abi":1,"name":"json","version":"1.0.0","media_types":["application/json"],"pages":false}"#,
    ),
    (
        "legation-decoder-png",
        r#"{"abi":1,"name":"png","version":"1.0.0","media_types":["image/png"],"pages":false}"#,
    ),
    (
        "legation-decoder-tiff",
        r#"{"abi":1,"name":"tiff","version":"1.0.0","media_types":["image/tiff"],"pages":true}"#,
    ),
    (
        "legation-decoder-raw",
        r#"{"abi":1,"name":"raw","version":"1.0.0","media_types":["*/*"],"pages":false}"#,
    ),
];

#[test]
fn built_decoders_follow_the_abi() {
    // The modules legation-builtin-decoders built from source (its build.rs),
    // in the order of DECODERS: the very bytes that are packed.
    let modules = legation_builtin_decoders::ALL;
    assert_eq!(
        modules.len(),
        DECODERS.len(),
        "every built-in decoder (decoders/decoders.txt) needs its line in DECODERS here"
    );
    for ((package, description), bytes) in DECODERS.iter().zip(modules) {
        let module = Module::parse(bytes).unwrap_or_else(|e| panic!("{package}: {e}"));
        assert_eq!(module.imports, 0, "{package} imports something");
        let pages = description.contains(r#""pages":true"#);
        let mut expected = vec![
            ("legation_alloc".to_owned(), 0),
            ("legation_decode".to_owned(), 0),
            ("memory".to_owned(), 2),
        ];
        if pages {
            expected.push(("legation_decode_page".to_owned(), 0));
        }
        for export in &expected {
            assert!(
                module.exports.contains(export),
                "{package} does not export {export:?}: {:?}",
                module.exports
            );
        }
        if !pages {
            assert!(!module
                .exports
                .iter()
                .any(|(name, _)| name == "legation_decode_page"));
        }
        let sections: Vec<_> = module
            .custom
            .iter()
            .filter(|(name, _)| name == "legation.decoder")
            .collect();
        assert_eq!(sections.len(), 1, "{package}: one legation.decoder section");
        assert_eq!(std::str::from_utf8(&sections[0].1).unwrap(), *description);
        let debug: usize = module
            .custom
            .iter()
            .filter(|(name, _)| name != "legation.decoder")
            .map(|(_, content)| content.len())
            .sum();
        println!(
            "{package}: {} bytes, {} without other custom sections",
            bytes.len(),
            bytes.len() - debug
        );
    }
}

/// What the test needs of a module, read with a walk over its sections
/// (WebAssembly core specification, section 5.5).
struct Module {
    imports: u32,
    /// Export names and kinds (0 function, 1 table, 2 memory, 3 global).
    exports: Vec<(String, u8)>,
    /// Custom sections: name and content.
    custom: Vec<(String, Vec<u8>)>,
}

impl Module {
    fn parse(bytes: &[u8]) -> Result<Module, String> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(8)? != b"\0asm\x01\0\0\0" {
            return Err("not a version 1 WebAssembly module".into());
        }
        let mut module = Module {
            imports: 0,
            exports: Vec::new(),
            custom: Vec::new(),
        };
        while r.pos < bytes.len() {
            let id = r.take(1)?[0];
            let size = r.leb()? as usize;
            let mut s = Reader {
                bytes: r.take(size)?,
                pos: 0,
            };
            match id {
                0 => {
                    let name = s.name()?;
                    let content = s.bytes[s.pos..].to_vec();
                    module.custom.push((name, content));
                }
                2 => module.imports = s.leb()?,
                7 => {
                    for _ in 0..s.leb()? {
                        let name = s.name()?;
                        let kind = s.take(1)?[0];
                        s.leb()?;
                        module.exports.push((name, kind));
                    }
                }
                _ => {}
            }
        }
        Ok(module)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("truncated")?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn leb(&mut self) -> Result<u32, String> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.take(1)?[0];
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("LEB128 too long".into())
    }

    fn name(&mut self) -> Result<String, String> {
        let len = self.leb()? as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "name not UTF-8".into())
    }
}
