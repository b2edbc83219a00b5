use hotreload_runtime::hot;

pub struct Player;

#[hot]
impl std::fmt::Display for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "player")
    }
}

fn main() {}
