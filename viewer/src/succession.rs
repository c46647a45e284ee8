//! The issuer's statements of succession (SPEC §37, format 2.2) as the
//! viewer applies them to a series, with no egui: the handovers let a
//! change of issuers between generations pass the splice rules (§37.6),
//! and a generation signed by a key revoked before it, or after that key
//! handed the series over, is refused by name (§37.3), as `legation
//! verify --issuer` does.
//!
//! The desktop reads the folder `issuer/` beside the file or folder it
//! opened; the browser takes the statements given by URL
//! (`&issuer=URL`, repeatable). The viewer pins no key when it opens a
//! series: it follows the statements from the key that signed the
//! oldest generation present.

use legation_format::crypto::fingerprint;
use legation_reader::succession::Statements;

use crate::generations::SeriesView;

/// Statement files, each `(name, bytes)`, or why they could not be read.
pub(crate) type Files = Result<Vec<(String, Vec<u8>)>, String>;

/// The statements of `files`, or why they are refused (one that does not
/// parse is named).
pub(crate) fn read(files: Files) -> Result<Statements, String> {
    let files = files?;
    Statements::parse(Vec::new(), files).map_err(|e| e.to_string())
}

/// Applies the statements to the view of a series whose splice rules
/// already took their handovers (`generations::gather`): the generation
/// shown is refused when the succession refuses it; every other
/// generation present that it refuses is a problem of the history; a
/// generation held by handover says so beside its signer.
pub(crate) fn judge(view: &mut SeriesView, statements: &Result<Statements, String>) {
    let st = match statements {
        Ok(st) => st,
        Err(e) => {
            let why = format!("the issuer's statements (issuer/): {e}");
            view.facts.refused = Some(why.clone());
            view.history.problems.insert(0, why);
            return;
        }
    };
    let Some(followed) = view.series.succession(st, None) else {
        return;
    };
    let s = match followed {
        Ok(s) => s,
        Err(e) => {
            let why = format!("the issuer's statements are refused: {e}");
            view.facts.refused = Some(why.clone());
            view.history.problems.insert(0, why);
            return;
        }
    };
    let mut sequences: Vec<u64> = view.series.files.iter().map(|f| f.sequence()).collect();
    sequences.sort_unstable();
    sequences.dedup();
    let mut problems = Vec::new();
    for g in sequences {
        if let Some(e) = view.series.refusal(g, &s) {
            if g == view.current {
                view.facts.refused = Some(e.to_string());
            }
            problems.push(e.to_string());
        }
    }
    if view.facts.refused.is_none() {
        let t = s.holder(view.current);
        let before = s.tenures.iter().position(|x| x.key == t.key);
        let from = before
            .and_then(|i| i.checked_sub(1))
            .map(|i| s.tenures[i].key);
        if let (Some(file), Some(from)) = (&t.given_by, from) {
            view.facts.signer = format!(
                "{} (holds the series by handover from {}: {file})",
                view.facts.signer,
                fingerprint(&from)
            );
        }
    }
    for p in problems.into_iter().rev() {
        view.history.problems.insert(0, p);
    }
}
