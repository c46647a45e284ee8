//! Text from an archive or a decoder, made safe to show: the cleaner of
//! control and bidirectional characters, and a hex dump of raw bytes.

/// Whether `c` must not be shown as it is, on a terminal or in HTML: a
/// control character (C0 but newline and tab, DEL, C1: escape sequences,
/// bells, carriage returns) or a bidirectional override, embedding,
/// isolate or mark (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
/// U+061C), which would reorder what is shown so that a name reads as
/// another (`txt.exe` shown as `exe.txt`).
pub fn unsafe_to_show(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every character [`unsafe_to_show`] replaced by U+FFFD, which
/// shows that something was there: text from an archive or a decoder
/// (paths, titles, refusal messages) is shown, never obeyed. The one
/// cleaner of the terminal's output (`legation`) and of HTML (the
/// writer's escaping does the same).
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if unsafe_to_show(c) { '\u{fffd}' } else { c })
        .collect()
}

/// Offset, sixteen bytes in hex, and their printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 + bytes.len() / 16 * 12);
    for (i, line) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("{:08x}  ", i * 16));
        for j in 0..16 {
            match line.get(j) {
                Some(b) => out.push_str(&format!("{b:02x} ")),
                None => out.push_str("   "),
            }
            if j == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(line.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_shows_offsets_bytes_and_text() {
        let d = hex_dump(b"Legation\x00\x01 embassy!");
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00000000  4c 65 67 61 74 69 6f 6e  00 01 20 65"));
        assert!(lines[0].ends_with("Legation.. embas"));
        assert!(lines[1].starts_with("00000010  73 79 21"));
    }
}
