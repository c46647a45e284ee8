//! The rewriter: counters in, memory capped, everything else copied.
//!
//! Sections the rewriter does not change are copied byte for byte, and so
//! are the original instructions of every function body; only the
//! inserted instructions, the two new globals, the memory limits, one
//! local per function that needs a scratch slot and, for functions with
//! several results that branch to their own label, one function type per
//! distinct result list are encoded afresh.

use std::borrow::Cow;
use std::ops::Range;

use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, CustomSection, Encode, GlobalType, IndirectNameMap,
    InstructionSink, MemorySection, Module, NameMap, NameSection, RawSection, ValType,
};
use wasmparser::{BinaryReader, FuncType, FunctionBody, Operator, Parser, Payload, Validator};

use crate::check::ACCEPTED_FEATURES;
use crate::{
    check_decoder_module, FuelIn, MeterConfig, MeterError, LIMIT_DEPTH, LIMIT_EXPORT, LIMIT_FUEL,
    LIMIT_MEMORY, METER_SECTION,
};

pub(crate) type Result<T, E = MeterError> = std::result::Result<T, E>;

/// Errors of wasmparser, as [`MeterError::Invalid`]. (The module has
/// been checked, so these cannot happen; no public `From` impl is wanted.)
pub(crate) trait OrInvalid<T> {
    fn or_invalid(self) -> Result<T, MeterError>;
}

impl<T> OrInvalid<T> for wasmparser::Result<T> {
    fn or_invalid(self) -> Result<T, MeterError> {
        self.map_err(|e| MeterError::invalid(&e))
    }
}

/// The largest memory a 32-bit memory can have, in 64 KiB pages.
const MAX_PAGES_32: u32 = 1 << 16;

const TYPE: u8 = 1;
const GLOBAL: u8 = 6;
const EXPORT: u8 = 7;
/// Section ids that must come after the global section.
const AFTER_GLOBAL: [u8; 6] = [7, 8, 9, 10, 11, 12];

/// Rewrites the decoder module `module` so that it enforces `cfg` itself,
/// as the crate documentation describes.
///
/// The module is first checked with
/// [`check_decoder_module`](crate::check_decoder_module) (without a size
/// limit) and refused if it is already metered; the result is validated
/// before it is returned.
pub fn meter(module: &[u8], cfg: &MeterConfig) -> Result<Vec<u8>, MeterError> {
    meter_as(module, cfg, FuelIn::Global)
}

/// [`meter`], with the fuel kept where `form` says: [`FuelIn::Global`]
/// is what archives store, [`FuelIn::Local`] the faster equivalent that
/// hosts run (see [`runnable`](crate::runnable)).
pub fn meter_as(module: &[u8], cfg: &MeterConfig, form: FuelIn) -> Result<Vec<u8>, MeterError> {
    let facts = check_decoder_module(module, usize::MAX)?;
    if facts.metered.is_some() {
        return Err(MeterError::AlreadyMetered);
    }
    if i64::try_from(cfg.fuel).is_err() {
        return Err(MeterError::FuelTooLarge { fuel: cfg.fuel });
    }
    if cfg.max_memory_pages > MAX_PAGES_32 {
        return Err(MeterError::MemoryCapTooLarge {
            pages: cfg.max_memory_pages,
        });
    }
    if facts.memory_min_pages > u64::from(cfg.max_memory_pages) {
        return Err(MeterError::MemoryOverCap {
            minimum: facts.memory_min_pages,
            cap: cfg.max_memory_pages,
        });
    }
    let out = Layout::parse(module)?.emit(cfg, form)?;
    Validator::new_with_features(ACCEPTED_FEATURES)
        .validate_all(&out)
        .map_err(|e| MeterError::OutputInvalid {
            message: e.message().to_string(),
            offset: e.offset(),
        })?;
    Ok(out)
}

/// A section whose item count the rewriter changes: the count and the
/// byte range of the items after it.
#[derive(Clone)]
pub(crate) struct Counted {
    pub(crate) count: u32,
    pub(crate) items: Range<usize>,
}

impl Counted {
    fn read(module: &[u8], range: Range<usize>) -> Result<Self> {
        let mut reader = BinaryReader::new(&module[range.clone()], range.start);
        let count = reader.read_var_u32().or_invalid()?;
        Ok(Counted {
            count,
            items: reader.original_position()..range.end,
        })
    }
}

