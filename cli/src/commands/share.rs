//! `share ARCHIVE -o MINE.share`: a quorum holder's share unwrapped for
//! this archive only (SPEC §7.9, §7.10), as a file, a printable sheet of
//! words and a QR code, or read back from the words; and the `pack`
//! options that make quorum slots.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use legation_format::crypto::{Argon2Params, KeySlot};
use legation_format::keys;
use legation_format::quorum::{self, words, Holder, Policy, QuorumSlot, Share};
use zeroize::Zeroizing;

use crate::keyopts::{self, KeyOpts};
use crate::location::Location;
use crate::place::write_new_file;

/// `pack`'s quorum options (format 2.0).
#[derive(clap::Args, Debug, Default)]
pub struct QuorumArgs {
    /// A quorum slot opened by K of the holders given with --holder and
    /// --holder-passphrase-file (format 2.0; SPEC §7.9).
    #[arg(long, value_name = "K", requires = "holders")]
    pub quorum: Option<u8>,
    /// A quorum holder's public key (`NAME.pub`, X25519 or post-quantum);
    /// repeatable, in order (the first is holder 1).
    #[arg(long = "holder", value_name = "FILE.pub", requires = "quorum")]
    pub holders: Vec<PathBuf>,
    /// A quorum holder who holds a passphrase (its first line), after the
    /// --holder keys; repeatable.
    #[arg(
        long = "holder-passphrase-file",
        value_name = "FILE",
        requires = "quorum"
    )]
    pub holder_passphrases: Vec<PathBuf>,
    /// A nested quorum policy: `K of (MEMBER, ...)`, a member being a
    /// `FILE.pub`, `passphrase:FILE` or another `K of (...)`, e.g.
    /// `2 of (2 of (a.pub, b.pub, c.pub), 1 of (d.pub, passphrase:e.txt))`;
    /// repeatable (one quorum slot each).
    #[arg(long = "quorum-policy", value_name = "POLICY")]
    pub policies: Vec<String>,
}

impl QuorumArgs {
    /// The policies the options give, their keys and passphrases read.
    pub fn policies(&self) -> Result<Vec<Policy>> {
        let mut out = Vec::new();
        if let Some(k) = self.quorum {
            let mut members = Vec::new();
            for p in &self.holders {
                members.push(holder_key(p)?);
            }
            for p in &self.holder_passphrases {
                members.push(holder_passphrase(p)?);
            }
            out.push(Policy::Quorum { k, members });
        }
        for text in &self.policies {
            let mut p = Parser { s: text, at: 0 };
            let policy = p.node(0)?;
            p.space();
            if p.at != text.len() {
                bail!(
                    "--quorum-policy: unexpected {:?} at byte {}",
                    &text[p.at..],
                    p.at
                );
            }
            out.push(policy);
        }
        Ok(out)
    }
}

/// A holder's public key file: X25519, or post-quantum (X-Wing, format
/// 2.2, SPEC §7.9.1), known by its tag.
fn holder_key(p: &Path) -> Result<Policy> {
    let (x25519, pq) = keyopts::read_all_recipients(&[p.to_owned()])?;
    Ok(Policy::Holder(
        match (x25519.first(), pq.into_iter().next()) {
            (Some(k), _) => Holder::X25519(*k),
            (None, Some(r)) => Holder::MlKem768X25519(Box::new(r)),
            (None, None) => bail!("{}: no public key", p.display()),
        },
    ))
}

fn holder_passphrase(p: &Path) -> Result<Policy> {
    let pass = keyopts::passphrase_from_file_or_env(Some(p))?
        .ok_or_else(|| anyhow!("{}: no passphrase", p.display()))?;
    keys::check_passphrase(&pass).with_context(|| format!("passphrase of {}", p.display()))?;
    Ok(Policy::Holder(Holder::Passphrase(
        pass,
        Argon2Params::DEFAULT,
    )))
}

