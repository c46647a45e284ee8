//! Proof that a module's `legation.meter` record is true: strip the
//! instrumentation, meter the result again with the recorded limits and
//! compare.

use std::ops::Range;

use wasm_encoder::{CodeSection, Encode, MemorySection, Module};
use wasmparser::{BinaryReader, BlockType, FunctionBody, Operator, ValType};

use crate::meter::{raw, Layout, Section};
use crate::{
    check_decoder_module, meter, meter_as, FuelIn, MeterConfig, MeterError, METER_SECTION,
};

/// Checks that `module` is a decoder module (as
/// [`check_decoder_module`] does, with the same size limit) that really
/// enforces the limits its `legation.meter` section records, and returns
/// them.
///
/// The module is accepted only if it is exactly what [`meter`] makes of
/// some decoder module with those limits: the inserted code is removed,
/// the remainder metered again, and every section but the custom ones
/// must come out byte for byte the same. (Custom sections cannot change
/// what the code does; the `name` section's label numbers differ.) A host
/// that runs decoders from an archive it does not trust calls this rather
/// than reading the record with [`is_metered`](crate::is_metered).
pub fn verify_metered(module: &[u8], max_bytes: usize) -> Result<MeterConfig, MeterError> {
    verified_original(module, max_bytes).map(|(cfg, _)| cfg)
}

/// The limits and the module before metering, once the metering is proven.
fn verified_original(
    module: &[u8],
    max_bytes: usize,
) -> Result<(MeterConfig, Vec<u8>), MeterError> {
    let facts = check_decoder_module(module, max_bytes)?;
    let cfg = facts.metered.ok_or(MeterError::NotMetered)?;
    let original = strip(module).ok_or(MeterError::MeterMismatch)?;
    let again = meter(&original, &cfg).map_err(|_| MeterError::MeterMismatch)?;
    if code_sections(module) != code_sections(&again) {
        return Err(MeterError::MeterMismatch);
    }
    Ok((cfg, original))
}

/// The sections that decide what the module does: all but custom ones.
fn code_sections(module: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .filter_map(|payload| match payload {
            Ok(payload) => payload.as_section().map(Ok),
            Err(e) => Some(Err(e)),
        })
        .filter(|section| !matches!(section, Ok((0, _))))
        .map(|section| section.ok().map(|(id, range)| (id, &module[range])))
        .collect()
}

/// The module with the counters, the inserted code, the scratch locals,
/// the wrapper blocks and the record removed, or `None` if it does not
/// have the shape of a metered module. Appended block types and the
/// capped memory stay: metering again reuses and keeps them.
fn strip(module: &[u8]) -> Option<Vec<u8>> {
    let layout = Layout::parse(module).ok()?;
    let globals = layout.global_section.as_ref()?;
    let kept_globals = globals.count.checked_sub(2)?;
    let counters = Counters {
        fuel: kept_globals,
        depth: kept_globals + 1,
    };

    let mut code = CodeSection::new();
    for (index, body) in layout.bodies.iter().enumerate() {
        let ty = layout.types.get(*layout.func_types.get(index)? as usize)?;
        let params = u32::try_from(ty.params().len()).ok()?;
        code.raw(&strip_body(module, body, params, &counters)?);
    }

    let mut out = Module::new();
    for section in &layout.sections {
        match section {
            Section::Raw { id: 0, range } => {
                let mut reader = BinaryReader::new(&module[range.clone()], range.start);
                if reader.read_string().ok()? != METER_SECTION {
                    out.section(&raw(0, &module[range.clone()]));
                }
            }
            Section::Raw { id, range } => {
                out.section(&raw(*id, &module[range.clone()]));
            }
            Section::Names { range } => {
                out.section(&raw(0, &module[range.clone()]));
            }
            Section::Type => {
                let types = layout.type_section.as_ref()?;
                let mut data = Vec::new();
                types.count.encode(&mut data);
                data.extend_from_slice(&module[types.items.clone()]);
                out.section(&raw(1, &data));
            }
            Section::Memory => {
                let memory = layout.memory?;
                let mut section = MemorySection::new();
                section.memory(wasm_encoder::MemoryType {
                    minimum: memory.initial,
                    maximum: memory.maximum,
                    memory64: memory.memory64,
                    shared: memory.shared,
                    page_size_log2: memory.page_size_log2,
                });
                out.section(&section);
            }
            Section::Global => {
                if kept_globals == 0 {
                    continue;
                }
                // The bytes of the globals before the last two.
                let mut reader =
                    BinaryReader::new(&module[globals.items.clone()], globals.items.start);
                for _ in 0..kept_globals {
                    reader.read::<wasmparser::Global>().ok()?;
                }
                let mut data = Vec::new();
                kept_globals.encode(&mut data);
                data.extend_from_slice(&module[globals.items.start..reader.original_position()]);
                out.section(&raw(6, &data));
            }
            Section::Code => {
                out.section(&code);
            }
        }
    }
    Some(out.finish())
}

