//! Tests on real files and on files made by a small TIFF writer of the
//! tests' own, with its own PackBits and LZW encoders.

use std::collections::HashMap;

use super::*;

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Checks a document as the host would.
fn checked(result: Result<Document, DecodeError>) -> Document {
    let response = legation_decoder_sdk::respond(result);
    legation_decoder_sdk::read_response(&response).unwrap()
}

/// The image of a single-image document.
fn image(document: &Document) -> (u32, u32, PixelFormat, Vec<u8>) {
    let Some(Block::Image {
        width,
        height,
        format,
        pixels,
    }) = document.blocks.last()
    else {
        panic!("{document:?}")
    };
    (*width, *height, *format, pixels.clone())
}

fn error(input: &[u8]) -> String {
    decode(input).unwrap_err().into_message()
}

#[test]
fn corpus_multipage_float_planar_rgb() {
    let input = testdata("multipage_rgb.tif");
    let summary = checked(decode(&input));
    assert_eq!(summary.title, "TIFF, 2 pages");
    let [Block::Fields { items }, Block::Pages { count: 2 }] = &summary.blocks[..] else {
        panic!("{summary:?}")
    };
    assert_eq!(
        items[2],
        (
            "page 1".to_owned(),
            "10 x 10 RGB, 64-bit float, uncompressed".to_owned()
        )
    );
    // From a reading of the file in Python (see the README).
    for (page, hash) in [(0, 0xa620299564bb569fu64), (1, 0x64a764558a284d28)] {
        let document = checked(decode_page(&input, page));
        let (width, height, format, pixels) = image(&document);
        assert_eq!((width, height, format), (10, 10, PixelFormat::Rgb8));
        assert_eq!(fnv1a64(&pixels), hash, "page {page}");
    }
    assert_eq!(
        decode_page(&input, 2).unwrap_err().message(),
        "TIFF: page 3 asked for, the file has 2"
    );
}

/// Files written by another TIFF writer (ImageMagick 6.9.11 with libtiff,
/// from two of the PNGs here; testdata/README.md has the commands), each
/// page's pixels checked against ImageMagick's own reading of the file
/// (`convert FILE[PAGE] -depth 8 gray:-` or `rgb:-`): LZW with and
/// without the horizontal predictor, PackBits, 4- and 8-bit palette
/// colour (the colour map of baseline TIFF), and two LZW pages.
#[test]
fn files_of_another_writer_match_its_own_reading() {
    // File, side, the first page's description, and each page's format
    // and pixel checksum.
    type Case = (
        &'static str,
        u32,
        &'static str,
        &'static [(PixelFormat, u64)],
    );
    let cases: [Case; 6] = [
        (
            "im_lzw_rgb.tif",
            64,
            "64 x 64 RGB, 8-bit, LZW",
            &[(PixelFormat::Rgb8, 0x9c3966681055ea02)],
        ),
        (
            "im_lzw_predictor_gray.tif",
            64,
            "64 x 64 greyscale, 8-bit, LZW",
            &[(PixelFormat::Gray8, 0xe1d82e65da5dbf7f)],
        ),
        (
            "im_packbits_gray.tif",
            64,
            "64 x 64 greyscale, 8-bit, PackBits",
            &[(PixelFormat::Gray8, 0xe1d82e65da5dbf7f)],
        ),
        (
            "im_palette4.tif",
            64,
            "64 x 64 palette colour, 4-bit, uncompressed",
            &[(PixelFormat::Rgb8, 0xe294115ca022b515)],
        ),
        (
            "im_palette8_lzw.tif",
            64,
            "64 x 64 palette colour, 8-bit, LZW",
            &[(PixelFormat::Rgb8, 0x810fac92e17dd9c5)],
        ),
        (
            "im_multipage_lzw.tif",
            48,
            "48 x 48 greyscale, 8-bit, LZW",
            &[
                (PixelFormat::Gray8, 0xe74b23ec04f77cfb),
                (PixelFormat::Rgb8, 0x888302c2b40a809a),
            ],
        ),
    ];
    for (name, side, first, pages) in cases {
        let input = testdata(name);
        let documents: Vec<Document> = if pages.len() == 1 {
            vec![checked(decode(&input))]
        } else {
            let summary = checked(decode(&input));
            assert!(
                summary.blocks.contains(&Block::Pages {
                    count: pages.len() as u32
                }),
                "{name}: {summary:?}"
            );
            (0..pages.len() as u32)
                .map(|p| checked(decode_page(&input, p)))
                .collect()
        };
        let Some(Block::Fields { items }) = documents[0].blocks.first() else {
            panic!("{name}: {:?}", documents[0])
        };
        assert!(
            items.iter().any(|(_, v)| v == first),
            "{name}: {first} not in {items:?}"
        );
        for (page, (document, (format, hash))) in documents.iter().zip(pages).enumerate() {
            let (width, height, f, pixels) = image(document);
            assert_eq!(
                (width, height, f),
                (side, side, *format),
                "{name} page {page}"
            );
            assert_eq!(fnv1a64(&pixels), *hash, "{name} page {page}");
        }
    }
}