/// One section of the input, in order.
pub(crate) enum Section {
    /// Copied unchanged.
    Raw { id: u8, range: Range<usize> },
    /// Function types appended for wrapper blocks.
    Type,
    /// The memory's maximum capped.
    Memory,
    /// The two counters appended.
    Global,
    /// Every body instrumented.
    Code,
    /// The `name` custom section: copied unchanged unless it names
    /// labels, whose indices the inserted blocks shift.
    Names { range: Range<usize> },
}

/// What the rewriter needs to know about a (checked) decoder module.
pub(crate) struct Layout<'a> {
    pub(crate) module: &'a [u8],
    pub(crate) sections: Vec<Section>,
    pub(crate) types: Vec<FuncType>,
    pub(crate) type_section: Option<Counted>,
    pub(crate) func_types: Vec<u32>,
    pub(crate) global_section: Option<Counted>,
    pub(crate) memory: Option<wasmparser::MemoryType>,
    pub(crate) bodies: Vec<FunctionBody<'a>>,
}

impl<'a> Layout<'a> {
    pub(crate) fn parse(module: &'a [u8]) -> Result<Self> {
        let mut layout = Layout {
            module,
            sections: Vec::new(),
            types: Vec::new(),
            type_section: None,
            func_types: Vec::new(),
            global_section: None,
            memory: None,
            bodies: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(module) {
            let payload = payload.or_invalid()?;
            let section = payload.as_section();
            match payload {
                Payload::TypeSection(reader) => {
                    layout.type_section = Some(Counted::read(module, reader.range())?);
                    for group in reader {
                        for ty in group.or_invalid()?.into_types() {
                            layout.types.push(ty.composite_type.unwrap_func().clone());
                        }
                    }
                    layout.sections.push(Section::Type);
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader.clone() {
                        layout.func_types.push(ty.or_invalid()?);
                    }
                    layout.sections.push(Section::Raw {
                        id: 3,
                        range: reader.range(),
                    });
                }
                Payload::MemorySection(reader) => {
                    // Checked: exactly one memory.
                    if let Some(memory) = reader.into_iter().next() {
                        layout.memory = Some(memory.or_invalid()?);
                    }
                    layout.sections.push(Section::Memory);
                }
                Payload::GlobalSection(reader) => {
                    layout.global_section = Some(Counted::read(module, reader.range())?);
                    layout.sections.push(Section::Global);
                }
                Payload::CodeSectionStart { .. } => layout.sections.push(Section::Code),
                Payload::CodeSectionEntry(body) => layout.bodies.push(body),
                Payload::CustomSection(reader) if reader.name() == "name" => {
                    layout.sections.push(Section::Names {
                        range: reader.range(),
                    });
                }
                _ => {
                    if let Some((id, range)) = section {
                        layout.sections.push(Section::Raw { id, range });
                    }
                }
            }
        }
        Ok(layout)
    }

    fn emit(&self, cfg: &MeterConfig, form: FuelIn) -> Result<Vec<u8>> {
        let globals = self.global_section.as_ref().map_or(0, |g| g.count);
        let counters = Counters {
            fuel: globals,
            depth: globals + 1,
            max_depth: cfg.max_depth,
            form,
            limit: (form == FuelIn::Local).then_some(globals + 2),
        };

        // Bodies first: they decide which function types must be added.
        let mut added_types: Vec<Vec<wasmparser::ValType>> = Vec::new();
        let mut code = CodeSection::new();
        let mut labels = Vec::with_capacity(self.bodies.len());
        for (index, body) in self.bodies.iter().enumerate() {
            let ty = &self.types[self.func_types[index] as usize];
            let wrapper = |results: &[wasmparser::ValType]| -> Result<BlockType> {
                Ok(match results {
                    [] => BlockType::Empty,
                    [one] => BlockType::Result(val_type(*one, body.range().start)?),
                    many => BlockType::FunctionType(self.block_type_index(many, &mut added_types)),
                })
            };
            let (body, function_labels) = instrument(self.module, body, ty, &counters, wrapper)?;
            code.raw(&body);
            labels.push(function_labels);
        }

        let global_section = self.global_section(cfg, counters.limit.is_some());
        let mut out = Module::new();
        let mut globals_written = false;
        for section in &self.sections {
            match section {
                Section::Raw { id, range } => {
                    if !globals_written && AFTER_GLOBAL.contains(id) {
                        out.section(&raw(GLOBAL, &global_section));
                        globals_written = true;
                    }
                    match counters.limit {
                        Some(limit) if *id == EXPORT => {
                            out.section(&raw(EXPORT, &self.export_section(range, limit)?));
                        }
                        _ => {
                            out.section(&RawSection {
                                id: *id,
                                data: &self.module[range.clone()],
                            });
                        }
                    }
                }
                Section::Type => {
                    out.section(&raw(TYPE, &self.type_section(&added_types)?));
                }
                Section::Memory => {
                    out.section(&self.memory_section(cfg));
                }
                Section::Global => {
                    out.section(&raw(GLOBAL, &global_section));
                    globals_written = true;
                }
                Section::Names { range } => match names_section(self.module, range, &labels) {
                    Some(names) => {
                        out.section(&names);
                    }
                    None => {
                        out.section(&raw(0, &self.module[range.clone()]));
                    }
                },
                Section::Code => {
                    if !globals_written {
                        out.section(&raw(GLOBAL, &global_section));
                        globals_written = true;
                    }
                    out.section(&code);
                }
            }
        }
        out.section(&CustomSection {
            name: Cow::Borrowed(METER_SECTION),
            data: Cow::Owned(cfg.to_section().to_vec()),
        });
        debug_assert!(globals_written, "a decoder module has an export section");
        Ok(out.finish())
    }

    /// The index of a function type `[] -> results`: an existing one, or
    /// one appended to the type section.
    fn block_type_index(
        &self,
        results: &[wasmparser::ValType],
        added: &mut Vec<Vec<wasmparser::ValType>>,
    ) -> u32 {
        let fits = |ty: &FuncType| ty.params().is_empty() && ty.results() == results;
        if let Some(index) = self.types.iter().position(fits) {
            return index as u32;
        }
        let at = match added.iter().position(|r| r == results) {
            Some(at) => at,
            None => {
                added.push(results.to_vec());
                added.len() - 1
            }
        };
        (self.types.len() + at) as u32
    }

    /// The type section's contents with `added` appended.
    fn type_section(&self, added: &[Vec<wasmparser::ValType>]) -> Result<Vec<u8>> {
        // Always present when there are functions; checked.
        let counted = self.type_section.clone().unwrap_or(Counted {
            count: 0,
            items: 0..0,
        });
        let mut data = Vec::new();
        (counted.count + added.len() as u32).encode(&mut data);
        data.extend_from_slice(&self.module[counted.items.clone()]);
        for results in added {
            data.push(0x60);
            0u32.encode(&mut data);
            (results.len() as u32).encode(&mut data);
            for ty in results {
                val_type(*ty, counted.items.start)?.encode(&mut data);
            }
        }
        Ok(data)
    }

    /// The memory section with the maximum capped.
    fn memory_section(&self, cfg: &MeterConfig) -> MemorySection {
        let mut section = MemorySection::new();
        if let Some(memory) = self.memory {
            let cap = u64::from(cfg.max_memory_pages);
            section.memory(wasm_encoder::MemoryType {
                minimum: memory.initial,
                maximum: Some(memory.maximum.map_or(cap, |max| max.min(cap))),
                memory64: memory.memory64,
                shared: memory.shared,
                page_size_log2: memory.page_size_log2,
            });
        }
        section
    }

    /// The export section's contents with `legation_limit`, the global
    /// `limit`, appended (the local form, SPEC §13.6).
    fn export_section(&self, range: &Range<usize>, limit: u32) -> Result<Vec<u8>> {
        let counted = Counted::read(self.module, range.clone())?;
        let mut data = Vec::new();
        (counted.count + 1).encode(&mut data);
        data.extend_from_slice(&self.module[counted.items.clone()]);
        LIMIT_EXPORT.encode(&mut data);
        data.push(0x03); // a global
        limit.encode(&mut data);
        Ok(data)
    }

    /// The global section's contents with the two counters appended, and
    /// in the local form the limit that stopped a call (SPEC §13.6).
    fn global_section(&self, cfg: &MeterConfig, limit: bool) -> Vec<u8> {
        let counted = self.global_section.clone().unwrap_or(Counted {
            count: 0,
            items: 0..0,
        });
        let mut data = Vec::new();
        (counted.count + 2 + u32::from(limit)).encode(&mut data);
        data.extend_from_slice(&self.module[counted.items.clone()]);
        let counter = |val_type| GlobalType {
            val_type,
            mutable: true,
            shared: false,
        };
        counter(ValType::I64).encode(&mut data);
        // Checked by `meter`: the fuel fits an i64.
        ConstExpr::i64_const(cfg.fuel as i64).encode(&mut data);
        counter(ValType::I32).encode(&mut data);
        ConstExpr::i32_const(0).encode(&mut data);
        if limit {
            counter(ValType::I32).encode(&mut data);
            ConstExpr::i32_const(0).encode(&mut data);
        }
        data
    }
}

/// The indices of the counters, the depth limit and where the fuel is
/// kept.
struct Counters {
    fuel: u32,
    depth: u32,
    max_depth: u32,
    form: FuelIn,
    /// In the local form: the global that says which limit stopped a call.
    limit: Option<u32>,
}

/// What an original instruction means to the instrumentation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Neither ends a segment nor is charged extra.
    Plain,
    /// Ends a segment.
    Boundary,
    /// `br`, `br_table` or `unreachable`: ends a segment, and the one
    /// after it is dead code (never entered, so never charged).
    Jump,
    /// `loop`: ends a segment; the next one starts with a check.
    Loop,
    /// `call` or `call_indirect`: ends a segment; with the fuel in a local, it
    /// is stored before it and loaded after it.
    Call,
    /// `return`: ends a segment, preceded by the exit sequence; the
    /// segment after it is dead code.
    Return,
    /// The `end` of the function body.
    FinalEnd,
    /// A bulk operator, charged `operand >> 10` more before it runs.
    PerKiB,
    /// `memory.grow`, charged `operand << 6` (64 per page) more.
    PerPage,
}

