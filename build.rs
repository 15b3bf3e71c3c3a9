//! Builds `rcompose-init` (init/reaper.c), the tiny static reaper used for `init: true`.
//! It is embedded in the rcompose binary and mounted read-only into containers, because
//! rcompose itself is dynamically linked and cannot run inside an arbitrary root filesystem.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=init/reaper.c");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("rcompose-init");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-static", "-Os", "-s", "-Wall", "-Wextra", "-o"])
        .arg(&out)
        .arg("init/reaper.c")
        .status()
        .unwrap_or_else(|e| panic!("cannot run `{cc}` to build init/reaper.c: {e}"));
    if !status.success() {
        panic!(
            "`{cc} -static` failed to build init/reaper.c (needs a static libc, e.g. Debian's libc6-dev)"
        );
    }
}
