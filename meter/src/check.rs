//! What a decoder module must be: validation and the ABI's shape.

use wasmparser::{
    ExternalKind, FuncType, MemoryType, Operator, Parser, Payload, ValType, Validator, WasmFeatures,
};

use crate::{MeterConfig, MeterError, DECODER_SECTION, METER_SECTION};

/// A reasonable default for `check_decoder_module`'s size limit: 16 MiB.
pub const MAX_MODULE_BYTES: usize = 16 << 20;

/// What [`check_decoder_module`] found in a module it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleFacts {
    /// The `legation.decoder` custom section: the decoder's JSON
    /// description, as text (not interpreted here).
    pub description: String,
    /// Names of all exports, in the module's order.
    pub exports: Vec<String>,
    /// Whether the module exports `legation_decode_page`.
    pub decode_page: bool,
    /// The memory's declared minimum, in 64 KiB pages.
    pub memory_min_pages: u64,
    /// The memory's declared maximum, in 64 KiB pages, if any.
    pub memory_max_pages: Option<u64>,
    /// The limits recorded in a `legation.meter` section, if the module
    /// has one.
    pub metered: Option<MeterConfig>,
}

/// The features a decoder may use: WebAssembly 2.0, vector instructions
/// included (SPEC §12.2, format 1.3; relaxed SIMD, whose results differ
/// between processors, is not in 2.0), plus three
/// that are accepted by the validator only so that they can be refused
/// with a precise error: tail calls, multiple memories and memory64.
pub(crate) const ACCEPTED_FEATURES: WasmFeatures = WasmFeatures::WASM2
    .union(WasmFeatures::TAIL_CALL)
    .union(WasmFeatures::MULTI_MEMORY)
    .union(WasmFeatures::MEMORY64);

/// Whether `module`, a module that [`check_decoder_module`] accepts, uses
/// WebAssembly's vector instructions or the `v128` type anywhere. An
/// archive that holds such a decoder says format version 1.3 (SPEC §5.3,
/// §12.2): readers of 1.0 to 1.2 refuse the module.
pub fn uses_vectors(module: &[u8]) -> bool {
    Validator::new_with_features(ACCEPTED_FEATURES.difference(WasmFeatures::SIMD))
        .validate_all(module)
        .is_err()
}

/// One ABI export and the function type it must have.
struct AbiFunction {
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
    text: &'static str,
    required: bool,
}

const ABI_FUNCTIONS: [AbiFunction; 3] = [
    AbiFunction {
        name: "legation_alloc",
        params: &[ValType::I32],
        results: &[ValType::I32],
        text: "a function (i32) -> i32",
        required: true,
    },
    AbiFunction {
        name: "legation_decode",
        params: &[ValType::I32, ValType::I32],
        results: &[ValType::I64],
        text: "a function (i32, i32) -> i64",
        required: true,
    },
    AbiFunction {
        name: "legation_decode_page",
        params: &[ValType::I32, ValType::I32, ValType::I32],
        results: &[ValType::I64],
        text: "a function (i32, i32, i32) -> i64",
        required: false,
    },
];