/// The counters' global indices in a metered module.
struct Counters {
    fuel: u32,
    depth: u32,
}

/// What an inserted sequence starting at some instruction is.
enum Inserted {
    /// A charge, a check, the depth increment or decrement.
    Fixed(usize),
    /// A bulk operator's charge, which uses the scratch local.
    Operand(usize),
}

/// The body without the inserted code, or `None` if it is not the
/// instrumentation of one.
fn strip_body(
    module: &[u8],
    body: &FunctionBody<'_>,
    params: u32,
    counters: &Counters,
) -> Option<Vec<u8>> {
    let mut reader = body.get_binary_reader();
    let groups = reader.read_var_u32().ok()?;
    let groups_start = reader.original_position();
    let mut locals = u64::from(params);
    let mut last_group = None;
    let mut last_group_start = groups_start;
    for _ in 0..groups {
        last_group_start = reader.original_position();
        let count = reader.read_var_u32().ok()?;
        let ty = reader.read::<ValType>().ok()?;
        locals += u64::from(count);
        last_group = Some((count, ty));
    }
    let groups_end = reader.original_position();
    // The scratch local, if there is one, is a group of its own at the end.
    let scratch = (last_group == Some((1, ValType::I32)))
        .then(|| u32::try_from(locals - 1).ok())
        .flatten();

    let mut ops: Vec<(Operator<'_>, Range<usize>)> = Vec::new();
    let mut operators = wasmparser::OperatorsReader::new(reader);
    while !operators.eof() {
        let (op, start) = operators.read_with_offset().ok()?;
        if let Some(last) = ops.last_mut() {
            last.1.end = start;
        }
        ops.push((op, start..start));
    }
    ops.last_mut()?.1.end = body.range().end;

    // The prologue (increment 10, charge 4, check 6) and the exit before
    // the final `end` (check 6, decrement 4) are always there.
    let last = ops.len() - 1;
    if ops.len() < 31 {
        return None;
    }
    // A wrapper block follows the prologue directly, and its `end` is
    // directly followed by the exit; an original block there would have a
    // charge after its `end`.
    let wrapper =
        matches!(ops[20].0, Operator::Block { .. }) && matching_end(&ops, 20) == Some(last - 11);

    let mut kept = Vec::with_capacity(ops.len());
    let mut used_scratch = false;
    let mut at = 0;
    while at < ops.len() {
        match inserted(&ops[at..], counters, scratch) {
            Some(Inserted::Fixed(len)) => at += len,
            Some(Inserted::Operand(len)) => {
                used_scratch = true;
                at += len;
            }
            None => {
                if touches_counters(&ops[at].0, counters) {
                    return None;
                }
                if !(wrapper && (at == 20 || at == last)) {
                    kept.push(at);
                }
                at += 1;
            }
        }
    }

    let mut out = Vec::with_capacity(body.range().len());
    if used_scratch {
        (groups - 1).encode(&mut out);
        out.extend_from_slice(&module[groups_start..last_group_start]);
    } else {
        out.extend_from_slice(&module[body.range().start..groups_end]);
    }
    for at in kept {
        out.extend_from_slice(&module[ops[at].1.clone()]);
    }
    Some(out)
}

/// The index of the `end` that closes the block opened at `open`.
fn matching_end(ops: &[(Operator<'_>, Range<usize>)], open: usize) -> Option<usize> {
    let mut depth = 0u32;
    for (at, (op, _)) in ops.iter().enumerate().skip(open) {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => depth += 1,
            Operator::End => {
                depth -= 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether an instruction left after stripping refers to a counter,
/// which original code cannot (the counters did not exist).
fn touches_counters(op: &Operator<'_>, counters: &Counters) -> bool {
    match op {
        Operator::GlobalGet { global_index } | Operator::GlobalSet { global_index } => {
            *global_index == counters.fuel || *global_index == counters.depth
        }
        _ => false,
    }
}

/// The inserted sequence that starts `ops`, if any.
fn inserted(
    ops: &[(Operator<'_>, Range<usize>)],
    counters: &Counters,
    scratch: Option<u32>,
) -> Option<Inserted> {
    use Operator as O;
    let (fuel, depth) = (counters.fuel, counters.depth);
    let op = |at: usize| ops.get(at).map(|(op, _)| op);
    let get = |at: usize, global: u32| matches!(op(at), Some(O::GlobalGet { global_index }) if *global_index == global);
    let set = |at: usize, global: u32| matches!(op(at), Some(O::GlobalSet { global_index }) if *global_index == global);
    let trap_if = |at: usize| {
        matches!(
            (op(at), op(at + 1), op(at + 2)),
            (
                Some(O::If {
                    blockty: BlockType::Empty
                }),
                Some(O::Unreachable),
                Some(O::End)
            )
        )
    };
    // Charge: global.get $fuel; i64.const c; i64.sub; global.set $fuel.
    if get(0, fuel)
        && matches!(op(1), Some(O::I64Const { .. }))
        && matches!(op(2), Some(O::I64Sub))
        && set(3, fuel)
    {
        return Some(Inserted::Fixed(4));
    }
    // Check: global.get $fuel; i64.const 0; i64.lt_s; if; unreachable; end.
    if get(0, fuel)
        && matches!(op(1), Some(O::I64Const { value: 0 }))
        && matches!(op(2), Some(O::I64LtS))
        && trap_if(3)
    {
        return Some(Inserted::Fixed(6));
    }
    // Increment: global.get $depth; i32.const 1; i32.add; global.set
    // $depth; global.get $depth; i32.const max; i32.gt_u; if; unreachable;
    // end.
    if get(0, depth)
        && matches!(op(1), Some(O::I32Const { value: 1 }))
        && matches!(op(2), Some(O::I32Add))
        && set(3, depth)
        && get(4, depth)
        && matches!(op(5), Some(O::I32Const { .. }))
        && matches!(op(6), Some(O::I32GtU))
        && trap_if(7)
    {
        return Some(Inserted::Fixed(10));
    }
    // Decrement: global.get $depth; i32.const 1; i32.sub; global.set $depth.
    if get(0, depth)
        && matches!(op(1), Some(O::I32Const { value: 1 }))
        && matches!(op(2), Some(O::I32Sub))
        && set(3, depth)
    {
        return Some(Inserted::Fixed(4));
    }
    // Operand charge: local.tee $s; global.get $fuel; local.get $s;
    // i64.extend_i32_u; i64.const k; i64.shr_u or i64.shl; i64.sub;
    // global.set $fuel.
    let s = scratch?;
    if matches!(op(0), Some(O::LocalTee { local_index }) if *local_index == s)
        && get(1, fuel)
        && matches!(op(2), Some(O::LocalGet { local_index }) if *local_index == s)
        && matches!(op(3), Some(O::I64ExtendI32U))
        && matches!(op(4), Some(O::I64Const { .. }))
        && matches!(op(5), Some(O::I64ShrU | O::I64Shl))
        && matches!(op(6), Some(O::I64Sub))
        && set(7, fuel)
    {
        return Some(Inserted::Operand(8));
    }
    None
}

/// Verifies `module` as [`verify_metered`] does and returns its limits
/// with the module a host runs in its place: the same original code
/// metered with the same limits but the fuel kept in a local of each
/// function ([`FuelIn::Local`]). The two count the same fuel at the same
/// places and check it at the same places, so every call ends the same
/// way in both, trapping at the same instruction or finishing with the
/// same result; only the engine's work per charge differs.
pub fn runnable(module: &[u8], max_bytes: usize) -> Result<(MeterConfig, Vec<u8>), MeterError> {
    let (cfg, original) = verified_original(module, max_bytes)?;
    let local = meter_as(&original, &cfg, FuelIn::Local)?;
    Ok((cfg, local))
}
