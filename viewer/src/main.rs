//! `legation-viewer [ARCHIVE]`: the desktop viewer.
//!
//! Exit codes: 0 when the window is closed; 2 when no window can be opened
//! or the arguments are wrong.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let path = args.next().map(std::path::PathBuf::from);
    // Started by the viewer itself to run decoders away from its keys.
    if path.as_deref()
        == Some(std::path::Path::new(
            legation_viewer::platform::DECODE_WORKER_ARG,
        ))
    {
        return match legation_reader::isolated::serve_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("legation-viewer decode-worker: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(p) = &path {
        if p == "--help" || p == "-h" {
            println!("usage: legation-viewer [ARCHIVE]\n\nOpens ARCHIVE (or nothing) in the Legation viewer window; a folder opens the newest\ngeneration of the series whose files (*.lgn) it holds.");
            return ExitCode::SUCCESS;
        }
    }
    if args.next().is_some() {
        eprintln!("usage: legation-viewer [ARCHIVE]");
        return ExitCode::from(2);
    }
    match legation_viewer::run_native(path, Vec::new(), None) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("legation-viewer: {e}");
            ExitCode::from(2)
        }
    }
}