/// A palette image whose colour map is not 2^bits entries of each colour,
/// or missing, is refused with the reason.
#[test]
fn palette_colour_maps_are_checked() {
    let input = testdata("im_palette4.tif");
    // The ColorMap tag (320 = 0x0140, little-endian) renamed to an unknown
    // tag: the map is then missing.
    let at = input
        .windows(4)
        .position(|w| w == [0x40, 0x01, 0x03, 0x00])
        .expect("the ColorMap entry");
    let mut missing = input.clone();
    missing[at] = 0x41;
    assert!(error(&missing).contains("ColorMap tag of a palette image is missing"));
    // 47 values instead of 48.
    let mut short = input.clone();
    short[at + 4] = 47;
    assert!(
        error(&short).contains("colour map of 47 values for 4-bit indices (48 expected)"),
        "{}",
        error(&short)
    );
}

#[test]
fn corpus_rgba_with_unassociated_alpha() {
    let input = testdata("python.tiff");
    let document = checked(decode(&input));
    let (width, height, format, pixels) = image(&document);
    assert_eq!((width, height, format), (16, 16, PixelFormat::Rgba8));
    // Unassociated alpha: the pixels are the stored bytes.
    assert_eq!(pixels, input[8..8 + 1024]);
}

/// A page for the test writer.
#[derive(Clone)]
struct Spec {
    width: u32,
    height: u32,
    bits: u16,
    spp: u16,
    photometric: u16,
    compression: u16,
    predictor: u16,
    planar: bool,
    rows_per_strip: u32,
    extra: Option<u16>,
    /// Samples per pixel, row by row; for planar images the writer splits
    /// them into planes.
    samples: Vec<Vec<u16>>,
}

