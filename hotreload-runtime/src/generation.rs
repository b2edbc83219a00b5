//! [`Generation`]: a build of code in the process, as the program asks
//! about it (`Reloader::generations`). Below the stages: the apply stage
//! (`apply::generations`) makes them, with or without `reload`.

/// One generation of code in the process (`Reloader::generations`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generation {
    /// 0 for the program's own code, then as in `Reload::generation`.
    pub number: u64,
    /// The package rebuilt (`None` for the program's own code, of every
    /// package).
    pub package: Option<String>,
    /// How many hot functions run its code now.
    pub functions: usize,
    /// Hot calls running in it now, with futures of its hot `async fn`s
    /// not yet dropped; `None` unless calls are counted
    /// (`Reloader::count_calls`), and for the program's own code.
    pub in_flight: Option<usize>,
    /// Why it is never unloaded, if it is not (see
    /// `Reloader::unload_old_builds`).
    pub pinned: Option<String>,
}

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.package {
            None => write!(f, "generation 0 (the program's own code)")?,
            Some(package) => write!(f, "generation {} of `{package}`", self.number)?,
        }
        match self.functions {
            1 => write!(f, ": 1 hot function runs its code")?,
            n => write!(f, ": {n} hot functions run its code")?,
        }
        if let Some(calls) = self.in_flight {
            write!(f, ", {calls} calls in flight")?;
        }
        Ok(())
    }
}
