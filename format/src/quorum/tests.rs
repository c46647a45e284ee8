use super::*;
use crate::keys::Identity;
use rand_core::SeedableRng;

fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

/// Argon2id as cheap as the bounds allow, for tests.
const CHEAP: Argon2Params = Argon2Params {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

const ARCHIVE: [u8; 16] = [0xa1; 16];

fn identities(n: u8) -> Vec<Identity> {
    (0..n).map(|i| Identity::from_bytes([i + 1; 32])).collect()
}

fn holders(ids: &[Identity]) -> Vec<Policy> {
    ids.iter()
        .map(|i| Policy::Holder(Holder::X25519(i.public())))
        .collect()
}

/// Shares the identities unwrap from the slot.
fn unwrap(slot: &QuorumSlot, ids: &[&Identity], passphrases: &[&str]) -> Vec<Share> {
    let secrets: Vec<&[u8; 32]> = ids.iter().map(|i| i.secret()).collect();
    slot.unwrap_holders(&ARCHIVE, &secrets, passphrases, &mut |_, _| true)
}

fn rebuild(slot: &QuorumSlot, shares: &[Share]) -> Result<Option<DataKey>, QuorumError> {
    let refs: Vec<&Share> = shares.iter().collect();
    slot.rebuild(0, &ARCHIVE, &refs)
}

#[test]
fn two_of_three_opens_with_any_two_and_not_one() {
    let dk = DataKey::from_bytes([7; 32]);
    let ids = identities(3);
    let policy = Policy::Quorum {
        k: 2,
        members: holders(&ids),
    };
    let slot = quorum_slot(&dk, &ARCHIVE, &policy, &mut rng(1)).unwrap();
    assert_eq!(slot.check(0).unwrap(), "2 of (x25519, x25519, x25519)");
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let shares = unwrap(&slot, &[&ids[pair[0]], &ids[pair[1]]], &[]);
        assert_eq!(shares.len(), 2);
        let key = rebuild(&slot, &shares).unwrap().unwrap();
        assert_eq!(key.as_bytes(), dk.as_bytes());
    }
    let one = unwrap(&slot, &[&ids[1]], &[]);
    match rebuild(&slot, &one) {
        Err(QuorumError::NotEnoughShares { slot: 0, what }) => {
            assert_eq!(what, "node top (2 of 3) has 1")
        }
        other => panic!("{other:?}"),
    }
    // A stranger's identity unwraps nothing; no share is no key, not an error.
    let stranger = Identity::from_bytes([99; 32]);
    assert!(unwrap(&slot, &[&stranger], &[]).is_empty());
    assert!(rebuild(&slot, &[]).unwrap().is_none());
}