impl Spec {
    fn new(width: u32, height: u32, bits: u16, spp: u16, photometric: u16, seed: u64) -> Spec {
        let mut state = seed;
        let samples = (0..width * height)
            .map(|_| {
                (0..spp)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((state >> 33) % (1u64 << bits)) as u16
                    })
                    .collect()
            })
            .collect();
        Spec {
            width,
            height,
            bits,
            spp,
            photometric,
            compression: 1,
            predictor: 1,
            planar: false,
            rows_per_strip: 3,
            extra: None,
            samples,
        }
    }

    /// The rows of samples of each plane, packed.
    fn planes(&self, big_endian: bool) -> Vec<Vec<Vec<u8>>> {
        let planes: Vec<Vec<usize>> = if self.planar {
            (0..self.spp as usize).map(|c| vec![c]).collect()
        } else {
            vec![(0..self.spp as usize).collect()]
        };
        planes
            .iter()
            .map(|channels| {
                (0..self.height as usize)
                    .map(|y| {
                        let values: Vec<u16> = (0..self.width as usize)
                            .flat_map(|x| {
                                let pixel = &self.samples[y * self.width as usize + x];
                                channels.iter().map(move |&c| pixel[c])
                            })
                            .collect();
                        let mut row = pack(&values, self.bits, big_endian);
                        if self.predictor == 2 {
                            difference(&mut row, channels.len(), self.bits, big_endian);
                        }
                        row
                    })
                    .collect()
            })
            .collect()
    }

    /// What the decoder must output, from the TIFF rules.
    fn expected(&self) -> Vec<u8> {
        let scale = |v: u16| -> u8 {
            match self.bits {
                16 => (v >> 8) as u8,
                bits => (u32::from(v) * 255 / ((1 << bits) - 1)) as u8,
            }
        };
        let colours = if self.photometric == 2 { 3 } else { 1 };
        let mut out = Vec::new();
        for pixel in &self.samples {
            let alpha = (self.spp as usize > colours && self.extra.is_some_and(|e| e > 0))
                .then(|| scale(pixel[colours]));
            for &v in &pixel[..colours] {
                let mut v = scale(v);
                if self.photometric == 0 {
                    v = 255 - v;
                }
                if let (Some(1), Some(a)) = (self.extra, alpha) {
                    v = if a == 0 {
                        0
                    } else {
                        ((u32::from(v) * 255 + u32::from(a) / 2) / u32::from(a)).min(255) as u8
                    };
                }
                out.push(v);
            }
            out.extend(alpha);
        }
        out
    }
}

fn pack(values: &[u16], bits: u16, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut count) = (0u32, 0);
    for &v in values {
        match bits {
            16 if big_endian => out.extend_from_slice(&v.to_be_bytes()),
            16 => out.extend_from_slice(&v.to_le_bytes()),
            _ => {
                acc = acc << bits | u32::from(v);
                count += bits;
                if count == 8 {
                    out.push(acc as u8);
                    (acc, count) = (0, 0);
                }
            }
        }
    }
    if count > 0 {
        out.push((acc << (8 - count)) as u8);
    }
    out
}

