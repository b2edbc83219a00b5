use hotreload_runtime::hot;

pub struct Stack<T>(Vec<T>);

#[hot]
impl<T> Stack<T> {
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {}
