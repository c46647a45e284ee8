//! `legation`: pack, list, read, extract, verify and repair Legation archives.
//!
//! Exit codes: 0 success; 1 damage or forgery found; 2 usage or I/O
//! error; 3 no key given opens the archive; 4 a copy is stale (older
//! than the newest published generation) or freshness is not established.

/// This crate's `println!`: as the standard one, except that what it
/// writes is cleaned of control characters and bidirectional overrides
/// (text from an archive is shown, never obeyed), and a reader who has
/// gone (`legation ls … | head`) or an output that cannot be written
/// ends the command quietly ([`output::write_out`]) instead of a panic.
macro_rules! println {
    () => {
        $crate::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// This crate's `print!`, as its `println!`.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::write_out(format_args!($($arg)*))
    };
}

/// This crate's `eprintln!`: cleaned as its `println!`, and a standard
/// error that cannot be written (closed, a logger that died, a full
/// disk) changes nothing ([`output::write_err`]) instead of a panic.
macro_rules! eprintln {
    () => {
        $crate::output::write_err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod commands;
mod decoders;
mod identify;
mod keyopts;
mod location;
mod output;
mod place;
mod remote;
mod repair;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use keyopts::KeyOpts;
use location::Location;

/// Legation: a digital embassy in a file.
#[derive(Parser, Debug)]
#[command(name = "legation", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print, at the end, the bytes and requests each s3:// archive took.
    #[arg(long, global = true)]
    stats: bool,
}

/// What `legation decoder` does.
#[derive(Subcommand, Debug)]
enum DecoderAction {
    /// Make the crate NAME/ of a decoder: a template to edit, the decoder
    /// SDK vendored into it (or --sdk), the pinned toolchain and a
    /// profile for small modules; it builds outside this source tree.
    New {
        /// The decoder's name (lowercase letters, digits, - and _).
        name: String,
        /// An SDK crate to depend on instead of the vendored copy (e.g.
        /// decoders/sdk of a Legation checkout).
        #[arg(long, value_name = "DIR")]
        sdk: Option<PathBuf>,
    },
    /// Build the decoder crate in DIR into DIR/NAME.wasm, reproducibly:
    /// the same source and toolchain give the same bytes in any folder.
    Build {
        /// The crate's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a recipient key pair, an issuer key pair or a passphrase.
    Keygen {
        #[command(subcommand)]
        what: KeygenWhat,
    },
    /// Pack a folder into an encrypted, signed archive.
    Pack {
        /// The folder to pack.
        src: PathBuf,
        /// The archive to write.
        #[arg(short, long, value_name = "ARCHIVE")]
        output: PathBuf,
        /// Public key of a recipient (`NAME.pub`), X25519 or post-quantum
        /// (`keygen recipient --pq`); repeatable.
        #[arg(long = "recipient", short = 'r', value_name = "FILE.pub")]
        recipients: Vec<PathBuf>,
        /// File whose first line is a passphrase that also opens the archive.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        /// Issuer signing key (`NAME.key` from `keygen issuer`).
        #[arg(long, value_name = "ISSUER.key")]
        sign: Option<PathBuf>,
        #[command(flatten)]
        quorum: commands::share::QuorumArgs,
        /// Write the next generation of the series whose newest file is
        /// PREVIOUS, as a delta file holding only what changed (format 2.0,
        /// SPEC §33); every file of SRC is read and hashed.
        #[arg(long, value_name = "PREVIOUS")]
        update: Option<PathBuf>,
        /// With --update: a recipient secret key that opens PREVIOUS.
        #[arg(
            long = "identity",
            short = 'i',
            value_name = "FILE.key",
            requires = "update"
        )]
        update_identities: Vec<PathBuf>,
        /// With --update: write every live record as a new base run (by
        /// default when the overlay has grown past a sixteenth).
        #[arg(long, requires = "update")]
        rebase: bool,
        /// With --update and --sign: a handover from the series' issuer to
        /// the signing key, from the generation written (SPEC §37.6);
        /// those in `issuer/` beside PREVIOUS are read too.
        #[arg(long = "handover", value_name = "FILE", requires = "update")]
        handovers: Vec<PathBuf>,
        /// Skip symbolic links, special files and non-UTF-8 names (each reported).
        #[arg(long)]
        skip_unsupported: bool,
        /// Accept a passphrase the strength check refuses.
        #[arg(long)]
        allow_weak_passphrase: bool,
        /// A third-party decoder for a media type or file extension (`application/xml=outline.wasm`, `.ebc=ebcdic.wasm`), or bare (`outline.wasm`) for the media types it declares; it also takes records of the types it declares unless another key says otherwise; repeatable.
        #[arg(long = "decoder", value_name = "[TYPE=]FILE.wasm")]
        decoders: Vec<String>,
        /// Fuel of each decoder call, about one unit per instruction, for
        /// decoders packed without limits of their own (the built-in ones
        /// included); recorded in each module, so every reader stops a
        /// decoder at the same point.
        #[arg(long, value_name = "UNITS", default_value_t = legation_meter::MeterConfig::default().fuel)]
        decoder_fuel: u64,
        /// Memory cap of each decoder call, in MiB (at most 4096), for the
        /// same decoders.
        #[arg(long, value_name = "MIB", default_value_t = legation_meter::MeterConfig::default().max_memory_pages / 16)]
        decoder_memory: u32,
        /// Most nested calls within a decoder, for the same decoders.
        #[arg(long, value_name = "CALLS", default_value_t = legation_meter::MeterConfig::default().max_depth)]
        decoder_depth: u32,
        /// Replace ARCHIVE if it exists.
        #[arg(long)]
        force: bool,
        /// Store the one-file browser viewer (`web/build.sh` writes it to
        /// target/web/legation-viewer.html) in the archive as `viewer.html`,
        /// pinned by the signed manifest like every entry.
        #[arg(long, value_name = "VIEWER.html")]
        embed_viewer: Option<PathBuf>,
        /// The format version to write: 2.0 (records in large sealed
        /// bundles under binary catalog pages and a signed head, for
        /// archives of millions of records), or 1.3 for readers that know
        /// only 1.x.
        #[arg(long, value_name = "VERSION", default_value = "2.0", value_parser = ["1.3", "2.0"])]
        format: String,
        /// SRC is a BagIt bag: validate it, pack its payload (data/), keep
        /// bag-info.txt under .legation/ and check each record against the
        /// bag's manifest.
        #[arg(long, conflicts_with = "not_a_bag")]
        from_bag: bool,
        /// Pack SRC as a folder even though it looks like a BagIt bag.
        #[arg(long)]
        not_a_bag: bool,
    },
    /// Unwrap this holder's share of a quorum slot (SPEC §7.9) into a file
    /// for this archive only, and print it as a sheet of words and a QR
    /// code; or read such words back.
    Share {
        /// The archive: a file or s3://BUCKET/KEY (optional with --from-words).
        archive: Option<Location>,
        #[command(flatten)]
        keys: KeyOpts,
        /// The share file to write (`NAME.share`).
        #[arg(short, long, value_name = "FILE.share")]
        output: Option<PathBuf>,
        /// Also write the share as a sheet to print: words with check
        /// letters, a QR code, the archive id, the holder, K and N.
        #[arg(long, value_name = "SHEET.html")]
        sheet: Option<PathBuf>,
        /// The holder's name, for the file and the sheet.
        #[arg(long, value_name = "NAME")]
        holder_name: Option<String>,
        /// Read a share back from the words of its sheet, or the text of its
        /// QR code (a file, or -).
        #[arg(long, value_name = "WORDS.txt")]
        from_words: Option<PathBuf>,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
    },
    /// List an archive: public facts without a key, the records with one.
    Ls {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// Read this generation of the archive's series (its files beside it).
        #[arg(long, value_name = "S")]
        generation: Option<u64>,
        #[command(flatten)]
        keys: KeyOpts,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Verify archives: fixity without a key, content and render with one.
    Verify {
        /// The archives: files or s3://BUCKET/KEY, checked in turn.
        #[arg(required = true, value_name = "ARCHIVE")]
        archives: Vec<Location>,
        #[command(flatten)]
        keys: KeyOpts,
        /// Stop at this level: fixity, content or render (default: render
        /// with a key, fixity without).
        #[arg(long, value_name = "LEVEL", value_parser = level_parser())]
        level: Option<legation_reader::Level>,
        /// Check only N entries drawn at random (with the manifest and
        /// signature; for format 2.0, N pieces of 64 KiB, each checked
        /// against the outboard values): a keyless audit that reads a
        /// fraction of each archive and says what damage it would find.
        #[arg(long, value_name = "N")]
        sample: Option<u64>,
        /// The seed of --sample's draw, to repeat a run (default: random).
        #[arg(long, requires = "sample")]
        seed: Option<u64>,
        /// Machine-readable report: one JSON object a line, one line an archive.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        freshness: commands::witness::FreshnessOpts,
        #[command(flatten)]
        succession: commands::issuer::SuccessionOpts,
    },
    /// As the issuer: hand the series over to a new key, or revoke a key
    /// (SPEC §37), beside the archive (`issuer/`) or in -o FILE.
    Issuer {
        #[command(subcommand)]
        cmd: commands::issuer::IssuerCommand,
    },
    /// As a host's witness: audit the generation this copy holds without
    /// a key and, only if it passes, cosign it (SPEC §34), beside the
    /// archive (`witness/`) or in -o FILE.
    Witness(commands::witness::WitnessArgs),
    /// As the issuer: sign that this generation is the newest, until a
    /// time (SPEC §34.4), beside the archive (`heartbeat`) or in -o FILE.
    Heartbeat(commands::witness::HeartbeatArgs),
    /// Upload an archive to the object store (a resumable multipart
    /// upload), then audit the remote copy without a key.
    Push(remote::PushArgs),
    /// Download an archive from the object store, audit it, and only then
    /// give it its name.
    Pull(remote::PullArgs),
    /// Print a presigned HTTPS URL of a remote archive, for the browser
    /// viewer (anyone holding it can fetch the encrypted archive until it
    /// expires).
    Presign(remote::PresignArgs),
    /// Rebuild a damaged copy, without a key, from its own recovery data
    /// and (with --from) another copy, entry by entry: every entry checked
    /// against the signed manifest, every header regenerated; the result
    /// is byte for byte the original archive.
    Repair(repair::RepairArgs),
    /// Write one record's bytes to standard output.
    Cat {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The record's path.
        record: String,
        /// Read this generation of the archive's series (its files beside it).
        #[arg(long, value_name = "S")]
        generation: Option<u64>,
        #[command(flatten)]
        keys: KeyOpts,
    },
    /// Extract records (all, or those named) into a folder.
    Extract {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The folder to write into (created if missing).
        #[arg(short, long, value_name = "DIR", required_unless_present = "to_bag")]
        output: Option<PathBuf>,
        /// Write every record into a new BagIt bag (RFC 8493) in DIR
        /// instead: payload under data/, SHA-256 and SHA-512 manifests,
        /// bag-info.txt with the archive's id, issuer, generation and
        /// record count, tag manifests.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["output", "records", "force"])]
        to_bag: Option<PathBuf>,
        /// Records to extract (default: all).
        records: Vec<String>,
        /// Read this generation of the archive's series (its files beside it).
        #[arg(long, value_name = "S")]
        generation: Option<u64>,
        #[command(flatten)]
        keys: KeyOpts,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Rewrite a format 1.0-1.3 archive as format 2.0. Needs a key that
    /// opens it, and the new archive's own keys: at least one --recipient
    /// or --new-passphrase-file (key slots cannot be carried, since
    /// re-wrapping needs the recipients' public keys), and --sign (or an
    /// explicit --unsigned). Records, their facts and render outcomes,
    /// decoders and empty folders are carried; each record's bytes are
    /// checked against its BLAKE3 on the way.
    Convert {
        /// The 1.x archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The format 2.0 archive to write.
        #[arg(short, long, value_name = "NEW")]
        output: PathBuf,
        #[command(flatten)]
        keys: KeyOpts,
        /// Public key of a recipient of the new archive (`NAME.pub`); repeatable.
        #[arg(long = "recipient", short = 'r', value_name = "FILE.pub")]
        recipients: Vec<PathBuf>,
        /// File whose first line is a passphrase that opens the new archive.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
        /// Accept a new passphrase the strength check refuses.
        #[arg(long)]
        allow_weak_passphrase: bool,
        /// Issuer signing key of the new archive (`NAME.key`); required
        /// unless --unsigned.
        #[arg(long, value_name = "ISSUER.key", required_unless_present = "unsigned")]
        sign: Option<PathBuf>,
        /// Write the new archive unsigned.
        #[arg(long, conflicts_with = "sign")]
        unsigned: bool,
        /// Replace NEW if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Show a record as its decoder renders it, in the terminal.
    View {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The record's path.
        record: String,
        #[command(flatten)]
        keys: KeyOpts,
        /// Rows of each table to show (default 40).
        #[arg(long, value_name = "N", conflicts_with = "all")]
        rows: Option<usize>,
        /// Show every row of every table.
        #[arg(long)]
        all: bool,
        /// Print to standard output even when it is a terminal (else the
        /// view goes through `$PAGER`, or `less -R`).
        #[arg(long)]
        no_pager: bool,
    },
    /// Write a record as its decoder renders it to one self-contained HTML file.
    Render {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The record's path.
        record: String,
        /// The HTML file to write.
        #[arg(short, long, value_name = "FILE.html")]
        output: PathBuf,
        #[command(flatten)]
        keys: KeyOpts,
        /// Replace FILE.html if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Write a one-record proof (format 2.0): that this record, with these
    /// bytes, is in the archive the issuer signed; `check-proof` checks it
    /// with no key and no archive.
    Prove {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The record's path.
        record: String,
        /// The proof file to write.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        keys: KeyOpts,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Write an archive's preservation history as PREMIS 3 XML: the
    /// archive, its packing and signature; with a key, also each record
    /// and its format identification and rendering, and a bag's validation.
    Premis {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// The XML file to write.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        keys: KeyOpts,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Show an archive's public facts.
    Info {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Location,
        /// Show this generation of the archive's series (its files beside it).
        #[arg(long, value_name = "S")]
        generation: Option<u64>,
        /// With a key: also the records' formats (PRONOM PUIDs).
        #[command(flatten)]
        keys: KeyOpts,
    },
    /// List the generations of a series (files or a folder): sequence,
    /// time, records, bytes, with a key what each added, changed, removed.
    Log(commands::generations::LogArgs),
    /// List the records that differ between two generations of a series.
    Diff(commands::generations::DiffArgs),
    /// Write one self-contained file holding a generation of a series (the
    /// newest by default), as the series' next generation.
    Compact(commands::generations::CompactArgs),
    /// Change a format 2.0 archive's key slots without re-encrypting its
    /// records: a new generation whose records are the same bytes
    /// (`-o NEW`, or `--in-place`: only the file's tail is rewritten).
    Rekey(commands::rekey::RekeyArgs),
    /// Open an archive (or nothing) in the desktop viewer window; keys
    /// given are tried at once, else the window asks.
    #[cfg(feature = "gui")]
    Open {
        /// The archive: a file or s3://BUCKET/KEY.
        archive: Option<PathBuf>,
        #[command(flatten)]
        keys: KeyOpts,
    },
    /// Serve decoder calls on stdin/stdout: the worker process that runs
    /// WebAssembly decoders away from key material (started by legation
    /// itself; see the reader's `isolated` module).
    #[command(hide = true)]
    DecodeWorker,
    /// Write a decoder of your own: `decoder new NAME` makes a crate,
    /// `decoder build` builds its module reproducibly.
    Decoder {
        #[command(subcommand)]
        action: DecoderAction,
    },
    /// Print the format specification (the archive's copy, or the built-in one).
    Spec {
        /// An archive (a file or s3://BUCKET/KEY) whose carried SPEC.md to print.
        archive: Option<Location>,
        /// The issuer public key the archive's signature must come from.
        #[arg(long, value_name = "ISSUER.pub")]
        issuer: Option<PathBuf>,
    },
    /// Check a one-record proof (format 2.0) with no archive and no key:
    /// exit 0 when it holds, 1 when it does not.
    CheckProof {
        /// The proof file (`legation prove` writes one).
        file: PathBuf,
        /// A copy of the record, checked against the proven size and BLAKE3.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
        /// The issuer public key that must have signed.
        #[arg(long, value_name = "ISSUER.pub")]
        issuer: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum KeygenWhat {
    /// An X25519 key pair for someone who may open archives.
    Recipient {
        /// Writes NAME.key (secret, mode 0600) and NAME.pub.
        #[arg(short, long, value_name = "NAME")]
        output: PathBuf,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
        /// A post-quantum key pair: X-Wing, ML-KEM-768 with X25519
        /// (format 2.1, SPEC §7.11); safe while either half holds.
        #[arg(long)]
        pq: bool,
    },
    /// An Ed25519 key pair for the institution that signs archives.
    Issuer {
        /// Writes NAME.key (secret, mode 0600) and NAME.pub.
        #[arg(short, long, value_name = "NAME")]
        output: PathBuf,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
        /// A hybrid key pair: Ed25519 and ML-DSA-65 (FIPS 204; format
        /// 2.2, SPEC §27.4): archives carry both signatures, and a pin of
        /// the key needs both.
        #[arg(long)]
        pq: bool,
    },
    /// A random passphrase of 130 bits.
    Passphrase,
    /// An Ed25519 key pair for a host that cosigns what it holds.
    Witness {
        /// Writes NAME.key (secret, mode 0600) and NAME.pub.
        #[arg(short, long, value_name = "NAME")]
        output: PathBuf,
        /// Who holds it, written in the key files' comment line.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
        /// A hybrid key pair: Ed25519 and ML-DSA-65 (format 2.3, SPEC
        /// §34.1): its cosignatures carry both lines, and a reader given
        /// its public key counts them only with both.
        #[arg(long)]
        pq: bool,
    },
}

/// `--level`: one of the reader's level names (listed in the help and
/// in clap's error for any other), parsed as the reader parses them.
fn level_parser() -> impl clap::builder::TypedValueParser<Value = legation_reader::Level> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["fixity", "content", "render"])
        .try_map(|s| s.parse::<legation_reader::Level>())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.stats {
        location::enable_stats();
    }
    // Packing and key generation read the caller's files: whatever fails
    // there is an input or I/O problem (exit 2), never damage.
    let writes = matches!(
        cli.command,
        Command::Pack { .. }
            | Command::Keygen { .. }
            | Command::Issuer { .. }
            | Command::Push(_)
            | Command::Presign(_)
            | Command::Share { .. }
    );
    let result = match cli.command {
        Command::Keygen { what } => match what {
            KeygenWhat::Recipient { output, force, pq } => {
                if pq {
                    commands::keygen::keygen_pq(&output, force)
                } else {
                    commands::keygen::keygen(&output, false, force)
                }
            }
            KeygenWhat::Issuer { output, force, pq } => {
                if pq {
                    commands::keygen::keygen_issuer_pq(&output, force)
                } else {
                    commands::keygen::keygen(&output, true, force)
                }
            }
            KeygenWhat::Passphrase => commands::keygen::keygen_passphrase(),
            KeygenWhat::Witness {
                output,
                comment,
                force,
                pq,
            } => commands::witness::keygen(&output, comment.as_deref(), force, pq),
        },
        Command::Share {
            archive,
            keys,
            output,
            sheet,
            holder_name,
            from_words,
            force,
        } => commands::share::share(commands::share::ShareArgs {
            archive,
            keys,
            output,
            sheet,
            holder: holder_name,
            from_words,
            force,
        }),
        Command::Pack {
            src,
            quorum,
            output,
            recipients,
            passphrase_file,
            sign,
            update,
            update_identities,
            rebase,
            handovers,
            skip_unsupported,
            allow_weak_passphrase,
            decoders,
            decoder_fuel,
            decoder_memory,
            decoder_depth,
            force,
            embed_viewer,
            format,
            from_bag,
            not_a_bag,
        } => commands::pack::pack(commands::pack::PackArgs {
            quorum,
            from_bag,
            not_a_bag,
            embed_viewer,
            v2: format == "2.0",
            decoders,
            limits: (decoder_fuel, decoder_memory, decoder_depth),
            src,
            output,
            recipients,
            passphrase_file,
            sign,
            skip_unsupported,
            allow_weak_passphrase,
            force,
            update,
            update_identities,
            rebase,
            handovers,
        }),
        Command::Ls {
            archive,
            generation,
            keys,
            json,
        } => match commands::generations::route(&archive, generation) {
            Some(p) => commands::generations::ls(&[p], generation, &keys, json),
            None => commands::ls::ls(&archive, &keys, json),
        },
        Command::Verify {
            archives,
            keys,
            level,
            sample,
            seed,
            json,
            freshness,
            succession,
        } => commands::verify::verify(&commands::verify::VerifyArgs {
            archives: &archives,
            issuer: None,
            keys: &keys,
            level,
            sample,
            seed,
            json,
            succession: &succession,
        })
        .and_then(|code| match freshness.asked() {
            true => commands::witness::freshness(&archives, &keys, &freshness, code, json),
            false => Ok(code),
        }),
        Command::Witness(args) => commands::witness::witness(&args),
        Command::Heartbeat(args) => commands::witness::heartbeat(&args),
        Command::Issuer { cmd } => commands::issuer::issuer(&cmd),
        Command::Push(args) => remote::push(&args),
        Command::Pull(args) => remote::pull(&args),
        Command::Presign(args) => remote::presign(&args),
        Command::Repair(args) => repair::repair(&args),
        Command::Cat {
            archive,
            record,
            generation,
            keys,
        } => match commands::generations::route(&archive, generation) {
            Some(p) => commands::generations::cat(&[p], &record, generation, &keys),
            None => commands::cat::cat(&archive, &record, &keys),
        },
        Command::Extract {
            archive,
            output,
            to_bag,
            records,
            generation,
            keys,
            force,
        } => match (to_bag, output) {
            (Some(bag), _) => commands::extract::to_bag(&archive, &bag, &keys),
            (None, Some(output)) => match commands::generations::route(&archive, generation) {
                Some(p) => commands::generations::extract(
                    &[p],
                    &output,
                    &records,
                    generation,
                    &keys,
                    force,
                ),
                None => commands::extract::extract(&archive, &output, &records, &keys, force),
            },
            (None, None) => unreachable!("clap requires --output or --to-bag"),
        },
        Command::Convert {
            archive,
            output,
            keys,
            recipients,
            new_passphrase_file,
            allow_weak_passphrase,
            sign,
            unsigned,
            force,
        } => commands::convert::convert(commands::convert::ConvertArgs {
            archive,
            output,
            keys,
            recipients,
            new_passphrase_file,
            allow_weak_passphrase,
            sign,
            unsigned,
            force,
        }),
        Command::Prove {
            archive,
            record,
            output,
            keys,
            force,
        } => commands::prove::prove(&archive, &record, &output, &keys, force),
        Command::Premis {
            archive,
            output,
            keys,
            force,
        } => commands::premis::premis(&archive, &output, &keys, force),
        Command::Info {
            archive,
            generation,
            keys,
        } => match commands::generations::route(&archive, generation) {
            Some(p) => commands::generations::info(&[p], generation, &keys),
            None => commands::info::info(&archive, &keys),
        },
        Command::Log(a) => commands::generations::log(&a),
        Command::Diff(a) => commands::generations::diff(&a),
        Command::Compact(a) => commands::generations::compact(&a),
        Command::Rekey(a) => commands::rekey::rekey(&a),
        Command::View {
            archive,
            record,
            keys,
            rows,
            all,
            no_pager,
        } => commands::view::view(
            &archive,
            &record,
            &keys,
            commands::view::ViewOptions {
                rows: if all {
                    usize::MAX
                } else {
                    rows.unwrap_or(view::TERMINAL_ROWS)
                },
                pager: !no_pager,
            },
        ),
        Command::Render {
            archive,
            record,
            output,
            keys,
            force,
        } => commands::render::render(&archive, &record, &output, &keys, force),
        Command::CheckProof {
            file,
            record,
            issuer,
        } => commands::check_proof::check_proof(&file, record.as_deref(), issuer.as_deref()),
        Command::Decoder {
            action: DecoderAction::New { name, sdk },
        } => commands::decoder::new(&name, sdk.as_deref()),
        Command::Decoder {
            action: DecoderAction::Build { dir },
        } => commands::decoder::build(&dir),
        Command::Spec { archive, issuer } => {
            commands::spec::spec(archive.as_ref(), issuer.as_deref())
        }
        #[cfg(feature = "gui")]
        Command::Open { archive, keys } => commands::open::open_viewer(archive, &keys),
        Command::DecodeWorker => {
            return match legation_reader::isolated::serve_stdio() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("legation decode-worker: {e}");
                    ExitCode::from(2)
                }
            };
        }
    };
    location::print_stats();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors can quote an archive or a decoder (a record's path,
            // a refusal message): shown, never obeyed by the terminal.
            eprintln!("legation: error: {}", view::sanitize(&e.to_string()));
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {}", view::sanitize(&cause.to_string()));
            }
            ExitCode::from(if writes { 2 } else { exit_code(&e) })
        }
    }
}

/// Maps an error to the documented exit code.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    use legation_reader::ErrorKind as K;
    for cause in e.chain() {
        if let Some(r) = cause.downcast_ref::<legation_reader::Error>() {
            return match r.kind() {
                K::Damaged | K::Forged => 1,
                K::WrongKey => 3,
                _ => 2,
            };
        }
        if let Some(f) = cause.downcast_ref::<legation_format::Error>() {
            use legation_format::Error as F;
            return match f {
                F::Container { .. }
                | F::Json { .. }
                | F::Invalid { .. }
                | F::Decrypt { .. }
                | F::HostileKdf { .. } => 1,
                _ => 2,
            };
        }
    }
    2
}
