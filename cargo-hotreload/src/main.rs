//! `cargo hotreload`: see the crate docs (`cargo_hotreload`).

fn main() {
    match cargo_hotreload::run(std::env::args()) {
        Ok(out) => print!("{out}"),
        Err(error) => {
            // clap's messages say `error:` themselves.
            match error.strip_prefix("error: ") {
                Some(error) => eprintln!("error: {error}"),
                None => eprintln!("error: {error}"),
            }
            std::process::exit(1);
        }
    }
}
