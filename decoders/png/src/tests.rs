//! Tests on the corpus and on images made here by a small encoder written
//! apart from the decoder (its own Adam7 table, packing and filters).

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

/// Decodes through the host's checks; returns the fields and the image.
fn image(input: &[u8]) -> (Vec<(String, String)>, u32, u32, PixelFormat, Vec<u8>) {
    let response = legation_decoder_sdk::respond(decode(input));
    let document = legation_decoder_sdk::read_response(&response).unwrap();
    let [Block::Fields { items }, Block::Image {
        width,
        height,
        format,
        pixels,
    }] = &document.blocks[..]
    else {
        panic!("{document:?}")
    };
    (items.clone(), *width, *height, *format, pixels.clone())
}

fn error(input: &[u8]) -> String {
    decode(input).unwrap_err().into_message()
}

#[test]
fn corpus_images_match_the_reference_reader() {
    // From testdata/png_reference.py.
    let expected = [
        (
            "camera.png",
            512,
            512,
            PixelFormat::Gray8,
            0x15fd86556e657c04u64,
        ),
        (
            "astronaut.png",
            512,
            512,
            PixelFormat::Rgb8,
            0xfa4e6bff08e5e8fb,
        ),
        ("logo.png", 500, 500, PixelFormat::Rgba8, 0x2ace53d2c520a96a),
        (
            "chessboard_GRAY.png",
            200,
            200,
            PixelFormat::Gray8,
            0x934947a65038fcad,
        ),
        (
            "chessboard_RGB.png",
            200,
            200,
            PixelFormat::Rgb8,
            0xe20d4996b6f5b4dd,
        ),
        (
            "microaneurysms.png",
            102,
            102,
            PixelFormat::Gray8,
            0x0f7e6aff253a7a0d,
        ),
    ];
    for (name, width, height, format, hash) in expected {
        let (items, w, h, f, pixels) = image(&testdata(name));
        assert_eq!((w, h, f), (width, height, format), "{name}");
        assert_eq!(fnv1a64(&pixels), hash, "{name}");
        assert_eq!(items[0], ("width".into(), width.to_string()));
    }
    let (items, ..) = image(&testdata("chessboard_RGB.png"));
    assert!(items.contains(&("bit depth".into(), "16".into())));
    // astronaut.png has tEXt chunks.
    let (items, ..) = image(&testdata("astronaut.png"));
    assert!(items.len() > 5, "{items:?}");
}

/// Which Adam7 pass (1 to 7) each pixel of an 8 x 8 block belongs to.
const ADAM7: [[u8; 8]; 8] = [
    [1, 6, 4, 6, 2, 6, 4, 6],
    [7, 7, 7, 7, 7, 7, 7, 7],
    [5, 6, 5, 6, 5, 6, 5, 6],
    [7, 7, 7, 7, 7, 7, 7, 7],
    [3, 6, 4, 6, 3, 6, 4, 6],
    [7, 7, 7, 7, 7, 7, 7, 7],
    [5, 6, 5, 6, 5, 6, 5, 6],
    [7, 7, 7, 7, 7, 7, 7, 7],
];

/// An image to encode: raw samples per pixel, row by row.
struct Picture {
    width: u32,
    height: u32,
    colour: u8,
    depth: u8,
    interlaced: bool,
    palette: Vec<[u8; 3]>,
    trns: Option<Vec<u8>>,
    samples: Vec<Vec<u16>>,
}