/// Horizontal differencing (predictor 2), right to left.
fn difference(row: &mut [u8], distance: usize, bits: u16, big_endian: bool) {
    if bits == 8 {
        for i in (distance..row.len()).rev() {
            row[i] = row[i].wrapping_sub(row[i - distance]);
        }
    } else {
        let get = |row: &[u8], i: usize| {
            let b = [row[2 * i], row[2 * i + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        for i in (distance..row.len() / 2).rev() {
            let v = get(row, i).wrapping_sub(get(row, i - distance));
            let b = if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            row[2 * i..2 * i + 2].copy_from_slice(&b);
        }
    }
}

fn packbits_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let run = data[i..]
            .iter()
            .take(128)
            .take_while(|&&b| b == data[i])
            .count();
        if run >= 3 {
            out.push((1 - run as i16) as i8 as u8);
            out.push(data[i]);
            i += run;
        } else {
            let start = i;
            while i < data.len()
                && i - start < 128
                && !(i + 2 < data.len() && data[i] == data[i + 1] && data[i] == data[i + 2])
            {
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend_from_slice(&data[start..i]);
        }
    }
    out
}

/// LZW as TIFF 6.0 section 13 gives it, writing each code at the width
/// the reader will use (which grows when its next free code reaches 511,
/// 1023 and 2047; the reader's table is one entry behind the writer's).
fn lzw_encode(data: &[u8]) -> Vec<u8> {
    let width_for = |free: u16| match free {
        0..=510 => 9,
        511..=1022 => 10,
        1023..=2046 => 11,
        _ => 12,
    };
    let mut out = Vec::new();
    let (mut acc, mut count) = (0u64, 0);
    let mut write = |code: u16, width: u32, out: &mut Vec<u8>| {
        acc = acc << width | u64::from(code);
        count += width;
        while count >= 8 {
            count -= 8;
            out.push((acc >> count) as u8);
        }
    };
    let mut table: HashMap<(u16, u8), u16> = HashMap::new();
    let mut next = 258u16;
    write(256, 9, &mut out);
    let mut omega: Option<u16> = None;
    for &byte in data {
        let Some(w) = omega else {
            omega = Some(u16::from(byte));
            continue;
        };
        if let Some(&code) = table.get(&(w, byte)) {
            omega = Some(code);
            continue;
        }
        write(w, width_for((next - 1).max(258)), &mut out);
        table.insert((w, byte), next);
        next += 1;
        omega = Some(u16::from(byte));
        if next == 4094 {
            write(256, width_for(next - 1), &mut out);
            table.clear();
            next = 258;
        }
    }
    if let Some(w) = omega {
        write(w, width_for((next - 1).max(258)), &mut out);
    }
    write(257, width_for(next), &mut out);
    write(0, 7, &mut out); // flush
    out
}

/// A directory entry's field type, count and value bytes.
type Field = (u16, u32, Vec<u8>);

/// Writes a TIFF file holding `pages`.
fn write_tiff(big_endian: bool, pages: &[Spec]) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = if big_endian {
        b"MM".to_vec()
    } else {
        b"II".to_vec()
    };
    out.extend_from_slice(&u16b(42));
    let mut link = out.len();
    out.extend_from_slice(&u32b(0));
    for spec in pages {
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for plane in spec.planes(big_endian) {
            for strip in plane.chunks(spec.rows_per_strip as usize) {
                let raw = strip.concat();
                let stored = match spec.compression {
                    1 => raw,
                    5 => lzw_encode(&raw),
                    _ => packbits_encode(&raw),
                };
                offsets.push(out.len() as u32);
                counts.push(stored.len() as u32);
                out.extend_from_slice(&stored);
            }
        }
        let shorts = |values: &[u16]| {
            (
                3u16,
                values.len() as u32,
                values.iter().flat_map(|&v| u16b(v)).collect::<Vec<u8>>(),
            )
        };
        let longs = |values: &[u32]| {
            (
                4u16,
                values.len() as u32,
                values.iter().flat_map(|&v| u32b(v)).collect::<Vec<u8>>(),
            )
        };
        let mut entries: Vec<(u16, Field)> = vec![
            (256, longs(&[spec.width])),
            (257, shorts(&[spec.height as u16])),
            (258, shorts(&vec![spec.bits; spec.spp as usize])),
            (259, shorts(&[spec.compression])),
            (262, shorts(&[spec.photometric])),
            (270, (2, 12, b"hand-made\0\0\0".to_vec())),
            (273, longs(&offsets)),
            (277, shorts(&[spec.spp])),
            (278, longs(&[spec.rows_per_strip])),
            (279, longs(&counts)),
            (284, shorts(&[if spec.planar { 2 } else { 1 }])),
        ];
        if spec.predictor != 1 {
            entries.push((317, shorts(&[spec.predictor])));
        }
        if let Some(extra) = spec.extra {
            entries.push((338, shorts(&[extra])));
        }
        entries.sort_by_key(|e| e.0);
        let mut ifd = u16b(entries.len() as u16).to_vec();
        let mut values = Vec::new();
        let values_at = out.len() as u32;
        let ifd_len = 2 + 12 * entries.len() as u32 + 4;
        for (tag, (kind, count, bytes)) in &entries {
            ifd.extend_from_slice(&u16b(*tag));
            ifd.extend_from_slice(&u16b(*kind));
            ifd.extend_from_slice(&u32b(*count));
            if bytes.len() <= 4 {
                let mut inline = bytes.clone();
                inline.resize(4, 0);
                ifd.extend_from_slice(&inline);
            } else {
                ifd.extend_from_slice(&u32b(values_at + ifd_len + values.len() as u32));
                values.extend_from_slice(bytes);
            }
        }
        let next_at = out.len() + ifd.len();
        ifd.extend_from_slice(&u32b(0));
        let ifd_offset = out.len() as u32;
        out[link..link + 4].copy_from_slice(&u32b(ifd_offset));
        link = next_at;
        out.extend_from_slice(&ifd);
        out.extend_from_slice(&values);
    }
    out
}

fn check(spec: &Spec, big_endian: bool) {
    let file = write_tiff(big_endian, std::slice::from_ref(spec));
    let document = checked(decode(&file));
    let (width, height, _, pixels) = image(&document);
    assert_eq!((width, height), (spec.width, spec.height));
    assert_eq!(
        pixels,
        spec.expected(),
        "bits {} spp {} photometric {} compression {} predictor {} planar {} extra {:?} big-endian {big_endian}",
        spec.bits,
        spec.spp,
        spec.photometric,
        spec.compression,
        spec.predictor,
        spec.planar,
        spec.extra
    );
    assert!(document.blocks[0] != Block::Pages { count: 1 });
}

#[test]
fn every_layout_compression_and_byte_order() {
    let mut seed = 0;
    let mut kinds = Vec::new();
    for (bits, spp, photometric, extra) in [
        (1, 1, 0, None),
        (1, 1, 1, None),
        (2, 1, 1, None),
        (4, 1, 0, None),
        (8, 1, 1, None),
        (16, 1, 1, None),
        (8, 2, 1, Some(2)),
        (8, 3, 2, None),
        (16, 3, 2, None),
        (8, 4, 2, Some(2)),
        (8, 4, 2, Some(1)),
        (8, 4, 2, Some(0)),
        (16, 4, 2, Some(2)),
    ] {
        seed += 1;
        let mut spec = Spec::new(13, 10, bits, spp, photometric, seed);
        spec.extra = extra;
        kinds.push(spec);
    }
    for spec in kinds {
        for compression in [1, 5, 32773] {
            for planar in [false, true] {
                if planar && spec.spp == 1 {
                    continue;
                }
                for predictor in [1, 2] {
                    if predictor == 2 && spec.bits < 8 {
                        continue;
                    }
                    for big_endian in [false, true] {
                        let mut spec = spec.clone();
                        spec.compression = compression;
                        spec.planar = planar;
                        spec.predictor = predictor;
                        check(&spec, big_endian);
                    }
                }
            }
        }
    }
}

#[test]
fn lzw_through_every_code_width_and_a_clear() {
    // Enough varied data to fill the table past 4094 entries.
    let mut spec = Spec::new(200, 120, 8, 1, 1, 99);
    spec.compression = 5;
    spec.rows_per_strip = 120;
    check(&spec, false);
    // Long runs: codes for long strings, and the code being defined.
    let mut spec = Spec::new(300, 20, 8, 1, 1, 1);
    for (i, pixel) in spec.samples.iter_mut().enumerate() {
        pixel[0] = (i / 700) as u16;
    }
    spec.compression = 5;
    spec.rows_per_strip = 20;
    check(&spec, true);
}

#[test]
fn several_pages_become_a_summary_and_pages() {
    let first = Spec::new(4, 3, 8, 3, 2, 1);
    let mut second = Spec::new(5, 2, 1, 1, 0, 2);
    second.compression = 32773;
    let mut third = Spec::new(2, 2, 16, 1, 1, 3);
    third.compression = 5;
    let pages = [first, second, third];
    let file = write_tiff(true, &pages);
    let summary = checked(decode(&file));
    assert_eq!(
        summary.blocks,
        vec![
            Block::Fields {
                items: vec![
                    ("pages".into(), "3".into()),
                    ("byte order".into(), "big-endian (MM)".into()),
                    ("page 1".into(), "4 x 3 RGB, 8-bit, uncompressed".into()),
                    ("page 2".into(), "5 x 2 bilevel, 1-bit, PackBits".into()),
                    ("page 3".into(), "2 x 2 greyscale, 16-bit, LZW".into()),
                ]
            },
            Block::Pages { count: 3 }
        ]
    );
    for (index, spec) in pages.iter().enumerate() {
        let document = checked(decode_page(&file, index as u32));
        assert_eq!(image(&document).3, spec.expected());
        let Block::Fields { items } = &document.blocks[0] else {
            panic!()
        };
        assert_eq!(items[0], ("page".into(), format!("{} of 3", index + 1)));
        assert!(items.contains(&("description".into(), "hand-made".into())));
    }
}

fn small() -> Vec<u8> {
    write_tiff(false, &[Spec::new(4, 4, 8, 1, 1, 5)])
}

#[test]
fn directory_loops_are_refused() {
    let pages = [Spec::new(2, 2, 8, 1, 1, 1), Spec::new(2, 2, 8, 1, 1, 2)];
    let mut file = write_tiff(false, &pages);
    let first = u32::from_le_bytes(file[4..8].try_into().unwrap());
    // The second directory's next pointer: find the second directory from
    // the first one's.
    let next_of = |file: &[u8], ifd: u32| {
        let count = u16::from_le_bytes(file[ifd as usize..ifd as usize + 2].try_into().unwrap());
        ifd as usize + 2 + 12 * count as usize
    };
    let second = u32::from_le_bytes(
        file[next_of(&file, first)..next_of(&file, first) + 4]
            .try_into()
            .unwrap(),
    );
    let at = next_of(&file, second);
    file[at..at + 4].copy_from_slice(&first.to_le_bytes());
    assert_eq!(
        error(&file),
        format!("TIFF: the directory chain loops back to offset {first}")
    );
    // A directory pointing at itself.
    let mut file = small();
    let first = u32::from_le_bytes(file[4..8].try_into().unwrap());
    let at = next_of(&file, first);
    file[at..at + 4].copy_from_slice(&first.to_le_bytes());
    assert!(error(&file).contains("loops back"));
}

#[test]
fn offsets_past_the_end_are_refused() {
    let mut file = small();
    let len = file.len();
    file[4..8].copy_from_slice(&(len as u32 + 100).to_le_bytes());
    assert_eq!(
        error(&file),
        format!(
            "TIFF: the directory at offset {} runs past the end of the file ({len} bytes)",
            len + 100
        )
    );
    file[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(error(&file).contains("runs past the end"));
    // A strip whose offset is near the top of the 32-bit range.
    let mut spec = Spec::new(4, 4, 8, 1, 1, 5);
    spec.rows_per_strip = 4;
    let mut file = write_tiff(false, &[spec]);
    let strip_at = file
        .windows(4)
        .position(|w| w == [0x11, 0x01, 4, 0])
        .unwrap(); // tag 273, LONG
    file[strip_at + 8..strip_at + 12].copy_from_slice(&(u32::MAX - 2).to_le_bytes());
    assert!(error(&file).contains("strip 0 at offset 4294967293 of 16 bytes runs past the end"));
}

#[test]
fn every_truncation_is_refused_without_panic() {
    for file in [
        small(),
        write_tiff(
            true,
            &[{
                let mut s = Spec::new(9, 7, 8, 3, 2, 4);
                s.compression = 5;
                s
            }],
        ),
    ] {
        for len in 0..file.len() {
            assert!(decode(&file[..len]).is_err(), "{len}");
        }
    }
}

#[test]
fn corrupt_strips_never_panic() {
    let mut state = 7u64;
    for compression in [5, 32773] {
        let mut spec = Spec::new(16, 16, 8, 3, 2, 9);
        spec.compression = compression;
        spec.rows_per_strip = 16;
        let good = write_tiff(false, &[spec]);
        let strip_end = good.len() / 2;
        for _ in 0..300 {
            let mut bad = good.clone();
            for _ in 0..4 {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                let at = 8 + (state >> 33) as usize % (strip_end - 8);
                bad[at] = (state >> 13) as u8;
            }
            let _ = decode(&bad);
        }
    }
}

#[test]
fn short_strips_are_refused() {
    let mut spec = Spec::new(4, 4, 8, 1, 1, 5);
    spec.rows_per_strip = 4;
    let mut file = write_tiff(false, &[spec]);
    let at = file
        .windows(4)
        .position(|w| w == [0x17, 0x01, 4, 0])
        .unwrap(); // tag 279
    file[at + 8..at + 12].copy_from_slice(&10u32.to_le_bytes());
    assert_eq!(
        error(&file),
        "TIFF: strip 0 holds 10 bytes of samples, 16 expected"
    );
}

#[test]
fn unsupported_and_hostile_headers_are_refused() {
    let set_short = |file: &mut Vec<u8>, tag: u16, value: u16| {
        let mut pattern = tag.to_le_bytes().to_vec();
        pattern.extend_from_slice(&[3, 0, 1, 0, 0, 0]);
        let at = file.windows(8).position(|w| w == &pattern[..]).unwrap();
        file[at + 8..at + 10].copy_from_slice(&value.to_le_bytes());
    };
    let mut file = small();
    set_short(&mut file, 259, 7);
    assert_eq!(
        error(&file),
        "TIFF: compression 7 is not supported (only none, LZW and PackBits)"
    );
    let mut file = small();
    set_short(&mut file, 262, 5);
    assert_eq!(
        error(&file),
        "TIFF: photometric interpretation 5 is not supported"
    );
    let mut file = small();
    set_short(&mut file, 257, 0);
    assert_eq!(error(&file), "TIFF: size 4 x 0");
    // Huge sizes are refused before anything is allocated.
    let mut file = small();
    let at = file
        .windows(4)
        .position(|w| w == [0x00, 0x01, 4, 0])
        .unwrap(); // tag 256
    file[at + 8..at + 12].copy_from_slice(&4_000_000_000u32.to_le_bytes());
    set_short(&mut file, 257, 60000);
    assert_eq!(
        error(&file),
        "TIFF: 4000000000 x 60000 pixels is more than a view document may hold"
    );
    assert_eq!(
        error(b"II\x2b\x00\x08\x00\x00\x00"),
        "TIFF: BigTIFF is not supported"
    );
    assert_eq!(error(b"GIF89a"), "TIFF: no TIFF byte order mark (II or MM)");
    assert_eq!(
        error(b"II*\x00\x00\x00\x00\x00"),
        "TIFF: no image file directory"
    );
}

#[test]
fn packbits_and_lzw_round_trip_through_the_test_encoders() {
    let data: Vec<u8> = (0..5000u32)
        .map(|i| ((i / 7) % 251) as u8 ^ (i % 3) as u8)
        .collect();
    let mut out = Vec::new();
    compression::packbits(&packbits_encode(&data), data.len(), &mut out);
    assert_eq!(out, data);
    // One table for several strips, as a page's strips share it, each
    // appended after what the strips before it gave.
    let mut table = compression::Lzw::new();
    let mut out = Vec::new();
    for strip in data.chunks(1700) {
        let before = out.len();
        table
            .decode(&lzw_encode(strip), strip.len(), &mut out)
            .unwrap();
        assert_eq!(out[before..], *strip);
    }
    assert_eq!(out, data);
    // Known PackBits example from the TIFF 6.0 specification.
    let packed = [
        0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa,
    ];
    let mut out = Vec::new();
    compression::packbits(&packed, 24, &mut out);
    assert_eq!(
        out,
        [
            0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22,
            0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa
        ]
    );
}

#[test]
fn float_conversion_rounds_and_clamps() {
    assert_eq!(unit_to_u8(0.0), 0);
    assert_eq!(unit_to_u8(1.0), 255);
    assert_eq!(unit_to_u8(0.5), 128);
    assert_eq!(unit_to_u8(-3.0), 0);
    assert_eq!(unit_to_u8(7.0), 255);
    assert_eq!(unit_to_u8(f64::NAN), 0);
    assert_eq!(unpremultiply(64, 128), 128);
    assert_eq!(unpremultiply(9, 0), 0);
}