/// A recursive-descent parser of `--quorum-policy`, bounded in depth as
/// the format is (so a hostile argument cannot exhaust the stack).
struct Parser<'a> {
    s: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s[self.at..].starts_with(char::is_whitespace) {
            self.at += 1;
        }
    }
    fn eat(&mut self, token: &str) -> bool {
        self.space();
        let hit = self.s[self.at..].starts_with(token);
        if hit {
            self.at += token.len();
        }
        hit
    }
    fn node(&mut self, depth: usize) -> Result<Policy> {
        if depth >= quorum::bounds::MAX_DEPTH {
            bail!(
                "--quorum-policy: nodes nest more than {} deep",
                quorum::bounds::MAX_DEPTH
            );
        }
        self.space();
        let digits = self.s[self.at..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.s.len() - self.at);
        let k: u8 = self.s[self.at..self.at + digits]
            .parse()
            .map_err(|_| anyhow!("--quorum-policy: a number K expected at byte {}", self.at))?;
        self.at += digits;
        if !self.eat("of") || !self.eat("(") {
            bail!("--quorum-policy: `{k} of (` expected at byte {}", self.at);
        }
        let mut members = Vec::new();
        loop {
            self.space();
            let rest = &self.s[self.at..];
            if rest.starts_with(|c: char| c.is_ascii_digit()) && rest.contains(" of") {
                let end = rest.find([',', ')']).unwrap_or(rest.len());
                if rest[..end].contains(" of") {
                    members.push(self.node(depth + 1)?);
                } else {
                    members.push(self.leaf()?);
                }
            } else {
                members.push(self.leaf()?);
            }
            if self.eat(")") {
                break;
            }
            if !self.eat(",") {
                bail!("--quorum-policy: `,` or `)` expected at byte {}", self.at);
            }
        }
        Ok(Policy::Quorum { k, members })
    }
    fn leaf(&mut self) -> Result<Policy> {
        self.space();
        let rest = &self.s[self.at..];
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        let item = rest[..end].trim();
        self.at += end;
        if item.is_empty() {
            bail!("--quorum-policy: a member expected at byte {}", self.at);
        }
        match item.strip_prefix("passphrase:") {
            Some(f) => holder_passphrase(Path::new(f)),
            None => holder_key(Path::new(item)),
        }
    }
}

/// The arguments of `share`.
pub struct ShareArgs {
    /// The archive (not needed with --from-words alone).
    pub archive: Option<Location>,
    /// The identity or passphrase that unwraps the holder's share, or a
    /// share file already unwrapped (`--share`, for a sheet).
    pub keys: KeyOpts,
    /// The share file to write.
    pub output: Option<PathBuf>,
    /// The sheet to write.
    pub sheet: Option<PathBuf>,
    /// The holder's name, printed on the sheet and in the file.
    pub holder: Option<String>,
    /// Words to read back (a file, or `-` for standard input).
    pub from_words: Option<PathBuf>,
    /// Replace existing files.
    pub force: bool,
}

/// A quorum slot of the archive and the node above a holder.
fn node_of<'a>(a: &'a legation_reader::Archive, s: &Share) -> Result<(&'a QuorumSlot, u8, u8)> {
    if s.archive_id != a.manifest().archive_id {
        bail!(
            "the share is of archive {}, not of this one ({})",
            legation_format::hex::encode(&s.archive_id),
            legation_format::hex::encode(&a.manifest().archive_id)
        );
    }
    let q = a
        .manifest()
        .key_slots
        .iter()
        .find_map(|k| match k {
            KeySlot::Quorum(q) if q.id == s.slot_id => Some(&**q),
            _ => None,
        })
        .ok_or_else(|| {
            anyhow!(
                "the archive has no quorum slot {}",
                legation_format::hex::encode(&s.slot_id)
            )
        })?;
    let Some((_, parent)) = s.path.split_last() else {
        bail!("the share names no holder");
    };
    let node = q
        .nodes
        .iter()
        .find(|n| n.path == parent)
        .ok_or_else(|| anyhow!("holder {} is under no node", quorum::path_name(&s.path)))?;
    Ok((q, node.k, node.n))
}

