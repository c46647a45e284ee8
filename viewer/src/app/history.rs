//! A generation of a series on screen (SPEC §33): which generation the
//! open file is, and the history of its series (one row a generation
//! present, one a run of absent ones), from which an earlier or later
//! generation opens.

use egui::{RichText, Ui};
use legation_format::v2::index::Changes;

use super::Action;
use crate::catalog::human_size;
use crate::document::thousands;
use crate::generations::{row_name, Row, SeriesView};

/// What changed against the previous generation, as the screens say it:
/// `changes` is `None` while locked (the counts are sealed in the index),
/// `Some(None)` for a generation that records none (a first or
/// self-contained one).
pub(super) fn changes_text(s: &SeriesView, changes: Option<Option<Changes>>) -> String {
    let g = s.current;
    match changes {
        Some(Some(c)) => format!(
            "{} added, {} changed, {} removed since generation {}",
            thousands(c.added),
            thousands(c.changed),
            thousands(c.removed),
            g.saturating_sub(1)
        ),
        _ if g == 0 => "the first generation: nothing before it".into(),
        Some(None) => "not recorded: a self-contained generation".into(),
        None if s.dependent() => "sealed in its index: shown once unlocked".into(),
        None => "not recorded: a self-contained generation".into(),
    }
}

/// The generation's facts as grid rows, under the archive's public facts.
pub(super) fn facts_ui(ui: &mut Ui, s: &SeriesView, changes: Option<Option<Changes>>) {
    let f = &s.facts;
    super::facts::grid(ui, "generation facts", |row| {
        row(
            "Generation",
            format!(
                "{} of series {} ({} present)",
                f.sequence,
                f.series_id,
                s.history.present()
            ),
        );
        row("Generation created", f.created.clone());
        row("Signed by", f.signer.clone());
        row("Stored", f.kind.clone());
        row("What changed", changes_text(s, changes));
        if let Some(why) = &f.refused {
            row("Refused", why.clone());
        }
    });
}

/// The generation line above the screen, and the history of the series
/// under it (collapsed until opened): each generation with its time,
/// records, signer and file, opened by its button.
pub(super) fn bar(
    ui: &mut Ui,
    s: &SeriesView,
    changes: Option<Option<Changes>>,
    actions: &mut Vec<Action>,
) {
    egui::Panel::top("generation").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Generation {}", s.current)).strong());
            ui.label(format!(
                "created {}, signed by {}; {}",
                s.facts.created,
                s.facts.signer,
                changes_text(s, changes)
            ));
        });
        if let Some(why) = &s.facts.refused {
            ui.colored_label(ui.visuals().error_fg_color, format!("Refused: {why}"));
        }
        let present = s.history.present();
        egui::CollapsingHeader::new(format!(
            "History: {present} generation{} present",
            if present == 1 { "" } else { "s" }
        ))
        .id_salt("generation history")
        .show(ui, |ui| history_ui(ui, s, actions));
    });
}

/// The history's rows, as `legation log` lists them.
fn history_ui(ui: &mut Ui, s: &SeriesView, actions: &mut Vec<Action>) {
    let files: Vec<std::path::PathBuf> = s.series.files.iter().map(|f| f.path.clone()).collect();
    // Up to eight rows show at once; more scroll.
    let rows = s.history.rows.len() + 1 + s.history.problems.len();
    let height = (rows.min(8) as f32) * 23.0;
    egui::ScrollArea::both()
        .id_salt("history rows")
        .min_scrolled_height(height)
        .max_height(height)
        .show(ui, |ui| {
            egui::Grid::new("history")
                .num_columns(7)
                .spacing([14.0, 3.0])
                .striped(true)
                .show(ui, |ui| {
                    for h in [
                        "Generation",
                        "Created",
                        "Records",
                        "Signer",
                        "Stored",
                        "File",
                        "",
                    ] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for r in &s.history.rows {
                        match r {
                            Row::Present {
                                sequence,
                                created,
                                records,
                                bytes,
                                signer,
                                kind,
                                path,
                                current,
                            } => {
                                ui.label(sequence.to_string());
                                ui.label(created);
                                ui.label(format!(
                                    "{} ({})",
                                    thousands(*records),
                                    human_size(*bytes)
                                ));
                                ui.label(signer);
                                ui.label(kind);
                                ui.label(RichText::new(row_name(path)).monospace())
                                    .on_hover_text(path.display().to_string());
                                if *current {
                                    ui.label(RichText::new("shown").weak());
                                } else if ui.button(format!("Open generation {sequence}")).clicked()
                                {
                                    actions
                                        .push(Action::OpenGeneration(path.clone(), files.clone()));
                                }
                            }
                            Row::Absent {
                                from,
                                to,
                                needed,
                                hint,
                            } => {
                                ui.label(if from == to {
                                    from.to_string()
                                } else {
                                    format!("{from}–{to}")
                                });
                                ui.label(RichText::new("absent").weak());
                                ui.label("");
                                ui.label(
                                    RichText::new(if from == to {
                                        "its file was not given"
                                    } else {
                                        "their files were not given"
                                    })
                                    .weak(),
                                );
                                ui.label(if *needed {
                                    format!("generation {} reads records from it", s.current)
                                } else {
                                    String::new()
                                });
                                ui.label(
                                    RichText::new(hint.clone().unwrap_or_default()).monospace(),
                                );
                                ui.label("");
                            }
                        }
                        ui.end_row();
                    }
                });
            for p in &s.history.problems {
                ui.colored_label(ui.visuals().error_fg_color, p);
            }
        });
}
