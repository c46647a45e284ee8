//! Decoders at pack time: the built-in modules and any given with
//! `--decoder TYPE=FILE.wasm`, metered and stored in the archive, and the
//! renderer that assigns one to each record and records its view hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use legation_format::catalog::Render;
use legation_format::manifest::{DecoderLimits, DecoderRef};
use legation_format::pack::Renderer;
use legation_format::writer::RecordMeta;
use legation_meter::MeterConfig;
use legation_reader::decode::{DecodeError, Host, Loaded};

/// A decoder ready to store: metered bytes and what it declares.
pub struct Prepared {
    /// The metered module.
    pub module: Vec<u8>,
    /// Its manifest description (entry filled in by the writer).
    pub desc: DecoderRef,
    /// The host's compiled copy.
    pub loaded: Arc<Loaded>,
}

/// Meters a module (unless it already carries limits) and checks it.
pub fn prepare(host: &Host, wasm: &[u8], label: &str) -> Result<Prepared> {
    let cfg = MeterConfig::default();
    let module = match legation_meter::is_metered(wasm) {
        Some(_) => wasm.to_vec(),
        None => legation_meter::meter(wasm, &cfg).map_err(|e| anyhow!("{label}: {e}"))?,
    };
    let limits = legation_meter::is_metered(&module)
        .ok_or_else(|| anyhow!("{label}: metering left no limits"))?;
    let loaded = host.load(&module, label)?;
    let desc = DecoderRef {
        entry: String::new(),
        name: loaded.info.name.clone(),
        version: loaded.info.version.clone(),
        abi: loaded.info.abi,
        media_types: loaded.info.media_types.clone(),
        limits: DecoderLimits {
            fuel: limits.fuel,
            max_depth: limits.max_depth,
            max_memory_pages: limits.max_memory_pages,
        },
    };
    Ok(Prepared {
        module,
        desc,
        loaded,
    })
}

/// Parses `TYPE=FILE.wasm`.
pub fn parse_decoder_arg(s: &str) -> Result<(String, PathBuf)> {
    let (t, f) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--decoder takes TYPE=FILE.wasm, not {s:?}"))?;
    if !t.contains('/') {
        bail!("--decoder {s}: {t:?} is not a media type like text/csv");
    }
    Ok((t.to_owned(), PathBuf::from(f)))
}

/// Chooses and runs decoders while packing.
pub struct PackRenderer {
    host: Host,
    /// Media type to decoder index (explicit `--decoder` choices).
    explicit: BTreeMap<String, usize>,
    /// All decoders, built-in fallback last.
    decoders: Vec<(String, Prepared)>,
    /// Records rendered and not rendered.
    pub rendered: u64,
    /// Records not rendered, with the reason.
    pub not_rendered: Vec<(String, String)>,
}

impl PackRenderer {
    /// The built-in decoders and the given ones.
    pub fn new(extra: &[(String, PathBuf)]) -> Result<Self> {
        let host = Host::native();
        let mut decoders = Vec::new();
        let mut explicit = BTreeMap::new();
        for (t, file) in extra {
            let wasm = std::fs::read(file)
                .with_context(|| format!("reading decoder {}", file.display()))?;
            let p = prepare(&host, &wasm, &file.display().to_string())?;
            explicit.insert(t.clone(), decoders.len());
            decoders.push((file.display().to_string(), p));
        }
        for wasm in legation_builtin_decoders::ALL {
            let p = prepare(&host, wasm, "built-in")?;
            let label = format!("built-in {}", p.desc.name);
            decoders.push((label, p));
        }
        Ok(PackRenderer {
            host,
            explicit,
            decoders,
            rendered: 0,
            not_rendered: Vec::new(),
        })
    }

    /// The modules to store, in order.
    pub fn modules(&self) -> impl Iterator<Item = (&[u8], &DecoderRef)> {
        self.decoders
            .iter()
            .map(|(_, p)| (p.module.as_slice(), &p.desc))
    }

    fn choose(&self, media_type: &str) -> &Prepared {
        if let Some(&i) = self.explicit.get(media_type) {
            return &self.decoders[i].1;
        }
        let handles =
            |p: &&(String, Prepared)| p.1.desc.media_types.iter().any(|m| m == media_type);
        let fallback = |p: &&(String, Prepared)| p.1.desc.media_types.iter().any(|m| m == "*/*");
        let found = self
            .decoders
            .iter()
            .find(handles)
            .or_else(|| self.decoders.iter().find(fallback));
        &found
            .unwrap_or(self.decoders.last().expect("built-in decoders"))
            .1 // the fallback is built in
    }
}

impl Renderer for PackRenderer {
    fn render(
        &mut self,
        meta: &mut RecordMeta,
        file: &Path,
        size: u64,
    ) -> legation_format::Result<()> {
        let chosen = self.choose(&meta.media_type);
        meta.decoder = Some(legation_format::manifest::decoder_entry(
            &chosen.loaded.hash,
        ));
        let loaded = chosen.loaded.clone();
        if size > self.host.limits().record_cap {
            let e = DecodeError::TooLarge {
                record: meta.path.clone(),
                size,
                cap: self.host.limits().record_cap,
            };
            meta.render = Some(Render::NotRendered {
                reason: e.to_string(),
            });
            self.not_rendered.push((meta.path.clone(), e.to_string()));
            return Ok(());
        }
        let bytes = std::fs::read(file)
            .map_err(|e| legation_format::Error::io(format!("reading {}", file.display()), e))?;
        if bytes.len() as u64 != size {
            return Err(legation_format::Error::Changed {
                path: meta.path.clone(),
                what: "size changed while rendering".into(),
            });
        }
        meta.render = Some(match self.host.render(&loaded, &meta.path, &bytes) {
            Ok(r) => {
                self.rendered += 1;
                Render::Rendered {
                    blake3: r.hash(),
                    pages: (r.documents.len() - 1) as u32,
                }
            }
            Err(e) => {
                self.not_rendered.push((meta.path.clone(), e.to_string()));
                Render::NotRendered {
                    reason: e.to_string(),
                }
            }
        });
        Ok(())
    }
}
