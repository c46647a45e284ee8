//! The details tab: the open record's facts, its Dublin Core metadata,
//! its decoder, and what is known of its integrity.

use egui::{RichText, Ui};
use legation_format::catalog::Render;
use legation_reader::{Archive, Report};

use super::record::RecordState;
use super::records::Browser;
use crate::catalog::human_size;

impl Browser {
    pub(super) fn details_ui(&self, ui: &mut Ui, archive: &Archive, report: Option<&Report>) {
        let Some(o) = &self.open else {
            ui.label("Choose a record to see its details.");
            return;
        };
        let rec = &o.rec;
        ui.heading("Record");
        grid(ui, "record facts", |row| {
            row("Path", rec.path.clone());
            row("Title", rec.title.clone());
            row("Media type", rec.media_type.clone());
            row(
                "Size",
                format!("{} ({} bytes)", human_size(rec.size), rec.size),
            );
            row(
                "Modified",
                rec.modified
                    .clone()
                    .unwrap_or_else(|| "not recorded".into()),
            );
            row("BLAKE3", legation_format::hex::encode(&rec.blake3));
            row("Container entry", rec.entry.clone());
        });
        ui.add_space(8.0);
        ui.heading("Dublin Core");
        if rec.metadata.is_empty() {
            ui.label(RichText::new("No descriptive metadata was packed with this record.").weak());
        } else {
            grid(ui, "dublin core", |row| {
                for (k, vs) in &rec.metadata {
                    row(k, vs.join("; "));
                }
            });
        }
        ui.add_space(8.0);
        ui.heading("Decoder");
        let decoder = rec
            .decoder
            .as_ref()
            .and_then(|e| archive.manifest().decoders.iter().find(|d| &d.entry == e));
        match decoder {
            Some(d) => grid(ui, "decoder", |row| {
                row("Name", d.name.clone());
                row("Version", d.version.clone());
                row("Entry", d.entry.clone());
                if let Ok(me) = archive.manifest_entry(&d.entry) {
                    row("Module BLAKE3", legation_format::hex::encode(&me.blake3));
                }
                row("Media types", d.media_types.join(", "));
                row(
                    "Limits",
                    format!(
                        "fuel {}, {} nested calls, {} MiB of memory",
                        d.limits.fuel,
                        d.limits.max_depth,
                        u64::from(d.limits.max_memory_pages) * 64 / 1024
                    ),
                );
            }),
            None => {
                ui.label("No decoder is assigned to this record.");
            }
        }
        ui.add_space(8.0);
        ui.heading("Verification");
        grid(ui, "verification", |row| {
            row(
                "Content",
                match &o.state {
                    RecordState::Shown(_) => {
                        "verified when read: every chunk authenticated, BLAKE3 matches the catalog"
                            .into()
                    }
                    RecordState::Failed(f) if f.raw.is_ok() => {
                        "not fully verified (see the record tab)".into()
                    }
                    RecordState::Failed(_) => {
                        "FAILED: the record's bytes cannot be read intact".into()
                    }
                    RecordState::Rendering(_) | RecordState::Away(..) | RecordState::Raw(..) => {
                        "being read…".into()
                    }
                },
            );
            let view = match (&rec.render, &o.state) {
                (Some(Render::Rendered { .. }), RecordState::Shown(r)) if r.refused.is_some() => {
                    "recorded at packing; its decoder does not show it now (see the record tab)"
                        .to_owned()
                }
                (Some(Render::Rendered { .. }), RecordState::Shown(r)) => {
                    match r.matches_recorded {
                        Some(true) => "identical to the view recorded at packing".to_owned(),
                        _ => "DIFFERS from the view recorded at packing".to_owned(),
                    }
                }
                (Some(Render::Rendered { .. }), _) => {
                    "recorded at packing; not shown yet".to_owned()
                }
                (Some(Render::NotRendered { reason }), _) => {
                    format!("not rendered at packing: {reason}")
                }
                _ => "no view was recorded at packing".to_owned(),
            };
            row("View", view);
            if let Some(r) = report {
                let mine: Vec<_> = r
                    .problems
                    .iter()
                    .filter(|p| p.subject == rec.path)
                    .collect();
                row(
                    "Archive check",
                    if mine.is_empty() {
                        format!(
                            "no problem for this record in the last {} check",
                            r.level.as_str()
                        )
                    } else {
                        mine.iter()
                            .map(|p| p.message.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    },
                );
            }
        });
    }
}

/// Rows of a label and a value, as a striped grid.
fn grid(ui: &mut Ui, id: &str, rows: impl FnOnce(&mut dyn FnMut(&str, String))) {
    egui::Grid::new(id)
        .num_columns(2)
        .spacing([16.0, 4.0])
        .striped(true)
        .show(ui, |ui| {
            rows(&mut |k, v| {
                ui.label(RichText::new(k).strong());
                ui.label(v);
                ui.end_row();
            });
        });
}