impl Kind {
    fn ends_segment(self) -> bool {
        !matches!(self, Kind::Plain | Kind::PerKiB | Kind::PerPage)
    }

    /// Whether control never falls through to the next instruction.
    fn jumps_away(self) -> bool {
        matches!(self, Kind::Jump | Kind::Return)
    }
}

/// One original instruction: its bytes and its kind.
struct Instr {
    bytes: Range<usize>,
    kind: Kind,
    /// `block`, `loop` or `if`: names a label in the name section.
    opens_label: bool,
}

/// Instruments one function body as the crate documentation describes.
fn instrument(
    module: &[u8],
    body: &FunctionBody<'_>,
    ty: &FuncType,
    counters: &Counters,
    wrapper: impl FnOnce(&[wasmparser::ValType]) -> Result<BlockType>,
) -> Result<(Vec<u8>, Vec<u32>)> {
    // Locals: the groups are copied; one i32 group may be appended.
    let mut reader = body.get_binary_reader();
    let groups = reader.read_var_u32().or_invalid()?;
    let groups_start = reader.original_position();
    let mut locals = u64::try_from(ty.params().len()).unwrap_or(u64::MAX);
    for _ in 0..groups {
        locals += u64::from(reader.read_var_u32().or_invalid()?);
        reader.read::<wasmparser::ValType>().or_invalid()?;
    }
    let groups_end = reader.original_position();

    // Classify every instruction, tracking the block depth to find
    // branches to the function's own label.
    let mut ops = wasmparser::OperatorsReader::new(reader);
    let mut instrs: Vec<Instr> = Vec::new();
    let mut open = 0u32;
    let mut branches_out = false;
    while !ops.eof() {
        let (op, start) = ops.read_with_offset().or_invalid()?;
        let opens_label = matches!(
            op,
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. }
        );
        let kind = match op {
            Operator::Block { .. } | Operator::If { .. } => {
                open += 1;
                Kind::Boundary
            }
            Operator::Loop { .. } => {
                open += 1;
                Kind::Loop
            }
            Operator::End if open == 0 => Kind::FinalEnd,
            Operator::End => {
                open -= 1;
                Kind::Boundary
            }
            Operator::Br { relative_depth } => {
                branches_out |= relative_depth == open;
                Kind::Jump
            }
            Operator::BrIf { relative_depth } => {
                branches_out |= relative_depth == open;
                Kind::Boundary
            }
            Operator::BrTable { ref targets } => {
                branches_out |= targets.default() == open;
                for target in targets.targets() {
                    branches_out |= target.or_invalid()? == open;
                }
                Kind::Jump
            }
            Operator::Return => Kind::Return,
            Operator::Unreachable => Kind::Jump,
            Operator::Else => Kind::Boundary,
            Operator::Call { .. } | Operator::CallIndirect { .. } => Kind::Call,
            Operator::MemoryFill { .. }
            | Operator::MemoryCopy { .. }
            | Operator::MemoryInit { .. }
            | Operator::TableFill { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. } => Kind::PerKiB,
            Operator::MemoryGrow { .. } => Kind::PerPage,
            _ => Kind::Plain,
        };
        if let Some(last) = instrs.last_mut() {
            last.bytes.end = start;
        }
        instrs.push(Instr {
            bytes: start..start,
            kind,
            opens_label,
        });
    }
    if let Some(last) = instrs.last_mut() {
        last.bytes.end = body.range().end;
    }

    // Segment costs, indexed by the instruction that starts the segment.
    let mut cost = vec![0u64; instrs.len() + 1];
    let mut segment_start = 0;
    for (at, instr) in instrs.iter().enumerate() {
        if instr.kind.ends_segment() {
            cost[segment_start] = (at + 1 - segment_start) as u64;
            segment_start = at + 1;
        }
    }

    let scratch_needed = instrs
        .iter()
        .any(|i| matches!(i.kind, Kind::PerKiB | Kind::PerPage));
    // `FuelIn::Local` keeps the fuel in a local of its own, `$f`, declared
    // after the original locals; the scratch local comes after it.
    let in_local = counters.form == FuelIn::Local;
    let fuel_local = in_local.then(|| u32::try_from(locals).unwrap_or(u32::MAX));
    let scratch = u32::try_from(locals + u64::from(in_local)).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(body.range().len() + instrs.len() * 4);
    let added = u32::from(in_local) + u32::from(scratch_needed);
    if added > 0 {
        (groups + added).encode(&mut out);
        out.extend_from_slice(&module[groups_start..groups_end]);
        if in_local {
            1u32.encode(&mut out);
            ValType::I64.encode(&mut out);
        }
        if scratch_needed {
            1u32.encode(&mut out);
            ValType::I32.encode(&mut out);
        }
    } else {
        out.extend_from_slice(&module[body.range().start..groups_end]);
    }

    // A leaf (a body that calls nothing) leaves `$depth` as it found it
    // and nothing reads it while the leaf runs, so in the local form it
    // only checks that one more activation fits (SPEC §13.6).
    let leaf =
        in_local && counters.max_depth < u32::MAX && !instrs.iter().any(|i| i.kind == Kind::Call);
    let wrapper = if branches_out {
        Some(wrapper(ty.results())?)
    } else {
        None
    };
    let mut emit = Emit {
        sink: &mut out,
        counters,
        fuel_local,
        leaf,
        labels: 0,
    };
    // The new label index of each original block, loop and if.
    let mut labels = Vec::new();
    emit.enter();
    emit.load();
    emit.charge(cost[0]);
    emit.check();
    if let Some(block_type) = wrapper {
        emit.instructions().block(block_type);
        emit.labels += 1;
    }
    for (at, instr) in instrs.iter().enumerate() {
        let bytes = &module[instr.bytes.clone()];
        match instr.kind {
            Kind::Return => {
                emit.exit();
                emit.sink.extend_from_slice(bytes);
            }
            Kind::PerKiB => {
                emit.charge_operand(scratch, |s| {
                    s.i64_const(10).i64_shr_u();
                });
                emit.check();
                emit.sink.extend_from_slice(bytes);
            }
            Kind::PerPage => {
                emit.charge_operand(scratch, |s| {
                    s.i64_const(6).i64_shl();
                });
                emit.check();
                emit.sink.extend_from_slice(bytes);
                emit.note_refused_growth(scratch);
            }
            Kind::FinalEnd if wrapper.is_some() => {
                emit.sink.extend_from_slice(bytes);
                emit.exit();
                emit.sink.push(0x0b);
            }
            Kind::FinalEnd => {
                emit.exit();
                emit.sink.extend_from_slice(bytes);
            }
            Kind::Call => {
                emit.store();
                emit.sink.extend_from_slice(bytes);
                emit.load();
            }
            Kind::Plain | Kind::Boundary | Kind::Jump | Kind::Loop => {
                if instr.opens_label {
                    labels.push(emit.labels);
                    emit.labels += 1;
                }
                emit.sink.extend_from_slice(bytes);
            }
        }
        if instr.kind.ends_segment() && !instr.kind.jumps_away() && at + 1 < instrs.len() {
            emit.charge(cost[at + 1]);
            if instr.kind == Kind::Loop {
                emit.check();
            }
        }
    }
    Ok((out, labels))
}