#[test]
fn nested_policy_with_a_passphrase_holder() {
    // Any 2 of 3 ministries, and 1 of 2 officers (one of whom holds a
    // passphrase): a node of 2 of 2 above them.
    let dk = DataKey::from_bytes([9; 32]);
    let ids = identities(4);
    let policy = Policy::Quorum {
        k: 2,
        members: vec![
            Policy::Quorum {
                k: 2,
                members: holders(&ids[..3]),
            },
            Policy::Quorum {
                k: 1,
                members: vec![
                    Policy::Holder(Holder::X25519(ids[3].public())),
                    Policy::Holder(Holder::Passphrase(
                        Zeroizing::new("officer two".into()),
                        CHEAP,
                    )),
                ],
            },
        ],
    };
    assert_eq!(policy.passphrases(), 1);
    let slot = quorum_slot(&dk, &ARCHIVE, &policy, &mut rng(2)).unwrap();
    assert_eq!(
        slot.check(0).unwrap(),
        "2 of (2 of (x25519, x25519, x25519), 1 of (x25519, argon2id))"
    );
    assert_eq!(slot.nodes.len(), 3);
    assert_eq!(slot.shares.len(), 5);
    // Two ministries and the passphrase officer.
    let shares = unwrap(&slot, &[&ids[0], &ids[2]], &["officer two"]);
    assert_eq!(shares.len(), 3);
    assert_eq!(
        rebuild(&slot, &shares).unwrap().unwrap().as_bytes(),
        dk.as_bytes()
    );
    // Two ministries and the other officer.
    let shares = unwrap(&slot, &[&ids[1], &ids[2], &ids[3]], &[]);
    assert_eq!(
        rebuild(&slot, &shares).unwrap().unwrap().as_bytes(),
        dk.as_bytes()
    );
    // Three ministries, no officer: the second node is short.
    let shares = unwrap(&slot, &[&ids[0], &ids[1], &ids[2]], &["wrong words"]);
    match rebuild(&slot, &shares) {
        Err(QuorumError::NotEnoughShares { what, .. }) => {
            assert_eq!(what, "node 2 (1 of 2) has 0; node top (2 of 2) has 1")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn shares_of_another_archive_or_slot_are_named() {
    let ids = identities(2);
    let policy = Policy::Quorum {
        k: 2,
        members: holders(&ids),
    };
    let dk = DataKey::from_bytes([1; 32]);
    let a = quorum_slot(&dk, &ARCHIVE, &policy, &mut rng(3)).unwrap();
    let other_archive = [0xb2; 16];
    let b = quorum_slot(&dk, &other_archive, &policy, &mut rng(4)).unwrap();
    let mut theirs = b.unwrap_holders(&other_archive, &[ids[0].secret()], &[], &mut |_, _| true);
    let share = theirs.pop().unwrap();
    assert_eq!(
        shares_for(&ARCHIVE, &[(0, &a)], &[&share]).unwrap_err(),
        QuorumError::OtherArchive {
            path: "1".into(),
            archive: crate::hex::encode(&other_archive)
        }
    );
    // Relabelled as this archive's (same slot id forced): its check fails.
    let forged = Share {
        archive_id: ARCHIVE,
        slot_id: a.id,
        path: share.path.clone(),
        value: share.value.clone(),
    };
    assert_eq!(
        rebuild(&a, &[forged]).unwrap_err(),
        QuorumError::ShareMismatch {
            slot: 0,
            path: "1".into()
        }
    );
    // A slot id the archive does not have.
    let unknown = Share {
        archive_id: ARCHIVE,
        slot_id: [0; 8],
        path: vec![1],
        value: Zeroizing::new([0; 32]),
    };
    assert!(matches!(
        shares_for(&ARCHIVE, &[(0, &a)], &[&unknown]),
        Err(QuorumError::UnknownSlot { .. })
    ));
}

#[test]
fn same_index_twice_flipped_bits_and_strangers_are_named() {
    let ids = identities(3);
    let dk = DataKey::from_bytes([2; 32]);
    let slot = quorum_slot(
        &dk,
        &ARCHIVE,
        &Policy::Quorum {
            k: 2,
            members: holders(&ids),
        },
        &mut rng(5),
    )
    .unwrap();
    let mut shares = unwrap(&slot, &[&ids[0]], &[]);
    let again = Share {
        value: shares[0].value.clone(),
        path: shares[0].path.clone(),
        ..shares[0]
    };
    shares.push(again);
    assert_eq!(
        rebuild(&slot, &shares).unwrap_err(),
        QuorumError::DuplicateShare {
            slot: 0,
            path: "1".into()
        }
    );
    // One bit of a share's value flipped: named, never combined.
    let mut two = unwrap(&slot, &[&ids[0], &ids[1]], &[]);
    two[1].value[31] ^= 1;
    assert_eq!(
        rebuild(&slot, &two).unwrap_err(),
        QuorumError::ShareMismatch {
            slot: 0,
            path: "2".into()
        }
    );
    // A share moved to another holder's index.
    let mut moved = unwrap(&slot, &[&ids[0], &ids[1]], &[]);
    moved[1].path = vec![3];
    assert!(matches!(
        rebuild(&slot, &moved),
        Err(QuorumError::ShareMismatch { .. })
    ));
    let mut nobody = unwrap(&slot, &[&ids[0]], &[]);
    nobody[0].path = vec![4];
    assert!(matches!(
        rebuild(&slot, &nobody),
        Err(QuorumError::NoSuchHolder { .. })
    ));
}

#[test]
fn a_changed_policy_does_not_open() {
    // A host that lowers K (unsigned archive) gains nothing: the shape is
    // bound into the wrap of the data key, and the shares still need K.
    let ids = identities(3);
    let dk = DataKey::from_bytes([3; 32]);
    let mut slot = quorum_slot(
        &dk,
        &ARCHIVE,
        &Policy::Quorum {
            k: 2,
            members: holders(&ids),
        },
        &mut rng(6),
    )
    .unwrap();
    slot.nodes[0].k = 1;
    let one = unwrap(&slot, &[&ids[0]], &[]);
    assert!(matches!(
        rebuild(&slot, &one),
        Err(QuorumError::Rebuilt { .. })
    ));
}

fn hostile(edit: impl FnOnce(&mut QuorumSlot)) -> String {
    let ids = identities(3);
    let mut slot = quorum_slot(
        &DataKey::from_bytes([4; 32]),
        &ARCHIVE,
        &Policy::Quorum {
            k: 2,
            members: holders(&ids),
        },
        &mut rng(7),
    )
    .unwrap();
    edit(&mut slot);
    match slot.check(5) {
        Err(QuorumError::Policy { slot: 5, what }) => what,
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_policies_are_refused_by_their_counts() {
    assert_eq!(
        hostile(|s| s.nodes[0].k = 4),
        "node top asks for 4 of 3 members"
    );
    assert_eq!(
        hostile(|s| s.nodes[0].k = 0),
        "node top asks for 0 of 3 members"
    );
    let copy = |s: &QuorumSlot| s.shares[0].clone();
    assert_eq!(
        hostile(|s| {
            let one = copy(s);
            s.shares = vec![one; 10_000];
        }),
        "10000 holders, not 1 to 64"
    );
    let deep = hostile(|s| s.shares[0].path = vec![1; 1000]);
    assert!(
        deep.starts_with("path 1.1.1.") && deep.ends_with(" is 1000 deep, over 4"),
        "{deep}"
    );
    assert_eq!(
        hostile(|s| s.shares[1].path = vec![1]),
        "path 1 is listed twice"
    );
    assert_eq!(
        hostile(|s| {
            s.shares.pop();
        }),
        "node top has 2 of its 3 members"
    );
    assert_eq!(
        hostile(|s| s.shares[2].path = vec![2, 1]),
        "2.1 is under no node"
    );
    assert_eq!(
        hostile(|s| s.shares[2].path = vec![0]),
        "path 0 has a member number outside 1 to 16"
    );
    assert_eq!(
        hostile(|s| s.nodes[0].path = vec![1]),
        "path 1 is listed twice"
    );
    // The writer refuses the same shapes before drawing anything.
    let deep = (0..1000).fold(
        Policy::Holder(Holder::X25519(identities(1)[0].public())),
        |p, _| Policy::Quorum {
            k: 1,
            members: vec![p],
        },
    );
    let e = quorum_slot(&DataKey::from_bytes([0; 32]), &ARCHIVE, &deep, &mut rng(8)).unwrap_err();
    assert!(e.to_string().contains("nest more than 4 deep"), "{e}");
    let many = Policy::Quorum {
        k: 3,
        members: holders(&identities(17)),
    };
    let e = quorum_slot(&DataKey::from_bytes([0; 32]), &ARCHIVE, &many, &mut rng(8)).unwrap_err();
    assert!(e.to_string().contains("17 members"), "{e}");
}

#[test]
fn slot_json_round_trips_and_unknown_holder_kinds_are_kept() {
    let ids = identities(2);
    let slot = quorum_slot(
        &DataKey::from_bytes([5; 32]),
        &ARCHIVE,
        &Policy::Quorum {
            k: 1,
            members: vec![
                Policy::Holder(Holder::X25519(ids[0].public())),
                Policy::Holder(Holder::Passphrase(Zeroizing::new("p".into()), CHEAP)),
            ],
        },
        &mut rng(9),
    )
    .unwrap();
    let ks = crypto::KeySlot::Quorum(Box::new(slot.clone()));
    let json = serde_json::to_string(&ks).unwrap();
    assert!(json.starts_with(r#"{"type":"quorum","id":""#), "{json}");
    assert!(
        json.contains(r#""shares":[{"path":[1],"type":"x25519","ephemeral":""#),
        "{json}"
    );
    assert!(json.contains(r#""type":"argon2id","salt":""#), "{json}");
    let back: crypto::KeySlot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ks);
    let json = json.replacen(r#""type":"x25519""#, r#""type":"ml-kem""#, 1);
    let crypto::KeySlot::Quorum(back) = serde_json::from_str(&json).unwrap() else {
        panic!()
    };
    assert_eq!(back.shares[0].holder, HolderSlot::Unknown);
    assert_eq!(back.check(0).unwrap(), "1 of (unknown, argon2id)");
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, written
/// apart from vsss-rs to check it (SPEC §7.9 names this field).
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0;
    while b != 0 {
        if b & 1 == 1 {
            r ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    r
}

fn gf_inv(a: u8) -> u8 {
    (1..=255).find(|&b| gf_mul(a, b) == 1).unwrap()
}

#[test]
fn shamir_matches_a_reference_over_the_aes_field() {
    // Known answer: the polynomial 0x53 + 0xca x over GF(2^8) at x = 1, 2
    // (0x53 * 0xca = 1 in this field, the AES field's textbook pair).
    assert_eq!(gf_mul(0x53, 0xca), 0x01);
    let secret = [0x53; 32];
    let y1 = [0x53 ^ 0xca; 32];
    let y2 = [0x53 ^ gf_mul(0xca, 2); 32];
    assert_eq!(*combine(&[(1, &y1), (2, &y2)]), secret);
    assert_eq!(*combine(&[(2, &y2), (1, &y1)]), secret);
    // vsss-rs's split against Lagrange at 0 written here, 3 of 5.
    let secret: [u8; 32] = std::array::from_fn(|i| i as u8 * 7 + 1);
    let shares = split(&secret, 3, 5, &mut rng(10));
    for pick in [[0usize, 1, 2], [4, 2, 0], [1, 3, 4]] {
        let xs: Vec<u8> = pick.iter().map(|&i| i as u8 + 1).collect();
        let mut rebuilt = [0u8; 32];
        for (j, &i) in pick.iter().enumerate() {
            // l_j(0) = prod_{m != j} x_m / (x_m - x_j); minus is xor.
            let mut l = 1u8;
            for (m, &xm) in xs.iter().enumerate() {
                if m != j {
                    l = gf_mul(l, gf_mul(xm, gf_inv(xm ^ xs[j])));
                }
            }
            for (o, y) in rebuilt.iter_mut().zip(shares[i].iter()) {
                *o ^= gf_mul(l, *y);
            }
        }
        assert_eq!(rebuilt, secret);
        let parts: Vec<(u8, &[u8; 32])> =
            pick.iter().map(|&i| (i as u8 + 1, &*shares[i])).collect();
        assert_eq!(*combine(&parts), secret);
    }
    // Two shares of a 3-of-5 split rebuild something else.
    let parts: Vec<(u8, &[u8; 32])> = [0usize, 1]
        .iter()
        .map(|&i| (i as u8 + 1, &*shares[i]))
        .collect();
    assert_ne!(*combine(&parts), secret);
    // K = 1: every share is the secret.
    assert!(split(&secret, 1, 3, &mut rng(11))
        .iter()
        .all(|s| **s == secret));
}

fn a_share() -> Share {
    Share {
        archive_id: [0x0f; 16],
        slot_id: [0x3c; 8],
        path: vec![2, 1],
        value: Zeroizing::new(std::array::from_fn(|i| (i as u8).wrapping_mul(13))),
    }
}

#[test]
fn share_binary_and_file_round_trip_and_damage_is_named() {
    let s = a_share();
    let b = s.to_bytes();
    assert_eq!(b.len(), 26 + 2 + 32 + 4);
    let back = Share::from_bytes(&b, 0).unwrap();
    assert_eq!(
        (back.archive_id, back.slot_id, &back.path, *back.value),
        (s.archive_id, s.slot_id, &s.path, *s.value)
    );
    for bit in [0, 8 * 5 + 3, 8 * 30, 8 * 63 + 7] {
        let mut d = b.clone();
        d[bit / 8] ^= 1 << (bit % 8);
        assert!(Share::from_bytes(&d, 0).is_err(), "bit {bit}");
    }
    let text = s.to_file("Ministry of Finance", 2, 3);
    assert!(
        text.contains("of archive 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f only"),
        "{}",
        &*text
    );
    assert!(
        text.contains("holder 2.1 (2 of 3 in its node)"),
        "{}",
        &*text
    );
    let back = Share::from_file(&text, "m.share").unwrap();
    assert_eq!(*back.value, *s.value);
    let damaged = text.replacen(&crate::hex::encode(&s.value[..4]), "ffffffff", 1);
    assert_eq!(
        Share::from_file(&damaged, "m.share").unwrap_err(),
        QuorumError::Form("m.share: share: its checksum fails: damaged or mistyped".into())
    );
    assert!(Share::from_file("LEGATION-SHARE-1 zz\n", "x").is_err());
    assert!(Share::from_file("# nothing\n", "x").is_err());
    assert!(Share::from_file("AGE-SECRET-KEY-1 00\n", "x").is_err());
}

#[test]
fn words_round_trip_and_a_mistyped_word_is_named() {
    let s = a_share();
    let words = words::encode(&s);
    assert_eq!(words.len(), (64 * 8usize).div_ceil(12));
    // Lines of four, numbered, as a sheet prints them.
    let sheet: String = words
        .chunks(4)
        .enumerate()
        .map(|(i, l)| format!("{:2}. {}\n", i + 1, l.join(" ")))
        .collect();
    let back = words::decode(&sheet.to_uppercase()).unwrap();
    assert_eq!((*back.value, back.path), (*s.value, s.path.clone()));
    // Every single-letter change of every word is caught and named.
    for (w, word) in words.iter().enumerate() {
        for p in 0..5 {
            for c in b'a'..=b'z' {
                let mut typo = word.clone().into_bytes();
                if typo[p] == c {
                    continue;
                }
                typo[p] = c;
                let mut all = words.clone();
                all[w] = String::from_utf8(typo).unwrap();
                let e = words::decode(&all.join(" ")).unwrap_err().to_string();
                assert!(e.starts_with(&format!("share: word {} '", w + 1)), "{e}");
            }
        }
    }
    // Two words swapped, a word left out, a word added: caught.
    let mut swapped = words.clone();
    swapped.swap(3, 19);
    assert!(words::decode(&swapped.join(" ")).is_err());
    assert!(words::decode(&words[..words.len() - 1].join(" ")).is_err());
    let mut more = words.clone();
    more.push(words::word(0, words.len()));
    assert!(words::decode(&more.join(" ")).is_err());
    assert!(words::decode(&vec!["babab"; 65].join(" ")).is_err());
    assert_eq!(words::word(0, 0), "babab");
    assert_eq!(words::value("babab", 0), Ok(0));
    assert_eq!(words::value(&words::word(0xfff, 7), 7), Ok(0xfff));
}

#[test]
fn post_quantum_holders_open_with_their_identity_and_older_readers_still_open_without() {
    let dk = DataKey::from_bytes([11; 32]);
    let ids = identities(2);
    let pq_ids: Vec<pq::PqIdentity> = (0..2)
        .map(|i| pq::PqIdentity::from_bytes([40 + i; pq::SECRET_LEN]))
        .collect();
    let mut members = holders(&ids);
    members.extend(
        pq_ids
            .iter()
            .map(|i| Policy::Holder(Holder::MlKem768X25519(Box::new(i.public())))),
    );
    let policy = Policy::Quorum { k: 2, members };
    let slot = quorum_slot(&dk, &ARCHIVE, &policy, &mut rng(21)).unwrap();
    assert_eq!(
        slot.check(0).unwrap(),
        "2 of (x25519, x25519, mlkem768x25519, mlkem768x25519)"
    );
    // The X25519 unwrapping skips post-quantum holders, and the reverse.
    assert!(unwrap(&slot, &[], &[]).is_empty());
    let pq_shares = slot.unwrap_pq_holders(&ARCHIVE, &[&pq_ids[1]]);
    assert_eq!(pq_shares.len(), 1);
    assert_eq!(pq_shares[0].path, vec![4]);
    // One post-quantum holder and one X25519 holder open it; the PQ one
    // alone does not; another archive's id opens no PQ holder.
    let mut two = unwrap(&slot, &[&ids[0]], &[]);
    two.extend(slot.unwrap_pq_holders(&ARCHIVE, &[&pq_ids[1]]));
    assert_eq!(
        rebuild(&slot, &two).unwrap().unwrap().as_bytes(),
        dk.as_bytes()
    );
    assert!(matches!(
        rebuild(&slot, &pq_shares),
        Err(QuorumError::NotEnoughShares { .. })
    ));
    assert!(slot
        .unwrap_pq_holders(&[0xa2; 16], &pq_ids.iter().collect::<Vec<_>>())
        .is_empty());
    // A flipped bit of the ciphertext: ML-KEM's implicit rejection gives
    // another secret, and the commitment refuses it.
    let mut bent = slot.clone();
    let HolderSlot::MlKem768X25519(p) = &mut bent.shares[2].holder else {
        panic!()
    };
    p.ciphertext[100] ^= 1;
    assert!(bent.unwrap_pq_holders(&ARCHIVE, &[&pq_ids[0]]).is_empty());
    // JSON round trip, the holder's type named.
    let ks = crypto::KeySlot::Quorum(Box::new(slot.clone()));
    let json = serde_json::to_string(&ks).unwrap();
    assert!(
        json.contains(r#""path":[3],"type":"mlkem768x25519","ciphertext":""#),
        "{json}"
    );
    let back: crypto::KeySlot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ks);
    // A ciphertext a byte short is refused by the parser.
    let HolderSlot::MlKem768X25519(p) = &slot.shares[2].holder else {
        panic!()
    };
    let hex = crate::hex::encode(&p.ciphertext);
    let short = json.replacen(&hex, &hex[2..], 1);
    assert!(serde_json::from_str::<crypto::KeySlot>(&short).is_err());
    // A reader that does not know the kind (format 2.1) sees `unknown`
    // holders, and still opens the slot with two X25519 holders: the
    // header hashes later kinds as `unknown`.
    let mut old = slot.clone();
    for s in &mut old.shares[2..] {
        s.holder = HolderSlot::Unknown;
    }
    assert_eq!(
        old.check(0).unwrap(),
        "2 of (x25519, x25519, unknown, unknown)"
    );
    assert_eq!(old.header(&ARCHIVE), slot.header(&ARCHIVE));
    let xs = unwrap(&old, &[&ids[0], &ids[1]], &[]);
    assert_eq!(
        rebuild(&old, &xs).unwrap().unwrap().as_bytes(),
        dk.as_bytes()
    );
}
