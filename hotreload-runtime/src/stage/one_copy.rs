//! One copy: reloaded code runs on the program's own `std` and its own
//! instances of its dependencies, not on copies of them.
//!
//! A reloaded build is a cdylib linked against the toolchain's shared
//! `std` and the dependencies library ([`crate::build::dylib`]). Left alone, the
//! dynamic loader binds it to those: a second `std` (its own panic runtime,
//! stdout buffer, thread-locals) and a second instance of every dependency
//! (tokio's runtime context unset, `log`'s logger unset, a game framework's
//! global context missing). Two things make the loader bind it to the
//! running program instead:
//!
//! 1. **Functions and statics: a shared object of the program's own
//!    symbols**, made once per process. The program is an executable that
//!    exports nothing, but its symbol table (kept by cargo's `dev` and
//!    `release` profiles unless `strip = "symbols"`) names every function
//!    and static it contains, and the running process knows where it was
//!    loaded. [`share`] writes every Rust symbol of the program (mangled
//!    names: the same crates built with the same hashes have the same names
//!    in the program, in `std`'s shared library and in the dependencies
//!    library) as an absolute symbol at its address in this process,
//!    links that into a shared object with no code, and loads it with
//!    `RTLD_GLOBAL`. The loader looks up a reloaded build's undefined
//!    symbols in the global scope first, so every function and static the
//!    program has is the program's; only what the program lacks (a `std`
//!    function it never called, say) comes from the shared libraries. A
//!    panic in reloaded code is then raised and caught by the program's one
//!    panic runtime. Nothing changes in how builds are made or linked, so
//!    one build still serves every process (see `published`).
//!
//!    Only symbols that keep their calling convention go in: global ones,
//!    and hidden ones (external to their crate, made local by the final
//!    link). A symbol that was internal to its object may have been
//!    rewritten by the optimizer (arguments dropped or promoted), and LTO
//!    makes most symbols internal: such a program mostly gets copies, as
//!    before.
//! 2. **Thread-locals: relocations pointed at the program's**. An absolute
//!    symbol cannot stand for a thread-local; a build reaches one through a
//!    pair of relocations (the module, the offset in its block). When a
//!    build is staged, [`Program::retarget`] sets each pair naming a
//!    thread-local of the program to module 1 (the executable, always) and
//!    the program's offset, so tokio's runtime context, `tracing`'s current
//!    dispatcher and `std`'s own thread-locals are the program's.
//!
//! Limits: x86-64 Linux with glibc only (elsewhere, and for a stripped
//! program, builds get their own copies as before, said once at start).
//! Code the program does not contain comes from the shared libraries with
//! their own copies of the statics it uses itself. Path dependencies and
//! the package's own crate are linked into each build (their statics are
//! the build's own: see `#[hot] static`). `HOTRELOAD_ONE_COPY=0` turns
//! this off.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, Rela, SectionHeader, Sym};
use object::{Object, ObjectSymbol, SymbolFlags, SymbolKind};

/// The running program, shared with reloaded code.
#[derive(Debug)]
pub struct Program {
    /// Offset in the executable's thread-local block of each of its
    /// thread-locals, by name.
    tls: HashMap<Box<[u8]>, u64>,
    /// Address in this process of each function and static of the
    /// program's C and C++ code (names that are not Rust's), bound into
    /// each build at staging rather than shared: see [`Program::retarget`].
    foreign: HashMap<Box<[u8]>, u64>,
    /// Functions and statics the shared object gives.
    pub symbols: usize,
}

/// What [`share`] found, once per process.
static PROGRAM: OnceLock<Result<Program, String>> = OnceLock::new();

/// Shares the program with reloaded code (once per process; later calls
/// return the first answer). `Err` says why builds get their own copies.
pub fn share() -> Result<&'static Program, &'static str> {
    share_with(None)
}

/// [`share`], for a program with no linker (a service taking upgrades):
/// from `template`, the shared object of its symbols that [`template`]
/// made where it was built.
pub fn share_from(template: &[u8]) -> Result<&'static Program, &'static str> {
    share_with(Some(template))
}

