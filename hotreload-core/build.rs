//! Records the compiler version and target the runtime was built with, so a
//! reloaded build made by another toolchain is refused (HOT030) instead of
//! being called with a different ABI.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into());
    println!("cargo:rustc-env=HOTRELOAD_RUSTC_VERSION={version}");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=HOTRELOAD_TARGET={target}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