/// Writes the inserted sequences.
struct Emit<'a, 'c> {
    sink: &'a mut Vec<u8>,
    counters: &'c Counters,
    /// With `FuelIn::Local`: the local that holds the fuel in this body.
    fuel_local: Option<u32>,
    /// With `FuelIn::Local`, a body without calls: ENTER only compares
    /// `$depth`, and EXIT leaves it.
    leaf: bool,
    /// Labels (blocks, loops and ifs) written so far.
    labels: u32,
}

impl Emit<'_, '_> {
    fn instructions(&mut self) -> InstructionSink<'_> {
        InstructionSink::new(self.sink)
    }

    /// `fuel -= cost`, unless the cost is 0.
    fn charge(&mut self, cost: u64) {
        if cost == 0 {
            return;
        }
        // A segment has fewer instructions than the module has bytes.
        let cost = i64::try_from(cost).unwrap_or(i64::MAX);
        self.get_fuel();
        self.instructions().i64_const(cost).i64_sub();
        self.set_fuel();
    }

    /// Pushes the fuel: from the global, or from `$f`.
    fn get_fuel(&mut self) {
        let fuel = self.counters.fuel;
        match self.fuel_local {
            Some(f) => self.instructions().local_get(f),
            None => self.instructions().global_get(fuel),
        };
    }

    /// Pops the fuel into where [`Emit::get_fuel`] reads it.
    fn set_fuel(&mut self) {
        let fuel = self.counters.fuel;
        match self.fuel_local {
            Some(f) => self.instructions().local_set(f),
            None => self.instructions().global_set(fuel),
        };
    }

    /// With the fuel in a local: `$f = $fuel`, at entry and after each call.
    fn load(&mut self) {
        if let Some(f) = self.fuel_local {
            let fuel = self.counters.fuel;
            self.instructions().global_get(fuel).local_set(f);
        }
    }

    /// With the fuel in a local: `$fuel = $f`, before each call and at each exit.
    fn store(&mut self) {
        if let Some(f) = self.fuel_local {
            let fuel = self.counters.fuel;
            self.instructions().local_get(f).global_set(fuel);
        }
    }

    /// `fuel -= scale(operand)` for the i32 operand on top of the stack,
    /// which stays there.
    fn charge_operand(&mut self, scratch: u32, scale: impl FnOnce(&mut InstructionSink<'_>)) {
        self.instructions().local_tee(scratch);
        self.get_fuel();
        let mut sink = self.instructions();
        sink.local_get(scratch).i64_extend_i32_u();
        scale(&mut sink);
        sink.i64_sub();
        self.set_fuel();
    }

    /// Traps if the fuel is negative.
    fn check(&mut self) {
        self.get_fuel();
        self.instructions()
            .i64_const(0)
            .i64_lt_s()
            .if_(BlockType::Empty);
        self.trap(LIMIT_FUEL);
    }

    /// The body of a limit's `if`: in the local form `$limit = which`,
    /// then `unreachable`; then the `if`'s `end`.
    fn trap(&mut self, which: i32) {
        if let Some(limit) = self.counters.limit {
            self.instructions().i32_const(which).global_set(limit);
        }
        self.instructions().unreachable().end();
        self.labels += 1;
    }

    /// In the local form, after `memory.grow`: `$limit = 3` if it
    /// returned -1, the result left as it was.
    fn note_refused_growth(&mut self, scratch: u32) {
        let Some(limit) = self.counters.limit else {
            return;
        };
        self.instructions()
            .local_tee(scratch)
            .i32_const(-1)
            .i32_eq()
            .if_(BlockType::Empty)
            .i32_const(LIMIT_MEMORY)
            .global_set(limit)
            .end()
            .local_get(scratch);
        self.labels += 1;
    }

    /// `depth += 1`; traps if it is then more than the limit. In a leaf:
    /// traps if `depth + 1` would be, leaving `depth` as it is.
    fn enter(&mut self) {
        let Counters {
            depth, max_depth, ..
        } = *self.counters;
        if self.leaf {
            self.instructions()
                .global_get(depth)
                .i32_const(max_depth as i32)
                .i32_ge_u()
                .if_(BlockType::Empty);
            self.trap(LIMIT_DEPTH);
            return;
        }
        self.instructions()
            .global_get(depth)
            .i32_const(1)
            .i32_add()
            .global_set(depth)
            .global_get(depth)
            // The bits of the u32; `i32.gt_u` compares them unsigned.
            .i32_const(max_depth as i32)
            .i32_gt_u()
            .if_(BlockType::Empty);
        self.trap(LIMIT_DEPTH);
    }

    /// The fuel check, then (fuel in a local) the fuel stored, then
    /// `depth -= 1` (but for a leaf, which left it unchanged).
    fn exit(&mut self) {
        self.check();
        self.store();
        if self.leaf {
            return;
        }
        let depth = self.counters.depth;
        self.instructions()
            .global_get(depth)
            .i32_const(1)
            .i32_sub()
            .global_set(depth);
    }
}

