//! `cargo hotreload`: see the crate docs (`cargo_hotreload`).

fn main() {
    match cargo_hotreload::run(std::env::args()) {
        Ok(out) => print!("{out}"),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
}
