//! [`App::summary`]: what the window shows, as JSON, for the browser's
//! end-to-end tests and benchmarks (`legation.summary()` on the page);
//! the one view of the app's state meant for code rather than people.

use legation_reader::Level;

use super::record::RecordState;
use super::{App, LockState, Screen};

impl App {
    /// What the window shows, in a few words a test can check (the
    /// browser tests read it through the page): the screen, messages,
    /// the records listed, the open record and the last verification.
    /// A test hook, not a stable format.
    pub fn summary(&mut self) -> serde_json::Value {
        use serde_json::json;
        let mut out = json!({ "notice": self.notice, "busy": self.busy() });
        let screen = match &mut self.screen {
            Screen::Start => json!({ "screen": "start" }),
            Screen::Fetching { path, .. } | Screen::Opening { path, .. } => {
                json!({ "screen": "opening", "path": path })
            }
            Screen::Archive(a) => {
                let verify = json!({
                    "running": a.verify.job.as_ref().map(|j| j.fraction()),
                    "level": a.verify.level.map(Level::as_str),
                    "message": a.verify.message,
                    "report": a.verify.report.as_ref().map(|r| json!({
                        "ok": r.ok(),
                        "level": r.level.as_str(),
                        "signer": r.signer,
                        "problems": r.problems.iter().map(|p| format!("{}: {}", p.subject, p.message)).collect::<Vec<_>>(),
                        "entries_checked": r.entries_checked,
                        "records_checked": r.records_checked,
                        "records_rendered": r.records_rendered,
                        "cancelled": r.cancelled,
                    })),
                });
                let screen = match &a.state {
                    LockState::Locked(f) => json!({
                        "screen": "locked",
                        "name": a.name,
                        "unlock_message": f.message,
                        "verify": verify,
                    }),
                    LockState::Open(b) => {
                        let open = b.open.as_ref().map(record_summary);
                        json!({
                            "screen": "open",
                            "name": a.name,
                            "records": b.total(),
                            "visible": b.shown(),
                            "rows": (0..b.shown().min(20)).filter_map(|i| b.row(i)).map(|r| r.title.clone()).collect::<Vec<_>>(),
                            "loading": b.list_busy(),
                            "folders": b.folders.len(),
                            "error": b.load_error,
                            "record": open,
                            "export": b.export.message,
                            "verify": verify,
                        })
                    }
                    LockState::Generation(g) => json!({
                        "screen": "generation records",
                        "name": a.name,
                        "records": g.key.records,
                        "rows": g.rows.iter().map(|r| json!({
                            "path": r.path,
                            "stored_in": r.stored_in,
                        })).collect::<Vec<_>>(),
                        "error": g.error,
                        "matched": g.found.as_ref().map(|(_, n)| *n),
                        "folders": g.folders.len(),
                        "export": g.export_message,
                        "check": g.checked.as_ref().map(|(with_key, lines)| json!({
                            "with_key": with_key,
                            "problems": lines,
                        })),
                        "record": g.record_summary(),
                        "verify": verify,
                    }),
                };
                let changes = match &a.state {
                    LockState::Generation(g) => g.key.changes,
                    _ => None,
                };
                let series = a.series.as_ref().map(|s| generation_summary(s, changes));
                match (screen, series) {
                    (serde_json::Value::Object(mut o), Some(s)) => {
                        o.insert("generation".into(), s);
                        serde_json::Value::Object(o)
                    }
                    (screen, _) => screen,
                }
            }
        };
        if let (Some(o), serde_json::Value::Object(s)) = (out.as_object_mut(), screen) {
            o.extend(s);
        }
        out
    }
}

/// The generation shown and the history of its series, for
/// [`App::summary`].
fn generation_summary(
    s: &crate::generations::SeriesView,
    changes: Option<legation_format::v2::index::Changes>,
) -> serde_json::Value {
    use crate::generations::Row;
    use serde_json::json;
    let changes = match changes {
        Some(c) => json!({"added": c.added, "changed": c.changed, "removed": c.removed}),
        None => json!(null),
    };
    json!({
        "sequence": s.current,
        "created": s.facts.created,
        "signer": s.facts.signer,
        "kind": s.facts.kind,
        "changes": changes,
        "history": s.history.rows.iter().map(|r| match r {
            Row::Present { sequence, records, path, current, .. } => json!({
                "sequence": sequence, "records": records, "file": path, "shown": current,
            }),
            Row::Absent { from, to, needed, .. } => json!({
                "absent": [from, to], "needed": needed,
            }),
        }).collect::<Vec<_>>(),
        "problems": s.history.problems,
    })
}

/// A view block's kind, for [`App::summary`].
fn block_kind(b: &legation_document::Block) -> &'static str {
    use legation_document::Block;
    match b {
        Block::Heading { .. } => "heading",
        Block::Paragraph { .. } => "paragraph",
        Block::Fields { .. } => "fields",
        Block::Table { .. } => "table",
        Block::Image { .. } => "image",
        Block::Code { .. } => "code",
        Block::Pages { .. } => "pages",
    }
}

/// The record shown in the record pane: its path, how far its view has
/// come and what it shows.
pub(super) fn record_summary(o: &super::record::OpenRecord) -> serde_json::Value {
    use serde_json::json;
    let (state, titles, blocks, error, matches) = match &o.state {
        RecordState::Rendering(_) | RecordState::Away(..) | RecordState::Raw(..) => {
            ("rendering", vec![], vec![], None, None)
        }
        RecordState::Shown(r) => (
            if r.refused.is_some() {
                "shown through the raw decoder"
            } else {
                "shown"
            },
            r.view.docs.iter().map(|d| d.title.clone()).collect(),
            r.view
                .docs
                .iter()
                .flat_map(|d| d.blocks.iter().map(block_kind))
                .collect(),
            r.refused.clone(),
            r.matches_recorded,
        ),
        RecordState::Failed(f) => ("failed", vec![], vec![], Some(f.error.clone()), None),
    };
    let page = match &o.state {
        RecordState::Shown(r) => json!({
            "shown": r.view.page,
            "of": r.view.pages(),
            "decoded": r.view.docs.len() > 1,
        }),
        _ => json!(null),
    };
    json!({
        "path": o.rec.path,
        "page": page,
        "state": state,
        "titles": titles,
        "blocks": blocks,
        "error": error,
        "matches_recorded": matches,
    })
}
