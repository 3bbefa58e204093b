//! Build script of the function packages and of the local tool (whose `hello_lambda` example is
//! the cold-start baseline): release binaries for Linux link as position-dependent executables.
//!
//! A position-independent executable carries a dynamic relocation for every pointer in its data
//! (vtables, string and slice constants): about 30,000 per function, which the loader applies
//! at every cold start, 24 bytes each in the file. Linked with `-no-pie`, the linker resolves
//! them and about 110 remain (the C library's symbols): the binaries are 0.7 MiB smaller and
//! start 0.25-0.35 ms sooner (README "Build time"). Only the link changes, so no dependency is
//! rebuilt; debug builds keep the default. A build script because a Cargo profile cannot carry
//! linker arguments, and `rustflags` in `.cargo/config.toml` would also reach build scripts and
//! proc-macros, the debug build, and (for `make build`) replace the `target-cpu` cargo-lambda
//! passes as `build.rustflags`.

fn main() {
    println!("cargo::rerun-if-changed=../../infra/build/non_pie.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux {
        println!("cargo::rustc-link-arg=-no-pie");
    }
}