/// Checks that `module` is a decoder module: at most `max_bytes` long,
/// valid WebAssembly 2.0, no imports, no start function, one
/// 32-bit memory exported as `memory`, `legation_alloc`,
/// `legation_decode` and optionally `legation_decode_page` exported with
/// the ABI's function types, no tail calls or `table.grow`, and exactly
/// one UTF-8 `legation.decoder` custom section.
///
/// Metered modules pass too; [`ModuleFacts::metered`] says so.
pub fn check_decoder_module(module: &[u8], max_bytes: usize) -> Result<ModuleFacts, MeterError> {
    if module.len() > max_bytes {
        return Err(MeterError::TooLarge {
            size: module.len(),
            limit: max_bytes,
        });
    }
    let mut validator = Validator::new_with_features(ACCEPTED_FEATURES);
    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut memory: Option<MemoryType> = None;
    let mut memory_count = 0u32;
    let mut exports = Vec::new();
    let mut found = [false; ABI_FUNCTIONS.len()];
    let mut memory_exported = false;
    let mut description: Option<&[u8]> = None;
    let mut metered: Option<MeterConfig> = None;
    let mut function = 0u32;

    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|e| MeterError::invalid(&e))?;
        let valid = validator
            .payload(&payload)
            .map_err(|e| MeterError::invalid(&e))?;
        match payload {
            Payload::ImportSection(reader) => {
                if let Some(import) = reader.into_imports().next() {
                    let import = import.map_err(|e| MeterError::invalid(&e))?;
                    return Err(MeterError::HasImports {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                    });
                }
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group.map_err(|e| MeterError::invalid(&e))?;
                    for ty in group.into_types() {
                        // Without the GC proposal every type is a function
                        // type; the validator has already said so.
                        types.push(ty.composite_type.unwrap_func().clone());
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty.map_err(|e| MeterError::invalid(&e))?);
                }
            }
            Payload::MemorySection(reader) => {
                for ty in reader {
                    let ty = ty.map_err(|e| MeterError::invalid(&e))?;
                    memory_count += 1;
                    memory.get_or_insert(ty);
                }
                if memory_count > 1 {
                    return Err(MeterError::MultipleMemories {
                        count: memory_count,
                    });
                }
                if memory.is_some_and(|m| m.memory64) {
                    return Err(MeterError::Memory64);
                }
            }
            Payload::StartSection { .. } => return Err(MeterError::HasStart),
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| MeterError::invalid(&e))?;
                    exports.push(export.name.to_string());
                    if export.name == "memory" {
                        if export.kind != ExternalKind::Memory {
                            return Err(MeterError::WrongSignature {
                                name: export.name.to_string(),
                                expected: "a memory",
                                found: kind_text(export.kind).to_string(),
                            });
                        }
                        memory_exported = true;
                        continue;
                    }
                    let Some(at) = ABI_FUNCTIONS.iter().position(|f| f.name == export.name) else {
                        continue;
                    };
                    let abi = &ABI_FUNCTIONS[at];
                    let wrong = |found: String| MeterError::WrongSignature {
                        name: export.name.to_string(),
                        expected: abi.text,
                        found,
                    };
                    if export.kind != ExternalKind::Func {
                        return Err(wrong(kind_text(export.kind).to_string()));
                    }
                    // Validated: the index names a defined function (there
                    // are no imports) whose type index is in range.
                    let ty = &types[func_types[export.index as usize] as usize];
                    if ty.params() != abi.params || ty.results() != abi.results {
                        return Err(wrong(format!("a function {}", signature_text(ty))));
                    }
                    found[at] = true;
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = body
                    .get_operators_reader()
                    .map_err(|e| MeterError::invalid(&e))?;
                while !ops.eof() {
                    let op = ops.read().map_err(|e| MeterError::invalid(&e))?;
                    let refused = match op {
                        Operator::ReturnCall { .. } => "return_call",
                        Operator::ReturnCallIndirect { .. } => "return_call_indirect",
                        Operator::ReturnCallRef { .. } => "return_call_ref",
                        Operator::TableGrow { .. } => "table.grow",
                        _ => continue,
                    };
                    return Err(MeterError::RefusedOperator {
                        function,
                        operator: refused,
                    });
                }
                if let wasmparser::ValidPayload::Func(func, body) = valid {
                    func.into_validator(Default::default())
                        .validate(&body)
                        .map_err(|e| MeterError::invalid(&e))?;
                }
                function += 1;
            }
            Payload::CustomSection(reader) => match reader.name() {
                DECODER_SECTION => {
                    let previous = description.replace(reader.data());
                    if previous.is_some() {
                        return Err(MeterError::DuplicateSection {
                            name: DECODER_SECTION,
                        });
                    }
                }
                METER_SECTION => {
                    let config = MeterConfig::from_section(reader.data()).ok_or(
                        MeterError::BadMeterSection {
                            len: reader.data().len(),
                        },
                    )?;
                    if metered.replace(config).is_some() {
                        return Err(MeterError::DuplicateSection {
                            name: METER_SECTION,
                        });
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    for (abi, found) in ABI_FUNCTIONS.iter().zip(found) {
        if abi.required && !found {
            return Err(MeterError::MissingExport { name: abi.name });
        }
    }
    if !memory_exported {
        return Err(MeterError::MissingExport { name: "memory" });
    }
    // The validator has checked that an exported memory exists.
    let memory = memory.ok_or(MeterError::MissingExport { name: "memory" })?;
    let description = description.ok_or(MeterError::MissingDecoderSection)?;
    let description = std::str::from_utf8(description)
        .map_err(|_| MeterError::DecoderSectionNotUtf8)?
        .to_string();
    Ok(ModuleFacts {
        description,
        exports,
        decode_page: found[2],
        memory_min_pages: memory.initial,
        memory_max_pages: memory.maximum,
        metered,
    })
}

fn kind_text(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "a function",
        ExternalKind::Table => "a table",
        ExternalKind::Memory => "a memory",
        ExternalKind::Global => "a global",
        ExternalKind::Tag => "a tag",
    }
}

/// `(i32, i32) -> i64`, the way the error messages write function types.
fn signature_text(ty: &FuncType) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let results = match ty.results() {
        [one] => one.to_string(),
        many => format!("({})", list(many)),
    };
    format!("({}) -> {}", list(ty.params()), results)
}
