//! The desktop viewer unlocks an archive for a post-quantum recipient
//! (SPEC §7.11, format 2.1) with its identity file, and refuses another
//! post-quantum identity by name.

#[allow(dead_code)] // the shared fixtures this suite does not use
mod support;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use legation_format::pq::PqIdentity;
use legation_viewer::App;
use support::{has, settle, Script, Scripted};

/// A folder with `pq.lgn` (three records, one mlkem768x25519 slot) and
/// the identity files `pq.key` (its recipient) and `other.key`.
fn folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("legation-viewer-pq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let id = PqIdentity::from_bytes([0x21; 32]);
    let bytes =
        legation_tests::vectors::pq::archive(vec![], &[id.public()], &["a.txt", "b.txt", "c.txt"]);
    std::fs::write(dir.join("pq.lgn"), bytes).unwrap();
    std::fs::write(dir.join("pq.key"), id.to_key_file("test").as_bytes()).unwrap();
    let other = PqIdentity::from_bytes([0x22; 32]);
    std::fs::write(dir.join("other.key"), other.to_key_file("test").as_bytes()).unwrap();
    dir
}

fn unlock_with(dir: &std::path::Path, key: &str) -> Harness<'static, App> {
    let script = Rc::new(RefCell::new(Script::default()));
    let app = App::new(
        Box::new(Scripted(script.clone(), Default::default())),
        Some(dir.join("pq.lgn")),
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    settle(&mut h);
    script.borrow_mut().key_file = Some(dir.join(key));
    h.get_by_role_and_label(Role::Button, "Choose identity file…")
        .click();
    h.run_steps(2);
    assert!(has(&h, key));
    h.get_by_role_and_label(Role::Button, "Unlock").click();
    settle(&mut h);
    h
}

#[test]
fn a_post_quantum_identity_file_unlocks_and_another_does_not() {
    let dir = folder();
    let h = unlock_with(&dir, "pq.key");
    assert!(has(&h, "3 of 3 records"));
    drop(h);
    let h = unlock_with(&dir, "other.key");
    assert!(has(&h, "Wrong passphrase or identity"));
    assert!(!has(&h, "3 of 3 records"));
    let _ = std::fs::remove_dir_all(&dir);
}