/// `share`.
pub fn share(a: ShareArgs) -> Result<u8> {
    let holder = a.holder.clone().unwrap_or_default();
    let (share, archive) = if let Some(words_file) = &a.from_words {
        let text = if words_file.as_os_str() == "-" {
            let mut s = Zeroizing::new(String::new());
            std::io::Read::read_to_string(
                &mut std::io::Read::take(std::io::stdin(), keyopts::KEY_FILE_MAX),
                &mut s,
            )?;
            s
        } else {
            keyopts::read_key_text(words_file, "share words", true)?
        };
        // A QR scanner's text, or the words typed.
        let share = match text.trim().starts_with(quorum::SHARE_TAG) {
            true => from_qr_text(text.trim())?,
            false => words::decode(&text)?,
        };
        let archive = match &a.archive {
            Some(l) => Some(super::open(l)?),
            None => None,
        };
        (share, archive)
    } else {
        let Some(location) = &a.archive else {
            bail!("share: an ARCHIVE is needed (or --from-words)");
        };
        let archive = super::open(location)?;
        let given = a.keys.keys(false)?;
        let mut found = Vec::new();
        let m = archive.manifest();
        for (i, slot) in m.key_slots.iter().enumerate() {
            if let KeySlot::Quorum(q) = slot {
                q.check(i)?;
            }
        }
        for k in given {
            match k {
                legation_reader::Key::Share(s) => found.push(s),
                // A post-quantum holder (format 2.2, SPEC §7.9.1).
                legation_reader::Key::PqIdentity(i) => {
                    for slot in &m.key_slots {
                        if let KeySlot::Quorum(q) = slot {
                            found.extend(q.unwrap_pq_holders(&m.archive_id, &[&i]));
                        }
                    }
                }
                legation_reader::Key::Identity(i) => {
                    for slot in &m.key_slots {
                        if let KeySlot::Quorum(q) = slot {
                            found.extend(q.unwrap_holders(
                                &m.archive_id,
                                &[i.secret()],
                                &[],
                                &mut |_, p| !p.above_default(),
                            ));
                        }
                    }
                }
                legation_reader::Key::Passphrase(p) => {
                    for slot in &m.key_slots {
                        if let KeySlot::Quorum(q) = slot {
                            found.extend(q.unwrap_holders(
                                &m.archive_id,
                                &[],
                                &[p.as_str()],
                                &mut |_, p| !p.above_default(),
                            ));
                        }
                    }
                }
            }
        }
        let share =
            match found.len() {
                0 => bail!("the key given holds no share of a quorum slot of {location}"),
                1 => found.pop().unwrap(), // one
                n => bail!(
                "the keys given hold {n} shares of {location} (holders {}); give one key at a time",
                found.iter().map(|s| quorum::path_name(&s.path)).collect::<Vec<_>>().join(", ")
            ),
            };
        (share, Some(archive))
    };
    let (k, n, shape) = match &archive {
        Some(a) => {
            let (q, k, n) = node_of(a, &share)?;
            (Some(k), Some(n), Some(q.shape()))
        }
        None => (None, None, None),
    };
    if a.output.is_none() && a.sheet.is_none() {
        bail!("share: nothing to write: give -o FILE.share and/or --sheet SHEET.html");
    }
    if let Some(out) = &a.output {
        let text = share.to_file(&holder, k.unwrap_or(0), n.unwrap_or(0));
        write_new_file(out, text.as_bytes(), true, a.force)?;
        eprintln!(
            "wrote {}: holder {} of archive {} only",
            out.display(),
            quorum::path_name(&share.path),
            legation_format::hex::encode(&share.archive_id)
        );
    }
    if let Some(sheet) = &a.sheet {
        let html = sheet_html(&share, &holder, k, n, shape.as_deref())?;
        write_new_file(sheet, html.as_bytes(), true, a.force)?;
        eprintln!("wrote {}: print it, then delete the file", sheet.display());
    }
    Ok(0)
}

