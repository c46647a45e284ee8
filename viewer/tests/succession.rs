//! The issuer's statements of succession in the viewer (SPEC §37, issue
//! 21): a series across an issuer handover opens at its newest
//! generation, signed by the new key, with the handover in `issuer/`
//! beside it (and without it the change of issuers is a splice of the
//! series); a generation signed by a revoked key after its last
//! legitimate generation is refused by name and not unlocked.

#[allow(dead_code)] // the shared fixtures this suite does not use
mod support;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use legation_format::crypto::fingerprint;
use legation_format::keys::IssuerKey;
use legation_format::v2::succession::{pin_of, Handover, Revocation};
use legation_format::v2::writer::{ArchiveWriter, Generation};
use legation_format::writer::{RecordMeta, RecordSource};
use legation_viewer::App;
use rand_core::SeedableRng;

use support::{archives, has, settle, Script, Scripted};

type H = Harness<'static, App>;

/// The series' archive id.
const SERIES: [u8; 16] = [0x3c; 16];
/// Generation 1's time; generation 2 a day later.
const DAY1: i64 = 1_800_000_000;

/// The ministry's old key and its successor.
fn old() -> IssuerKey {
    IssuerKey::from_bytes([0x61; 32])
}
fn new() -> IssuerKey {
    IssuerKey::from_bytes([0x62; 32])
}

fn harness() -> H {
    let script = Rc::new(RefCell::new(Script::default()));
    let app = App::new(Box::new(Scripted(script, Arc::default())), None);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .with_context_setup(|ctx| ctx.all_styles_mut(|s| s.visuals.text_cursor.blink = false))
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app)
}

/// Generations 1 and 2 of the series, self-contained, signed by
/// `signers[0]` and `signers[1]` (written with the library: a command
/// would refuse the new key without a handover), in `folder` as
/// `register.0001.lgn` and `register.0002.lgn`; generation 0 is absent.
fn series(folder: &str, signers: [IssuerKey; 2]) -> PathBuf {
    let dir = archives().dir.join("succession").join(folder);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut previous = [0x11; 32];
    for (s, signer) in (1..=2u64).zip(signers) {
        let mut opts = support::options(DAY1 + (s as i64 - 1) * 86_400);
        opts.issuer = Some(signer);
        let mut w = ArchiveWriter::new_generation(
            std::io::Cursor::new(Vec::new()),
            opts,
            rand_chacha::ChaCha20Rng::seed_from_u64(40 + s),
            Some(Generation {
                archive_id: SERIES,
                sequence: s,
                previous,
            }),
        )
        .unwrap();
        let body = format!("register of generation {s}\n");
        w.add_record(
            RecordMeta {
                path: format!("register/people-{s}.txt"),
                title: format!("People, generation {s}"),
                media_type: "text/plain".into(),
                ..RecordMeta::default()
            },
            RecordSource::Bytes(body.as_bytes()),
        )
        .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let a = legation_reader::Archive::open(Arc::new(legation_reader::source::MemSource::new(
            bytes.clone(),
            "g",
        )))
        .unwrap();
        let (h, sigs) = a.head_and_signatures().unwrap();
        previous = legation_format::v2::head::chain_hash(h, sigs);
        std::fs::write(dir.join(format!("register.000{s}.lgn")), bytes).unwrap();
    }
    dir
}

/// Puts a statement in `dir/issuer/`.
fn beside(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir.join("issuer")).unwrap();
    std::fs::write(dir.join("issuer").join(name), bytes).unwrap();
}

fn unlock_with_passphrase(h: &mut H) {
    h.get_by_role(Role::PasswordInput).focus();
    h.run_steps(1);
    h.get_by_role(Role::PasswordInput)
        .type_text(legation_tests::PASSPHRASE);
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Unlock").click();
    settle(h);
}

fn show_history(h: &mut H) {
    h.get_by_label_contains("History: ").click();
    h.run_steps(3);
}

