// Compiles src/ld.c: long double arithmetic and formatting for
// INCRBYFLOAT/HINCRBYFLOAT, which Rust cannot express (no 80-bit float).
fn main() {
    println!("cargo:rerun-if-changed=src/ld.c");
    cc::Build::new().file("src/ld.c").opt_level(2).compile("oxld");
}