fn share_with(template: Option<&[u8]>) -> Result<&'static Program, &'static str> {
    PROGRAM
        .get_or_init(|| {
            if std::env::var_os("HOTRELOAD_ONE_COPY").is_some_and(|v| v == "0") {
                return Err("turned off by HOTRELOAD_ONE_COPY=0".into());
            }
            if !cfg!(all(
                target_os = "linux",
                target_arch = "x86_64",
                target_env = "gnu"
            )) {
                return Err("only on x86-64 Linux with glibc".into());
            }
            Program::load(template)
        })
        .as_ref()
        .map_err(String::as_str)
}

/// The shared object of the running program's symbols at their offsets
/// from its load address (not at their addresses in this process), for a
/// copy of the program elsewhere to move to its own ([`share_from`]).
pub fn template() -> Result<Vec<u8>, String> {
    let (object, _) = read_program(0)?;
    let dir = scratch()?;
    let output = dir.path().join("program.so");
    link(&object, &output)?;
    std::fs::read(&output).map_err(|e| format!("cannot read the linked symbols: {e}"))
}

/// The object of the running program's symbols, at `base` plus their
/// offsets, and what it holds.
fn read_program(base: u64) -> Result<(Vec<u8>, Program), String> {
    let exe = std::fs::read("/proc/self/exe")
        .map_err(|e| format!("cannot read the program's file: {e}"))?;
    let file =
        object::File::parse(&*exe).map_err(|e| format!("cannot parse the program's file: {e}"))?;
    let (object, program) = symbols_object(&file, base)?;
    if program.symbols == 0 {
        return Err("the program has no symbol table (built with `strip = \"symbols\"`?)".into());
    }
    Ok((object, program))
}

fn scratch() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("hotreload-program-")
        .tempdir()
        .map_err(|e| format!("cannot make a scratch directory: {e}"))
}