fn snap(h: &mut H, name: &str) {
    h.remove_cursor();
    h.run_steps(2);
    h.snapshot(name);
}

#[test]
fn a_series_across_a_handover_opens_at_its_newest_generation() {
    let (old_fp, new_fp) = (fingerprint(&pin_of(&old())), fingerprint(&pin_of(&new())));
    // Without the handover, generation 2 by another key is a splice.
    let bare = series("bare", [old(), new()]);
    let mut h = harness();
    h.state_mut().open(bare.clone());
    settle(&mut h);
    assert!(has(&h, "Generation 2"));
    show_history(&mut h);
    assert!(
        has(&h, "names other issuers than generation 1"),
        "without the handover the change of issuers is refused"
    );

    // With the handover beside the series: generation 2 is the new key's.
    let dir = series("handed", [old(), new()]);
    let mut handover = Handover::new(SERIES, 2, pin_of(&old()), pin_of(&new()), DAY1 + 3600);
    handover.sign(&old()).unwrap();
    beside(&dir, "a1.handover", &handover.to_bytes());
    let mut h = harness();
    h.state_mut().open(dir.clone());
    settle(&mut h);
    assert!(has(&h, "Generation 2"), "the newest generation is shown");
    assert!(
        has(
            &h,
            &format!("signed by {new_fp} (holds the series by handover from {old_fp}: ")
        ),
        "the signer and the handover that gives it the series"
    );
    assert!(has(&h, "a1.handover"));
    show_history(&mut h);
    assert!(
        !has(&h, "names other issuers"),
        "the handover accounts for the change of issuers"
    );
    assert!(!has(&h, "Refused"));
    unlock_with_passphrase(&mut h);
    assert!(
        has(&h, "People, generation 2"),
        "generation 2's records are listed once unlocked"
    );
    snap(&mut h, "succession_handover");
}

#[test]
fn a_revoked_keys_later_generation_is_refused_by_name() {
    let dir = series("revoked", [old(), old()]);
    let mut r = Revocation::new(SERIES, pin_of(&old()), 1, DAY1 + 7200, "key stolen").unwrap();
    r.sign(&old()).unwrap();
    beside(&dir, "r1.revocation", &r.to_bytes());
    let mut h = harness();
    h.state_mut().open(dir.clone());
    settle(&mut h);
    let fp = fingerprint(&pin_of(&old()));
    let named = format!(
        "REVOKED: generation 2 is signed by issuer {fp}, revoked after generation 1 (key stolen; "
    );
    assert!(has(&h, "Generation 2"));
    assert!(
        has(&h, &format!("Refused: {named}")),
        "the refusal names key, reason and file"
    );
    assert!(has(&h, "r1.revocation"));
    // Unlocking is refused with the same words.
    unlock_with_passphrase(&mut h);
    assert!(has(&h, &format!("Not opened: {named}")));
    assert!(!has(&h, "People, generation 2"));
    snap(&mut h, "succession_revoked");

    // Generation 1, signed before the revocation's last generation, opens
    // and unlocks; generation 2 opened from its history with the same key
    // is refused all the same.
    let mut h = harness();
    h.state_mut().open(dir.join("register.0001.lgn"));
    settle(&mut h);
    assert!(has(&h, "Generation 1"));
    assert!(!has(&h, "Refused: "), "generation 1 is not refused");
    unlock_with_passphrase(&mut h);
    assert!(has(&h, "People, generation 1"), "generation 1 unlocks");
    show_history(&mut h);
    assert!(has(&h, &named), "the history names generation 2's refusal");
    h.get_by_role_and_label(Role::Button, "Open generation 2")
        .click();
    settle(&mut h);
    assert!(has(&h, "Generation 2"));
    assert!(
        has(&h, &format!("Not opened: {named}")),
        "the carried key is not used"
    );
    assert!(!has(&h, "People, generation 2"));
}
