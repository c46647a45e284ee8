//! AES-256-GCM (NIST SP 800-38D) with a 96-bit nonce, no associated data
//! and a 16-byte tag, from one of two implementations chosen at build time:
//! `ring` natively (its AES-NI/VAES code is several times faster than the
//! portable crate on the machines we measured, see BENCHMARKS.md) and the
//! pure-Rust `aes-gcm` crate on wasm32, where `ring` needs a C toolchain
//! for the target. A test checks both give identical bytes.

/// An AES-256-GCM key.
pub struct Gcm(Inner);

#[cfg(not(target_arch = "wasm32"))]
type Inner = ring::aead::LessSafeKey;
#[cfg(target_arch = "wasm32")]
type Inner = aes_gcm::Aes256Gcm;

/// Authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthentic;

impl Gcm {
    /// A key from 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        {
            // A 32-byte key is always valid for AES-256-GCM.
            Gcm(ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key).unwrap(),
            ))
        }
        #[cfg(target_arch = "wasm32")]
        {
            use aes_gcm::KeyInit;
            Gcm(aes_gcm::Aes256Gcm::new(key.into()))
        }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal(&self, nonce: [u8; 12], buf: &mut [u8]) -> [u8; 16] {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let n = ring::aead::Nonce::assume_unique_for_key(nonce);
            let tag = self
                .0
                .seal_in_place_separate_tag(n, ring::aead::Aad::empty(), buf)
                .unwrap(); // fails only past 64 GiB
            tag.as_ref().try_into().unwrap() // GCM tags are 16 bytes
        }
        #[cfg(target_arch = "wasm32")]
        {
            use aes_gcm::AeadInPlace;
            self.0
                .encrypt_in_place_detached(&nonce.into(), &[], buf)
                .unwrap()
                .into() // fails only past 64 GiB
        }
    }

    /// Decrypts `sealed` (ciphertext then 16-byte tag) in place; on
    /// success the plaintext is its first `len - 16` bytes.
    pub fn open(&self, nonce: [u8; 12], sealed: &mut [u8]) -> Result<(), Unauthentic> {
        if sealed.len() < 16 {
            return Err(Unauthentic);
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let n = ring::aead::Nonce::assume_unique_for_key(nonce);
            self.0
                .open_in_place(n, ring::aead::Aad::empty(), sealed)
                .map(|_| ())
                .map_err(|_| Unauthentic)
        }
        #[cfg(target_arch = "wasm32")]
        {
            use aes_gcm::AeadInPlace;
            let (body, tag) = sealed.split_at_mut(sealed.len() - 16);
            let tag = aes_gcm::Tag::clone_from_slice(tag);
            self.0
                .decrypt_in_place_detached(&nonce.into(), &[], body, &tag)
                .map_err(|_| Unauthentic)
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use aes_gcm::{AeadInPlace, KeyInit};

    /// The native backend and the wasm32 backend agree byte for byte.
    #[test]
    fn ring_and_aes_gcm_agree() {
        let key = [0x5a; 32];
        let ours = super::Gcm::new(&key);
        let theirs = aes_gcm::Aes256Gcm::new(&key.into());
        for len in [0usize, 1, 15, 16, 17, 1000, 65_536] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let nonce = [len as u8; 12];
            let mut a = plain.clone();
            let ta = ours.seal(nonce, &mut a);
            let mut b = plain.clone();
            let tb: [u8; 16] = theirs
                .encrypt_in_place_detached(&nonce.into(), &[], &mut b)
                .unwrap()
                .into();
            assert_eq!((&a, ta), (&b, tb), "len {len}");
            a.extend_from_slice(&ta);
            ours.open(nonce, &mut a).unwrap();
            assert_eq!(&a[..len], &plain[..]);
            a[0] ^= u8::from(len > 0);
            let last = a.len() - 1;
            a[last] ^= 1;
            assert!(ours.open(nonce, &mut a).is_err());
        }
    }

    /// NIST SP 800-38D / McGrew-Viega test case 13: AES-256, zero key,
    /// zero nonce, empty plaintext.
    #[test]
    fn known_answer() {
        let tag = super::Gcm::new(&[0; 32]).seal([0; 12], &mut []);
        assert_eq!(crate::hex::encode(&tag), "530f8afbc74536b9a963b4f1c4cb738b");
    }
}
