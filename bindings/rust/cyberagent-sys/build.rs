//! Finds libcyberagent (std only, no crate dependencies).
//!
//! Order: `CYBERAGENT_LIB_DIR` (a directory holding libcyberagent.so), then the
//! build tree of the checkout this crate sits in (`build/dev/lib`, then
//! `build/release/lib`, then any other `build/*/lib`, ASan builds last), then
//! `pkg-config --variable=libdir cyberagent` when pkg-config is installed,
//! else the linker's default search path. The directory found is exported to
//! dependent build scripts as `DEP_CYBERAGENT_LIB_DIR` (through `links`) so the
//! safe crate can add an rpath and its tests run without LD_LIBRARY_PATH.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn has_lib(dir: &Path) -> bool {
    dir.join("libcyberagent.so").exists() || dir.join("libcyberagent.so.1").exists()
}

fn build_tree(manifest: &Path) -> Option<PathBuf> {
    // bindings/rust/cyberagent-sys -> repository root
    let root = manifest.parent()?.parent()?.parent()?;
    let build = root.join("build");
    for preset in ["dev", "release"].iter() {
        let dir = build.join(preset).join("lib");
        if has_lib(&dir) {
            return Some(dir);
        }
    }
    let mut others: Vec<PathBuf> = match std::fs::read_dir(&build) {
        Ok(entries) => {
            entries.filter_map(|e| e.ok()).map(|e| e.path().join("lib")).filter(|d| has_lib(d)).collect()
        }
        Err(_) => Vec::new(),
    };
    others.sort_by_key(|d| {
        let asan = d.to_string_lossy().contains("asan");
        (asan, d.clone())
    });
    others.into_iter().next()
}

fn pkg_config() -> Option<PathBuf> {
    let out = Command::new("pkg-config").args(["--variable=libdir", "cyberagent"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = PathBuf::from(text.trim());
    if text.trim().is_empty() || !has_lib(&dir) {
        return None;
    }
    Some(dir)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CYBERAGENT_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));

    let from_env = env::var("CYBERAGENT_LIB_DIR").ok().filter(|s| !s.is_empty()).map(PathBuf::from);
    let dir = match from_env {
        Some(d) => Some(d),
        None => build_tree(&manifest).or_else(pkg_config),
    };

    match dir {
        Some(d) => {
            let d = d.canonicalize().unwrap_or(d);
            println!("cargo:rustc-link-search=native={}", d.display());
            println!("cargo:lib_dir={}", d.display());
            // Rebuild when the build tree appears or the library is relinked.
            println!("cargo:rerun-if-changed={}", d.display());
        }
        None => {
            println!(
                "cargo:warning=libcyberagent not found in CYBERAGENT_LIB_DIR, the build tree or \
                 pkg-config; relying on the linker's default search path"
            );
            let root = manifest.join("../../../build");
            println!("cargo:rerun-if-changed={}", root.display());
        }
    }
    println!("cargo:rustc-link-lib=dylib=cyberagent");
}