fn channels(colour: u8) -> usize {
    [1, 0, 3, 1, 2, 0, 4][colour as usize]
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc::crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Packs pixels' samples at `depth` bits, most significant first.
fn pack(pixels: &[&Vec<u16>], depth: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for sample in pixels.iter().flat_map(|p| p.iter()) {
        if depth == 16 {
            out.extend_from_slice(&sample.to_be_bytes());
            continue;
        }
        acc = acc << depth | u32::from(*sample);
        bits += depth;
        if bits == 8 {
            out.push(acc as u8);
            acc = 0;
            bits = 0;
        }
    }
    if bits > 0 {
        out.push((acc << (8 - bits)) as u8);
    }
    out
}

/// Applies filter `kind` to `line` given the line above.
fn filter(kind: u8, line: &[u8], above: &[u8], distance: usize) -> Vec<u8> {
    let at = |row: &[u8], i: usize| if i >= distance { row[i - distance] } else { 0 };
    (0..line.len())
        .map(|i| {
            let (a, b, c) = (at(line, i), above[i], at(above, i));
            let predictor = match kind {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) >> 1) as u8,
                _ => {
                    let p = i32::from(a) + i32::from(b) - i32::from(c);
                    let (pa, pb, pc) = (
                        (p - i32::from(a)).abs(),
                        (p - i32::from(b)).abs(),
                        (p - i32::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
            };
            line[i].wrapping_sub(predictor)
        })
        .collect()
}

fn encode(picture: &Picture) -> Vec<u8> {
    let distance = (channels(picture.colour) * usize::from(picture.depth) / 8).max(1);
    let mut raw = Vec::new();
    let passes: Vec<u8> = if picture.interlaced {
        (1..=7).collect()
    } else {
        vec![0]
    };
    let mut row_number = 0u8;
    for pass in passes {
        let mut above: Option<Vec<u8>> = None;
        for y in 0..picture.height as usize {
            let pixels: Vec<&Vec<u16>> = (0..picture.width as usize)
                .filter(|&x| pass == 0 || ADAM7[y % 8][x % 8] == pass)
                .map(|x| &picture.samples[y * picture.width as usize + x])
                .collect();
            if pixels.is_empty() {
                continue;
            }
            let line = pack(&pixels, picture.depth);
            let zero = vec![0; line.len()];
            let kind = row_number % 5;
            row_number = row_number.wrapping_add(1);
            raw.push(kind);
            raw.extend(filter(
                kind,
                &line,
                above.as_deref().unwrap_or(&zero),
                distance,
            ));
            above = Some(line);
        }
    }
    let mut out = SIGNATURE.to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&picture.width.to_be_bytes());
    ihdr.extend_from_slice(&picture.height.to_be_bytes());
    ihdr.extend_from_slice(&[
        picture.depth,
        picture.colour,
        0,
        0,
        picture.interlaced as u8,
    ]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"gAMA", &100_000u32.to_be_bytes());
    if !picture.palette.is_empty() {
        chunk(&mut out, b"PLTE", &picture.palette.concat());
    }
    if let Some(trns) = &picture.trns {
        chunk(&mut out, b"tRNS", trns);
    }
    let data = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    // Two IDAT chunks, to check they are joined.
    let (first, second) = data.split_at(data.len() / 2);
    chunk(&mut out, b"IDAT", first);
    chunk(&mut out, b"IDAT", second);
    chunk(&mut out, b"tEXt", b"Title\0Test");
    chunk(&mut out, b"IEND", b"");
    out
}

/// Deterministic pseudo-random numbers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u32) -> u16 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % u64::from(below)) as u16
    }
}

fn picture(colour: u8, depth: u8, width: u32, height: u32, seed: u64) -> Picture {
    let mut rng = Lcg(seed);
    let max = if colour == 3 { 7 } else { 1u32 << depth };
    let palette: Vec<[u8; 3]> = if colour == 3 {
        (0..7u8).map(|i| [i * 30, 255 - i * 20, i * i]).collect()
    } else {
        Vec::new()
    };
    let samples = (0..width * height)
        .map(|_| {
            (0..channels(colour))
                .map(|_| rng.next(max.min(1 << depth)))
                .collect()
        })
        .collect();
    Picture {
        width,
        height,
        colour,
        depth,
        interlaced: false,
        palette,
        trns: None,
        samples,
    }
}

/// What the decoder must make of a picture, computed straight from the
/// PNG rules.
fn expected(picture: &Picture) -> Vec<u8> {
    let scale = |v: u16| -> u8 {
        if picture.depth == 16 {
            (v >> 8) as u8
        } else {
            (u32::from(v) * 255 / ((1u32 << picture.depth) - 1)) as u8
        }
    };
    let mut out = Vec::new();
    for pixel in &picture.samples {
        match (picture.colour, &picture.trns) {
            (3, trns) => {
                out.extend_from_slice(&picture.palette[pixel[0] as usize]);
                if let Some(alpha) = trns {
                    out.push(*alpha.get(pixel[0] as usize).unwrap_or(&255));
                }
            }
            (_, trns) => {
                out.extend(pixel.iter().map(|&v| scale(v)));
                if let Some(key) = trns {
                    let key: Vec<u16> = key
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    out.push(if *pixel == key { 0 } else { 255 });
                }
            }
        }
    }
    out
}