/// What the sheet's QR code holds: the tag, a colon and the share's
/// binary form in upper-case hex (QR's alphanumeric mode).
pub fn qr_text(share: &Share) -> Zeroizing<String> {
    let hex = Zeroizing::new(legation_format::hex::encode(&share.to_bytes()));
    Zeroizing::new(format!(
        "{}:{}",
        quorum::SHARE_TAG,
        hex.to_ascii_uppercase()
    ))
}

/// Reads a QR code's text back into a share.
pub fn from_qr_text(text: &str) -> Result<Share> {
    let hex = text
        .strip_prefix(quorum::SHARE_TAG)
        .and_then(|t| t.strip_prefix(':'))
        .ok_or_else(|| anyhow!("the QR code is not a Legation share"))?;
    let bytes = legation_format::hex::decode(&hex.to_ascii_lowercase())
        .map(Zeroizing::new)
        .ok_or_else(|| anyhow!("the QR code's share is not hex"))?;
    Ok(Share::from_bytes(&bytes, 0)?)
}

/// The QR code as an SVG of one square a dark module, with a quiet zone
/// of four modules.
pub fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| anyhow!("making the QR code: {e}"))?;
    let w = code.width();
    let colors = code.to_colors();
    let size = w + 8;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{}\" height=\"{}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>",
        size * 5,
        size * 5
    );
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\"/>",
                i % w + 4,
                i / w + 4
            ));
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The share sheet: one HTML page, no script, to print and keep in a safe.
fn sheet_html(
    share: &Share,
    holder: &str,
    k: Option<u8>,
    n: Option<u8>,
    shape: Option<&str>,
) -> Result<Zeroizing<String>> {
    let words = Zeroizing::new(words::encode(share));
    let mut lines = String::new();
    for (i, l) in words.chunks(4).enumerate() {
        lines.push_str(&format!("{:2}. {}\n", i + 1, l.join(" ")));
    }
    let lines = Zeroizing::new(lines);
    let qr = Zeroizing::new(qr_svg(&qr_text(share))?);
    let kn = match (k, n) {
        (Some(k), Some(n)) => format!("{k} of {n}"),
        _ => "see the archive (legation info)".into(),
    };
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Legation share sheet</title>\
         <style>body{{font-family:serif;max-width:40em;margin:2em auto}}pre{{font-size:1.3em;line-height:1.6}}\
         td{{padding:0 1em 0 0}}</style></head><body>\n\
         <h1>Legation quorum share</h1>\n<table>\n\
         <tr><td>Archive</td><td><code>{archive}</code></td></tr>\n\
         <tr><td>Quorum slot</td><td><code>{slot}</code></td></tr>\n\
         <tr><td>Holder</td><td>{holder} (holder {path})</td></tr>\n\
         <tr><td>K and N</td><td>{kn} in its node; policy {shape}</td></tr>\n</table>\n\
         <p>This share opens nothing alone and nothing but this archive. Keep it as secret as a key.\n\
         To use it: <code>legation share --from-words WORDS.txt -o MINE.share ARCHIVE</code> (type the words\n\
         into WORDS.txt), or scan the QR code; then give <code>--share MINE.share</code> to any command.\n\
         Each word ends in a check letter: a mistyped word is named.</p>\n\
         <pre>\n{lines}</pre>\n{qr}\n</body></html>\n",
        archive = legation_format::hex::encode(&share.archive_id),
        slot = legation_format::hex::encode(&share.slot_id),
        holder = escape(if holder.is_empty() { "(no name given)" } else { holder }),
        path = quorum::path_name(&share.path),
        shape = escape(shape.unwrap_or("(see the archive)")),
        lines = &*lines,
        qr = &*qr,
    );
    Ok(Zeroizing::new(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> Share {
        Share {
            archive_id: [0x5a; 16],
            slot_id: [0x17; 8],
            path: vec![1, 3],
            value: Zeroizing::new(std::array::from_fn(|i| (i as u8).wrapping_mul(29))),
        }
    }

    /// Reads the dark squares of a sheet's SVG back into a grey image and
    /// decodes it with rqrr, a QR decoder written apart from `qrcode`.
    fn decode_svg(svg: &str) -> String {
        let size: usize = svg
            .split("viewBox=\"0 0 ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let mut dark = vec![false; size * size];
        for rect in svg.split("<rect x=\"").skip(1) {
            let mut it = rect.split('"');
            let x: usize = it.next().unwrap().parse().unwrap();
            let y: usize = it.nth(1).unwrap().parse().unwrap();
            dark[y * size + x] = true;
        }
        let scale = 6;
        let px = size * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| {
            if dark[(y / scale) * size + x / scale] {
                0
            } else {
                255
            }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn sheet_qr_and_words_read_back() {
        let s = share();
        let html = sheet_html(
            &s,
            "Ministry <of> Finance",
            Some(2),
            Some(3),
            Some("2 of (x25519, x25519, x25519)"),
        )
        .unwrap();
        assert!(html.contains("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"));
        assert!(html.contains("Ministry &lt;of&gt; Finance (holder 1.3)"));
        assert!(html.contains("2 of 3 in its node"));
        let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + 6];
        let text = decode_svg(svg);
        let back = from_qr_text(&text).unwrap();
        assert_eq!(
            (*back.value, back.path, back.archive_id),
            (*s.value, s.path.clone(), s.archive_id)
        );
        let pre = &html[html.find("<pre>").unwrap() + 5..html.find("</pre>").unwrap()];
        let back = words::decode(pre).unwrap();
        assert_eq!(*back.value, *s.value);
        // A word mistyped on the way back is named.
        let typo = pre.replacen(&words::encode(&s)[5], "zuzuz", 1);
        assert!(words::decode(&typo)
            .unwrap_err()
            .to_string()
            .contains("word 6 'zuzuz'"));
        assert!(from_qr_text("LEGATION-SHARE-1:00").is_err());
        assert!(from_qr_text("hello").is_err());
    }

    #[test]
    fn policy_expressions_parse_and_bound() {
        let dir = std::env::temp_dir().join(format!("legation-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("a.pub");
        let public = legation_format::keys::Identity::from_bytes([3; 32]).public();
        std::fs::write(
            &key,
            &*keys::format_key_file(keys::RECIPIENT_PUBLIC, &public, "a"),
        )
        .unwrap();
        let k = key.display();
        let args = QuorumArgs {
            policies: vec![format!("2 of ({k}, 1 of ({k}, {k}), {k})")],
            ..Default::default()
        };
        let p = args.policies().unwrap();
        let Policy::Quorum { k: 2, members } = &p[0] else {
            panic!()
        };
        assert_eq!(members.len(), 3);
        assert!(matches!(&members[1], Policy::Quorum { k: 1, members } if members.len() == 2));
        let deep = format!("{}{k}{}", "1 of (".repeat(1000), ")".repeat(1000));
        let e = QuorumArgs {
            policies: vec![deep],
            ..Default::default()
        }
        .policies()
        .unwrap_err();
        assert!(e.to_string().contains("nest more than 4 deep"), "{e}");
        for bad in [
            "2 of",
            "of (a)",
            &format!("2 of ({k}"),
            &format!("2 of ({k}) extra"),
        ] {
            assert!(
                QuorumArgs {
                    policies: vec![bad.to_string()],
                    ..Default::default()
                }
                .policies()
                .is_err(),
                "{bad}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
