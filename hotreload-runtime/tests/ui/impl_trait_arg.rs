use hotreload_runtime::hot;

#[hot]
pub fn total(items: impl Iterator<Item = u32>) -> u32 {
    items.sum()
}

#[hot]
pub fn evens() -> impl Iterator<Item = u32> {
    (0..10).filter(|n| n % 2 == 0)
}

fn main() {}
