//! The public facts of an archive, as anyone holding the file sees them
//! before unlocking it.

use egui::{RichText, Ui};

use crate::catalog::human_size;
use crate::reading::Facts;

/// A grid of facts, a name and a value a row, filled by `rows` through
/// the row function it is given.
pub(super) fn grid(ui: &mut Ui, id: &str, rows: impl FnOnce(&mut dyn FnMut(&str, String))) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([16.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            rows(&mut |k: &str, v: String| {
                ui.label(RichText::new(k).strong());
                ui.label(v);
                ui.end_row();
            })
        });
}

impl Facts {
    /// Draws the facts as a grid.
    pub(crate) fn ui(&self, ui: &mut Ui) {
        grid(ui, "public facts", |row| {
            match &self.issuer {
                Ok(Some(fp)) => row("Issuer", format!("{fp} (signature valid, not pinned)")),
                Ok(None) => row("Issuer", "none: the archive is not signed".into()),
                Err(e) => row("Issuer", format!("SIGNATURE FAILS: {e}")),
            }
            row("Created", self.created.clone());
            row("Format", format!("Legation {}", self.version));
            row("Archive id", self.archive_id.clone());
            row(
                "Size",
                format!("{} ({} bytes)", human_size(self.size), self.size),
            );
            let what = records_noun(self.bundled, self.record_entries);
            row(
                "Records",
                format!(
                    "{} {what}, {}",
                    crate::document::thousands(self.record_entries),
                    human_size(self.record_bytes)
                ),
            );
            row("Container entries", self.entries.to_string());
            row("Key slots", self.key_slots.join(", "));
            if !self.decoders.is_empty() {
                row("Decoders", self.decoders.join(", "));
            }
        });
    }
}

/// What the Records row counts: 2.0's records in bundles or 1.x's
/// encrypted entries, in the singular for one.
fn records_noun(bundled: bool, count: u64) -> &'static str {
    match (bundled, count == 1) {
        (true, false) => "records in sealed bundles",
        (true, true) => "record in sealed bundles",
        (false, false) => "encrypted entries",
        (false, true) => "encrypted entry",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_record_is_said_in_the_singular() {
        assert_eq!(super::records_noun(true, 1), "record in sealed bundles");
        assert_eq!(super::records_noun(true, 0), "records in sealed bundles");
        assert_eq!(super::records_noun(true, 2), "records in sealed bundles");
        assert_eq!(super::records_noun(false, 1), "encrypted entry");
        assert_eq!(super::records_noun(false, 9), "encrypted entries");
    }
}
