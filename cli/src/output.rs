//! Terminal output helpers: sizes, progress bars.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes to standard output. When the reader has closed it (a pipe into
/// `head`), the command has nothing left to say: it exits at once with
/// status 141, that of a process ended by SIGPIPE, as `cat` would. (Rust
/// ignores SIGPIPE so that a closed socket or worker pipe is an error, not
/// a death; the standard `println!` then panics.) Any other write error
/// panics as `println!` does.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = stdout().write_fmt(args) {
        panic!("failed printing to stdout: {e}");
    }
}

/// Standard output (locked) for commands that write a lot of it (`ls`,
/// `cat`): a write or flush whose reader has gone ends the process as
/// [`write_out`] does; other errors are returned.
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

/// Exits with status 141 on a broken pipe; passes anything else on.
fn quiet_when_gone<T>(result: std::io::Result<T>) -> std::io::Result<T> {
    if let Err(e) = &result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
    result
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