/// The `name` section with label indices renumbered (`labels[f][k]` is
/// the new index of label `k` of function `f`), or `None` to copy it
/// unchanged: when it names no labels, or cannot be read (custom sections
/// are not validated, and a bad one is no reason to refuse a module).
fn names_section(module: &[u8], range: &Range<usize>, labels: &[Vec<u32>]) -> Option<NameSection> {
    let mut reader = BinaryReader::new(&module[range.clone()], range.start);
    // The custom section's own name, "name".
    reader.read_string().ok()?;
    let mut section = NameSection::new();
    let mut renumbered = false;
    while !reader.eof() {
        let id = reader.read_u8().ok()?;
        let len = reader.read_var_u32().ok()? as usize;
        let offset = reader.original_position();
        let payload = reader.read_bytes(len).ok()?;
        if id != 3 {
            section.raw(id, payload);
            continue;
        }
        let mut map = IndirectNameMap::new();
        let functions =
            wasmparser::IndirectNameMap::new(BinaryReader::new(payload, offset)).ok()?;
        for function in functions {
            let function = function.ok()?;
            let new_index = labels.get(function.index as usize)?;
            let mut names = NameMap::new();
            for naming in function.names {
                let naming = naming.ok()?;
                names.append(*new_index.get(naming.index as usize)?, naming.name);
            }
            map.append(function.index, &names);
        }
        section.labels(&map);
        renumbered = true;
    }
    renumbered.then_some(section)
}

pub(crate) fn raw(id: u8, data: &[u8]) -> RawSection<'_> {
    RawSection { id, data }
}

/// wasm-encoder's name for a value type (WebAssembly 2.0 has no other
/// reference types than `funcref` and `externref`).
fn val_type(ty: wasmparser::ValType, offset: usize) -> Result<ValType> {
    use wasmparser::ValType as P;
    Ok(match ty {
        P::I32 => ValType::I32,
        P::I64 => ValType::I64,
        P::F32 => ValType::F32,
        P::F64 => ValType::F64,
        P::V128 => ValType::V128,
        P::Ref(r) if r == wasmparser::RefType::FUNCREF => ValType::FUNCREF,
        P::Ref(r) if r == wasmparser::RefType::EXTERNREF => ValType::EXTERNREF,
        P::Ref(_) => {
            return Err(MeterError::Invalid {
                message: "reference type outside WebAssembly 2.0".to_string(),
                offset,
            })
        }
    })
}
