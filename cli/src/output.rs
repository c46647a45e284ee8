//! Terminal output helpers: sizes, progress bars.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes to standard output, cleaned ([`crate::view::sanitize`]: no
/// escape sequence or bidirectional override from an archive reaches the
/// terminal). When the reader has closed it (a pipe into `head`), the
/// command has nothing left to say: it exits at once with status 141,
/// that of a process ended by SIGPIPE, as `cat` would. (Rust ignores
/// SIGPIPE so that a closed socket or worker pipe is an error, not a
/// death; the standard `println!` then panics.) Any other write error (a
/// full disk, a closed descriptor) ends the command with exit code 2, an
/// I/O error, said on standard error.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    let text = crate::view::sanitize(&args.to_string());
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        output_lost(&e);
    }
}

/// Writes to standard error, cleaned as [`write_out`]. Standard error
/// only reports: if it cannot be written (closed, a logger that died, a
/// full disk), the command goes on and ends with the exit code it would
/// have had, rather than panicking as the standard `eprintln!` does.
pub fn write_err(args: std::fmt::Arguments<'_>) {
    let text = crate::view::sanitize(&args.to_string());
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Ends the command on a write to standard output that failed: 141 if
/// its reader has gone, else 2 (said on standard error, if it can be).
fn output_lost(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    write_err(format_args!(
        "legation: error: writing standard output: {e}\n"
    ));
    std::process::exit(2);
}

/// A JSON value as text for the terminal: exact (every string as it is),
/// but with the characters [`crate::view::sanitize`] would replace
/// written as `\uXXXX` escapes, which a terminal shows and a JSON reader
/// decodes. (`serde_json` escapes C0 controls itself, not C1 controls or
/// bidirectional overrides; outside strings JSON has none.)
pub fn json(v: &serde_json::Value, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
    .unwrap_or_default(); // a Value always serializes
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if legation_html::unsafe_to_show(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Standard output (locked) for commands that write a lot of it (`ls`,
/// `cat`): a write or flush whose reader has gone ends the process with
/// status 141, as [`write_out`] does; other errors are returned, saying
/// that standard output could not be written. Nothing is cleaned here:
/// `cat` writes a record's bytes; text goes through
/// [`crate::view::sanitize`] first.
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

/// See [`stdout`].
pub struct Stdout(std::io::StdoutLock<'static>);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        quiet_when_gone(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        quiet_when_gone(self.0.flush())
    }
}

/// Exits with status 141 on a broken pipe; names standard output in any
/// other error.
fn quiet_when_gone<T>(result: std::io::Result<T>) -> std::io::Result<T> {
    result.map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        std::io::Error::new(e.kind(), format!("writing standard output: {e}"))
    })
}

/// A byte count for people: `1.5 MiB`.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A progress bar over `total` bytes, drawn only when stderr is a terminal.
pub fn bar(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:12} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap() // fixed, valid template
        .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}
