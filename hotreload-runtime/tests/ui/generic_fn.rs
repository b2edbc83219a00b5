use hotreload_runtime::hot;

#[hot]
pub fn largest<T: PartialOrd>(items: &[T]) -> Option<&T> {
    items.iter().reduce(|a, b| if b > a { b } else { a })
}

fn main() {}
