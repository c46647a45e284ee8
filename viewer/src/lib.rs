//! The Legation viewer: one egui application that opens an archive, shows
//! what anyone may see and a keyless fixity check, unlocks it with a
//! passphrase or identity file, lists, searches and shows records through
//! their decoders, verifies the whole archive and exports records.
//!
//! The UI is [`App`], drawn into any [`egui::Ui`], so tests drive it
//! headless and the desktop (and later the browser) shells stay thin. What
//! differs between hosts sits behind [`platform::Platform`] and
//! [`jobs::Spawner`].

mod app;
mod generations;
// Public for `viewer-bench` and the UI tests, which time and draw the
// record list and a document view on their own.
pub mod catalog;
pub mod document;
// Public for the browser's reader worker, which makes exports' bytes.
pub mod export;
pub mod jobs;
pub mod platform;
mod reading;
mod shares;
mod succession;

pub use app::{set_fonts, set_look, App};
pub use reading::unlock_error;

/// The window title.
pub const TITLE: &str = "Legation viewer";

/// Opens the desktop window, with `path` opened at once when given (and
/// `keys` tried on it), and returns when the window is closed; `remote`
/// opens archives given as `s3://` URLs.
#[cfg(feature = "native")]
pub fn run_native(
    path: Option<std::path::PathBuf>,
    keys: Vec<legation_reader::Key>,
    remote: Option<platform::RemoteOpener>,
) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 400.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        TITLE,
        options,
        Box::new(move |_cc| {
            Ok(Box::new(Shell(
                App::new(Box::new(platform::Native::with_remote(remote)), path).with_keys(keys),
            )))
        }),
    )
    .map_err(|e| format!("cannot open a window: {e}"))
}

/// The eframe shell around [`App`].
#[cfg(feature = "native")]
struct Shell(App);

#[cfg(feature = "native")]
impl eframe::App for Shell {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }
}