#[test]
fn every_colour_type_and_depth_plain_and_interlaced() {
    let combinations: [(u8, &[u8]); 5] = [
        (0, &[1, 2, 4, 8, 16]),
        (2, &[8, 16]),
        (3, &[1, 2, 4, 8]),
        (4, &[8, 16]),
        (6, &[8, 16]),
    ];
    let mut seed = 1;
    for (colour, depths) in combinations {
        for &depth in depths {
            for (width, height) in [(1, 1), (5, 3), (17, 9), (3, 20)] {
                for interlaced in [false, true] {
                    seed += 1;
                    let mut picture = picture(colour, depth, width, height, seed);
                    picture.interlaced = interlaced;
                    let (items, w, h, _, pixels) = image(&encode(&picture));
                    assert_eq!((w, h), (width, height));
                    assert_eq!(
                        pixels,
                        expected(&picture),
                        "colour {colour} depth {depth} {width}x{height} interlaced {interlaced}"
                    );
                    assert!(items.contains(&("Title".into(), "Test".into())));
                }
            }
        }
    }
}

#[test]
fn transparency() {
    // Palette alpha, shorter than the palette.
    let mut p = picture(3, 4, 9, 9, 7);
    p.trns = Some(vec![0, 128, 255, 10]);
    let (_, _, _, format, pixels) = image(&encode(&p));
    assert_eq!(format, PixelFormat::Rgba8);
    assert_eq!(pixels, expected(&p));
    // Grey colour key at depth 2.
    let mut p = picture(0, 2, 9, 9, 8);
    p.trns = Some(vec![0, 2]);
    let (_, _, _, format, pixels) = image(&encode(&p));
    assert_eq!(format, PixelFormat::GrayAlpha8);
    assert_eq!(pixels, expected(&p));
    assert!(pixels.chunks(2).any(|px| px == [170, 0]));
    // RGB colour key at depth 16, interlaced; make sure one pixel matches.
    let mut p = picture(2, 16, 9, 9, 9);
    p.samples[4] = vec![1000, 2000, 3000];
    p.trns = Some(
        [1000u16, 2000, 3000]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect(),
    );
    p.interlaced = true;
    let (_, _, _, format, pixels) = image(&encode(&p));
    assert_eq!(format, PixelFormat::Rgba8);
    assert_eq!(pixels, expected(&p));
    assert_eq!(pixels[4 * 4 + 3], 0);
}

fn small() -> Vec<u8> {
    encode(&picture(2, 8, 4, 4, 3))
}

/// Rewrites the chunk CRCs after a test changed chunk bodies.
fn fix_crcs(png: &mut [u8]) {
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let end = pos + 8 + len;
        let crc = crc::crc32(&png[pos + 4..end]);
        png[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        pos = end + 4;
    }
}

#[test]
fn bad_crcs_are_refused() {
    let good = small();
    // Flip a bit in every byte after the signature in turn.
    for at in 8..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        assert!(decode(&bad).is_err(), "flip at {at}");
    }
    let mut bad = good.clone();
    bad[8 + 8 + 2] ^= 1; // inside IHDR's width
    assert_eq!(error(&bad), "PNG: chunk IHDR at byte 8 has a bad CRC");
}

#[test]
fn every_truncation_is_refused() {
    let good = small();
    for len in 0..good.len() {
        assert!(decode(&good[..len]).is_err(), "{len}");
    }
    assert_eq!(error(b"GIF89a"), "PNG: no PNG signature");
    assert!(error(&good[..good.len() - 12]).contains("before the IEND chunk"));
}

/// The size check counts the bytes a pixel of the image's own format
/// takes: 8192 x 8192 RGB (192 MiB as rgb8) fits a view document, and is
/// refused only with a tRNS chunk, which makes it rgba8 (256 MiB).
#[test]
fn the_size_check_counts_the_pixel_format() {
    let mut png = small();
    png[16..20].copy_from_slice(&u32::to_be_bytes(8192));
    png[20..24].copy_from_slice(&u32::to_be_bytes(8192));
    fix_crcs(&mut png);
    let too_big = "PNG: 8192 x 8192 pixels is more than a view document may hold";
    // Its data is that of a 4 x 4 image: refused, but not for its size.
    assert_ne!(error(&png), too_big);
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let mut trns = Vec::new();
    chunk(&mut trns, b"tRNS", &[0, 0, 0, 0, 0, 0]);
    png.splice(idat..idat, trns);
    assert_eq!(error(&png), too_big);
}

