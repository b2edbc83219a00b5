//! A body that does not parse: rustc's own error, once, where it is (the
//! body is handed on unparsed, with its braces' own spans).
use hotreload_runtime::hot;

pub struct Player;

#[hot]
impl Player {
    pub fn damage(&self, x: u32) -> u32 {
        x *
    }
}

#[hot]
pub fn heal(hp: u32) -> u32 {
    hp +
}

fn main() {}
