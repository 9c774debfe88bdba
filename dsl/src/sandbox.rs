//! The Rhai engine every playbook runs in. Scripts see only Rhai's core language
//! and the functions Keel registers: no files, network, processes, modules, clock
//! or randomness, so an evaluation depends on nothing but the script, its input and
//! its journal. Every resource a script could exhaust is capped; exceeding a cap
//! ends the evaluation with an error the script cannot catch.

use rhai::Engine;

/// The limits of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations per evaluation (each replay counts afresh).
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nested expressions (global, inside functions).
    pub max_expr_depth: (usize, usize),
    /// Bytes of one string.
    pub max_string_size: usize,
    /// Items of one array.
    pub max_array_size: usize,
    /// Entries of one object map.
    pub max_map_size: usize,
    /// Script-defined functions.
    pub max_functions: usize,
    /// Variables in scope.
    pub max_variables: usize,
}

/// The limits playbooks run under.
pub const LIMITS: Limits = Limits {
    max_operations: 2_000_000,
    max_call_levels: 48,
    max_expr_depth: (64, 32),
    max_string_size: 1024 * 1024,
    max_array_size: 10_000,
    max_map_size: 10_000,
    max_functions: 200,
    max_variables: 1_000,
};

/// A sandboxed engine with `limits` and no Keel functions yet (built without
/// module support, so `import` does not exist).
pub fn engine(limits: Limits) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth.0, limits.max_expr_depth.1)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_functions(limits.max_functions)
        .set_max_variables(limits.max_variables)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(false);
    // `eval` would compile text at run time, past the static checks.
    engine.disable_symbol("eval");
    // `print` and `debug` would write to the worker's stdout; evaluations point
    // them at the run's log.
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine
}
