//! Logging from reloaded code reaches the program: a reloaded build has
//! its own copies of `log`'s logger and `tracing`'s dispatcher (in the
//! shared dependencies library, or linked in), unset. After loading a
//! build the host calls the functions below, which the build exports: the
//! build's `log` then hands every record to the program's logger itself,
//! and its `tracing` hands every callsite, span and event to the
//! program's current dispatcher (the global one, or a scoped
//! `with_default` one), which assigns span ids and tracks the current
//! span, so span parents are right across the boundary.
//!
//! When the build runs on the program's own `log` and `tracing-core` (the
//! runtime's `stage::one_copy` module), the installers find the program's logger
//! and dispatcher already there and do nothing.
//!
//! Both sides use one `log` and one `tracing-core` rlib (cargo builds a
//! crate once per build), so their types and trait objects are the same on
//! either side of the call.

/// Installs `logger` (the program's) in this build's `log`, at `level`.
/// Exported as [`LOG_SYMBOL`]; a later build sharing this build's `log`
/// finds it set.
#[cfg(all(feature = "log", feature = "reload"))]
#[unsafe(no_mangle)]
pub fn hotreload_install_log_v1(logger: &'static dyn log::Log, level: log::LevelFilter) {
    if std::ptr::addr_eq(log::logger(), logger) {
        // One `log` on both sides (the build runs on the program's own,
        // see the runtime's `stage::one_copy` module): nothing to forward, and
        // setting it here would set the program's.
        return;
    }
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}

/// The exported name of the `log` installer.
pub const LOG_SYMBOL: &[u8] = b"hotreload_install_log_v1\0";

/// The exported name of the `tracing` installer.
pub const TRACING_SYMBOL: &[u8] = b"hotreload_install_tracing_v1\0";

/// How the host hands out its current dispatcher.
#[cfg(feature = "tracing")]
pub type WithHostDispatch = fn(&mut dyn FnMut(&tracing_core::Dispatch));

/// Installs, as this build's global `tracing` dispatcher, one that hands
/// everything to the program's current dispatcher through `host`.
#[cfg(all(feature = "tracing", feature = "reload"))]
#[unsafe(no_mangle)]
pub fn hotreload_install_tracing_v1(host: WithHostDispatch) {
    let mut host_current = std::ptr::null();
    host(&mut |dispatch| host_current = std::ptr::from_ref(dispatch));
    let same = tracing_core::dispatcher::get_default(|own| std::ptr::eq(own, host_current));
    if same {
        // One `tracing-core` on both sides: a forwarder installed here
        // would be the program's global dispatcher, calling itself.
        return;
    }
    let forward = tracing_core::Dispatch::new(ToHost(host));
    let _ = tracing_core::dispatcher::set_global_default(forward);
    // Callsites this build registered before (none normally) ask again.
    tracing_core::callsite::rebuild_interest_cache();
}

/// A `Subscriber` that is the host's current dispatcher.
#[cfg(feature = "tracing")]
struct ToHost(WithHostDispatch);

#[cfg(feature = "tracing")]
impl ToHost {
    fn with<R>(&self, f: impl FnOnce(&tracing_core::Dispatch) -> R) -> R {
        let mut f = Some(f);
        let mut result = None;
        (self.0)(&mut |dispatch| {
            if let Some(f) = f.take() {
                result = Some(f(dispatch));
            }
        });
        result.expect("the host calls back once")
    }
}

#[cfg(feature = "tracing")]
impl tracing_core::Subscriber for ToHost {
    fn register_callsite(
        &self,
        metadata: &'static tracing_core::Metadata<'static>,
    ) -> tracing_core::subscriber::Interest {
        self.with(|host| host.register_callsite(metadata))
    }

    fn enabled(&self, metadata: &tracing_core::Metadata<'_>) -> bool {
        self.with(|host| host.enabled(metadata))
    }

    fn new_span(&self, span: &tracing_core::span::Attributes<'_>) -> tracing_core::span::Id {
        self.with(|host| host.new_span(span))
    }

    fn record(&self, span: &tracing_core::span::Id, values: &tracing_core::span::Record<'_>) {
        self.with(|host| host.record(span, values))
    }

    fn record_follows_from(&self, span: &tracing_core::span::Id, follows: &tracing_core::span::Id) {
        self.with(|host| host.record_follows_from(span, follows))
    }

    fn event(&self, event: &tracing_core::Event<'_>) {
        self.with(|host| host.event(event))
    }

    fn enter(&self, span: &tracing_core::span::Id) {
        self.with(|host| host.enter(span))
    }

    fn exit(&self, span: &tracing_core::span::Id) {
        self.with(|host| host.exit(span))
    }

    fn clone_span(&self, span: &tracing_core::span::Id) -> tracing_core::span::Id {
        self.with(|host| host.clone_span(span))
    }

    fn try_close(&self, span: tracing_core::span::Id) -> bool {
        self.with(|host| host.try_close(span))
    }

    fn current_span(&self) -> tracing_core::span::Current {
        self.with(|host| host.current_span())
    }
}