/// Adds `base` to the value of every absolute symbol of the shared object
/// `library` (its dynamic and its static symbol table): the dynamic loader
/// takes an absolute symbol's value as it is.
fn rebase(library: &mut [u8], base: u64) -> Result<(), String> {
    let moves = {
        let elf = ElfFile64::<object::Endianness>::parse(&*library)
            .map_err(|e| format!("the program's symbols are not a shared object: {e}"))?;
        let endian = elf.endian();
        let mut moves = Vec::new();
        for section in elf.elf_section_table().iter() {
            let kind = section.sh_type(endian);
            if kind != elf::SHT_DYNSYM && kind != elf::SHT_SYMTAB {
                continue;
            }
            let table = section
                .data_as_array::<elf::Sym64<object::Endianness>, _>(endian, &*library)
                .map_err(|_| "a symbol table outside the file".to_string())?;
            let start = section.sh_offset(endian) as usize;
            for (index, symbol) in table.iter().enumerate() {
                if symbol.st_shndx(endian) == elf::SHN_ABS && symbol.st_name(endian) != 0 {
                    // st_value is 8 bytes into an Elf64_Sym.
                    let at =
                        start + index * std::mem::size_of::<elf::Sym64<object::Endianness>>() + 8;
                    moves.push((at, symbol.st_value(endian) + base));
                }
            }
        }
        moves
    };
    for (at, value) in moves {
        library[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    Ok(())
}

/// The program's symbols, once [`share`] succeeded.
pub fn shared() -> Option<&'static Program> {
    PROGRAM.get().and_then(|program| program.as_ref().ok())
}

impl Program {
    /// Reads the program's symbols and loads them as a shared object:
    /// linked here with `cc`, or, where the program was given one (an
    /// upgrade carries it, see [`template`]), the shared object made at
    /// address 0 where the program was built, moved to where it runs.
    fn load(template: Option<&[u8]>) -> Result<Program, String> {
        let base = load_address().ok_or("cannot find where the program is loaded")?;
        let (object, program) = read_program(base)?;
        let dir = scratch()?;
        let output = dir.path().join("libhotreload_program.so");
        match template {
            Some(template) => {
                let mut moved = template.to_vec();
                rebase(&mut moved, base)?;
                crate::build::dylib::write(&output, &moved)?;
            }
            None => link(&object, &output)?,
        }
        // SAFETY: a shared object of absolute symbols only: no code, no
        // initializers. RTLD_GLOBAL puts its symbols first for every
        // library loaded after it (see the module docs).
        let library = unsafe {
            libloading::os::unix::Library::open(
                Some(&output),
                libloading::os::unix::RTLD_NOW | libc::RTLD_GLOBAL,
            )
        }
        .map_err(|e| format!("cannot load the program's symbols: {e}"))?;
        // Its symbols stand for the program's for the rest of the process.
        std::mem::forget(library);
        tracing::debug!(
            symbols = program.symbols,
            thread_locals = program.tls.len(),
            "reloaded code shares the program's std and dependencies"
        );
        Ok(program)
    }

    /// Points the relocations of `library` (a build's bytes, before it is
    /// loaded) that name a thread-local of the program, or a function or
    /// static of its C or C++ code, at the program's own. Returns how many
    /// were changed; a library this cannot read is left as it is.
    ///
    /// C names are bound here, one build at a time, and not put in the
    /// shared object of Rust symbols: that object is in the process's
    /// global scope, where a C name (`deflate`, `SSL_new`) would also
    /// capture the lookups of every other library, loaded later or bound
    /// lazily, that expects the system's copy. Rust names cannot collide
    /// (they carry their crate's hash).
    pub fn retarget(&self, library: &mut [u8]) -> usize {
        let writes = match self.writes(library) {
            Ok(writes) => writes,
            Err(error) => {
                tracing::debug!("thread-locals left to the build: {error}");
                return 0;
            }
        };
        for write in &writes {
            // The relocation becomes R_X86_64_NONE (type 0, no symbol), and
            // its place holds the value the loader would have computed.
            library[write.info..write.info + 8].copy_from_slice(&0u64.to_le_bytes());
            library[write.place..write.place + 8].copy_from_slice(&write.value.to_le_bytes());
        }
        writes.len()
    }

    fn writes(&self, library: &[u8]) -> Result<Vec<Write>, object::Error> {
        let file = ElfFile64::<object::Endianness>::parse(library)?;
        let endian = file.endian();
        let header = file.elf_header();
        let sections = header.sections(endian, library)?;
        let segments = header.program_headers(endian, library)?;
        let dynamic = sections.symbols(endian, library, elf::SHT_DYNSYM)?;
        // Where an address of the library is in its file.
        let file_offset = |address: u64| {
            segments.iter().find_map(|segment| {
                let start = segment.p_vaddr(endian);
                (segment.p_type(endian) == elf::PT_LOAD
                    && (start..start + segment.p_filesz(endian)).contains(&address))
                .then(|| (segment.p_offset(endian) + address - start) as usize)
            })
        };
        let mut writes = Vec::new();
        for section in sections.iter() {
            if section.sh_type(endian) != elf::SHT_RELA {
                continue;
            }
            let Some((relas, _)) = section.rela(endian, library)? else {
                continue;
            };
            let table = section.sh_offset(endian) as usize;
            for (index, rela) in relas.iter().enumerate() {
                let symbol = rela.r_sym(endian, false);
                if symbol == 0 {
                    continue; // relative, or the library's own thread-locals
                }
                let symbol = dynamic.symbol(object::SymbolIndex(symbol as usize))?;
                if !symbol.is_undefined(endian) {
                    continue;
                }
                let Ok(name) = dynamic.symbol_name(endian, symbol) else {
                    continue;
                };
                let Some(value) = self.value(rela.r_type(endian, false), name) else {
                    continue;
                };
                let Some(place) = file_offset(rela.r_offset(endian)) else {
                    continue;
                };
                writes.push(Write {
                    // `r_info` is the second word of an `Elf64_Rela`.
                    info: table + index * size_of::<elf::Rela64<object::Endianness>>() + 8,
                    place,
                    value: value.wrapping_add(rela.r_addend(endian) as u64),
                });
            }
        }
        Ok(writes)
    }

    /// What a relocation of `kind` against the program's `name` resolves
    /// to, before its addend; `None` for one the loader must do.
    fn value(&self, kind: elf::RelocationType, name: &[u8]) -> Option<u64> {
        match kind {
            elf::R_X86_64_DTPMOD64 => self.tls.contains_key(name).then_some(1), // the executable
            elf::R_X86_64_DTPOFF64 => self.tls.get(name).copied(),
            // `S` or `S + A`: the address (GLOB_DAT and JUMP_SLOT have no
            // addend). A build is loaded with RTLD_NOW, so the loader
            // never binds its PLT lazily and skips the entry made NONE.
            elf::R_X86_64_GLOB_DAT | elf::R_X86_64_JUMP_SLOT | elf::R_X86_64_64 => {
                self.foreign.get(name).copied()
            }
            _ => None,
        }
    }
}

/// One relocation to replace by its value.
struct Write {
    /// File offset of the relocation's `r_info`.
    info: usize,
    /// File offset of its place.
    place: usize,
    value: u64,
}

/// The object of the program's symbols at their addresses in this process,
/// and what it holds.
fn symbols_object(file: &object::File, base: u64) -> Result<(Vec<u8>, Program), String> {
    use object::write::{Object as Output, Symbol, SymbolSection};
    let mut output = Output::new(file.format(), file.architecture(), file.endianness());
    let mut program = Program {
        tls: HashMap::new(),
        foreign: HashMap::new(),
        symbols: 0,
    };
    let mut seen = std::collections::HashSet::new();
    // Global symbols first: a hidden one of the same name is the same item.
    for globals in [true, false] {
        for symbol in file.symbols() {
            if symbol.is_undefined() || symbol.is_global() != globals {
                continue;
            }
            let Ok(name) = symbol.name_bytes() else {
                continue;
            };
            let kind = symbol.kind();
            if kind == SymbolKind::Tls {
                program
                    .tls
                    .entry(name.into())
                    .or_insert_with(|| symbol.address());
                continue;
            }
            let hidden = matches!(symbol.flags(),
                SymbolFlags::Elf { st_other, .. } if st_other.visibility() == elf::STV_HIDDEN);
            if !(globals || hidden)
                || !matches!(kind, SymbolKind::Text | SymbolKind::Data)
                || !seen.insert(name)
            {
                continue;
            }
            if !is_rust(name) {
                program.foreign.insert(name.into(), base + symbol.address());
                continue;
            }
            output.add_symbol(Symbol {
                name: name.to_vec(),
                value: base + symbol.address(),
                size: symbol.size(),
                kind,
                scope: object::SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Absolute,
                flags: SymbolFlags::None,
            });
            program.symbols += 1;
        }
    }
    let bytes = output
        .write()
        .map_err(|e| format!("cannot write the program's symbols: {e}"))?;
    Ok((bytes, program))
}

/// Names rustc gives Rust items (legacy and v0 mangling; C++'s nested names
/// share the legacy prefix) and the runtime symbols `std` defines: unique
/// to their crate, so safe in the global scope.
fn is_rust(name: &[u8]) -> bool {
    [&b"_ZN"[..], b"_R", b"rust_", b"__rust"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Links the object of absolute symbols into a shared object at
/// `output`, with the C compiler driver rustc links with by default.
fn link(object: &[u8], output: &Path) -> Result<(), String> {
    let input = output.with_extension("o");
    crate::build::dylib::write(&input, object)?;
    let linker = "cc";
    let mut command = Command::new(linker);
    command
        .args(["-shared", "-nostdlib", "-o"])
        .arg(output)
        .arg(&input);
    crate::build::dylib::succeed(&mut command, linker).map_err(|e| format!("{linker} failed: {e}"))
}

/// Where the executable is mapped: the first object `dl_iterate_phdr`
/// reports is the program itself.
fn load_address() -> Option<u64> {
    /// # Safety
    /// Called by `dl_iterate_phdr` only, with `data` pointing at an
    /// `Option<u64>`.
    unsafe extern "C" fn first(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: glibc passes a valid `info`; `data` is the `Option<u64>`
        // below, alive for the whole call.
        unsafe { *data.cast::<Option<u64>>() = Some((*info).dlpi_addr) };
        1 // stop after the first
    }
    let mut base: Option<u64> = None;
    // SAFETY: `first` matches the callback type and writes only `base`.
    unsafe { libc::dl_iterate_phdr(Some(first), (&raw mut base).cast()) };
    base
}
