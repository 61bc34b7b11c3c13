//! Adds an rpath to the directory cyberagent-sys found the library in, so this
//! crate's tests, doctests and examples run without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_CYBERAGENT_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_CYBERAGENT_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
    }
}