#[test]
fn huge_sizes_are_refused_before_allocating() {
    for (width, height) in [
        (0x7fff_ffff, 0x7fff_ffff),
        (100_000, 100_000),
        (1, 2_000_000_000),
    ] {
        let mut png = small();
        png[16..20].copy_from_slice(&u32::to_be_bytes(width));
        png[20..24].copy_from_slice(&u32::to_be_bytes(height));
        fix_crcs(&mut png);
        assert_eq!(
            error(&png),
            format!("PNG: {width} x {height} pixels is more than a view document may hold")
        );
    }
    for (width, height) in [(0, 1), (1, 0), (0x8000_0000, 1)] {
        let mut png = small();
        png[16..20].copy_from_slice(&u32::to_be_bytes(width));
        png[20..24].copy_from_slice(&u32::to_be_bytes(height));
        fix_crcs(&mut png);
        assert_eq!(error(&png), format!("PNG: size {width} x {height}"));
    }
}

#[test]
fn data_of_the_wrong_length_is_refused() {
    // The header says 4 x 4, the data holds 4 x 5: the inflater stops at
    // the size the header implies.
    let mut longer = picture(2, 8, 4, 5, 3);
    longer.height = 5;
    let mut png = encode(&longer);
    png[20..24].copy_from_slice(&4u32.to_be_bytes());
    fix_crcs(&mut png);
    assert_eq!(error(&png), "PNG: the image data is longer than the image");
    let mut png = encode(&picture(2, 8, 4, 3, 3));
    png[20..24].copy_from_slice(&4u32.to_be_bytes());
    fix_crcs(&mut png);
    assert_eq!(
        error(&png),
        "PNG: the image data holds 39 bytes, 52 expected"
    );
}

#[test]
fn structural_errors_are_refused() {
    let good = small();
    let ihdr_end = 8 + 25;
    // A critical chunk nobody knows.
    let mut png = good[..ihdr_end].to_vec();
    chunk(&mut png, b"XXXX", b"");
    png.extend_from_slice(&good[ihdr_end..]);
    assert_eq!(error(&png), "PNG: unknown critical chunk XXXX");
    // An unknown ancillary chunk is fine.
    let mut png = good[..ihdr_end].to_vec();
    chunk(&mut png, b"xxXx", b"123");
    png.extend_from_slice(&good[ihdr_end..]);
    assert!(decode(&png).is_ok());
    // IHDR not first.
    let mut png = SIGNATURE.to_vec();
    chunk(&mut png, b"gAMA", &[0; 4]);
    png.extend_from_slice(&good[8..]);
    assert_eq!(error(&png), "PNG: the first chunk is gAMA, not IHDR");
    // No IDAT.
    let mut png = good[..ihdr_end].to_vec();
    chunk(&mut png, b"IEND", b"");
    assert_eq!(error(&png), "PNG: no IDAT chunk");
    // Indexed colour without a palette.
    let mut p = picture(3, 8, 2, 2, 1);
    p.palette.clear();
    assert_eq!(error(&encode(&p)), "PNG: indexed-colour image without PLTE");
    // An index past the palette.
    let mut p = picture(3, 8, 2, 2, 1);
    p.samples[3] = vec![9];
    assert_eq!(
        error(&encode(&p)),
        "PNG: palette index 9 past the 7 entries of PLTE"
    );
    // tRNS that does not fit.
    let mut p = picture(6, 8, 2, 2, 1);
    p.trns = Some(vec![0, 0]);
    assert_eq!(
        error(&encode(&p)),
        "PNG: tRNS of 2 bytes does not fit colour type 6"
    );
    // Bad depth for the colour type.
    let mut png = good.clone();
    png[24] = 4;
    fix_crcs(&mut png);
    assert_eq!(error(&png), "PNG: bit depth 4 with colour type 2");
    // IDAT chunks with another chunk between them.
    let mut png = good.clone();
    let tail = png.split_off(png.len() - 12 - 22); // tEXt and IEND
    let second_idat_len = {
        // Find the second IDAT: walk the chunks.
        let mut pos = 8;
        let mut starts = Vec::new();
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            if &png[pos + 4..pos + 8] == b"IDAT" {
                starts.push(pos);
            }
            pos += 12 + len;
        }
        starts[1]
    };
    let second = png.split_off(second_idat_len);
    chunk(&mut png, b"tIME", &[0; 7]);
    png.extend_from_slice(&second);
    png.extend_from_slice(&tail);
    assert_eq!(error(&png), "PNG: IDAT chunks are not consecutive");
}

#[test]
fn unknown_filter_types_are_refused() {
    // One row, filter type 5.
    let raw = [5u8, 1, 2, 3];
    let mut png = SIGNATURE.to_vec();
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    chunk(
        &mut png,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    chunk(&mut png, b"IEND", b"");
    assert_eq!(error(&png), "PNG: unknown filter type 5");
}
