//! Opening an archive from arbitrary bytes: open, the keyless fixity
//! check, then (if the identity of the test vectors opens it) listing,
//! reading every record and the content check. Nothing may panic.
#![no_main]

use legation_format::keys::Identity;
use legation_reader::source::MemSource;
use legation_reader::{Archive, Key};
use libfuzzer_sys::fuzz_target;

/// The identity `format/testdata/good-identity.vector` is sealed for, so
/// mutations of the vectors reach the unlocked paths.
const IDENTITY: [u8; 32] = [0x11; 32];

fuzz_target!(|data: &[u8]| {
    let Ok(archive) = Archive::open(MemSource::new(data.to_vec(), "fuzz.lgn")) else {
        return;
    };
    let _ = archive.check_signature(None);
    let _ = archive.verify_fixity(None, &mut |_, _| true);
    let Ok(unlocked) = archive.unlock(&[Key::Identity(Identity::from_bytes(IDENTITY))]) else {
        return;
    };
    if let Ok(records) = unlocked.list(0, 64) {
        for r in &records {
            let _ = unlocked.read_record(r, 1 << 20);
            let _ = unlocked.read_range(r, r.size / 2, 4096);
        }
    }
    let _ = unlocked.verify_content(None, &mut |_, _| true);
});
