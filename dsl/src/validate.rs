//! Compiling a playbook: syntax errors with their line and column, then the static
//! checks a sandboxed script allows before it ever runs: every function it calls
//! exists, every action gets one map, and a literal map names each required field
//! and no unknown one.

use crate::catalogue::{self, DURABLE_BUILTINS, PURE_BUILTINS};
use crate::sandbox::{self, LIMITS};
use rhai::{ASTNode, Engine, Expr, Position, Stmt, AST};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// A problem with a script, where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct CompileError {
    /// 1-based line (0 when the problem has no place).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl CompileError {
    fn at(position: Position, message: impl Into<String>) -> CompileError {
        CompileError {
            line: position.line().unwrap_or(0),
            column: position.position().unwrap_or(0),
            message: message.into(),
        }
    }
}

/// A compiled, checked playbook.
#[derive(Clone, Debug)]
pub struct Program {
    pub(crate) ast: AST,
}

impl Program {
    /// The catalogue actions the script calls anywhere, by name.
    pub fn actions(&self) -> BTreeSet<&'static str> {
        let mut called = BTreeSet::new();
        self.ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Expr(Expr::FnCall(call, _)))
            | Some(ASTNode::Stmt(Stmt::FnCall(call, _))) = path.last()
            {
                if let Some(action) = catalogue::action(call.name.as_str()) {
                    called.insert(action.name);
                }
            }
            true
        });
        called
    }

    /// The permissions the actions it calls need: whoever a run acts as must
    /// hold them all, or the run would fail at its first such call.
    pub fn derived_permissions(&self) -> BTreeSet<&'static str> {
        self.actions()
            .into_iter()
            .filter_map(catalogue::action)
            .map(|action| action.permission.name)
            .collect()
    }
}

/// Rhai's call-like keywords, which are not registered functions.
const KEYWORD_FUNCTIONS: &[&str] = &[
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_var",
    "is_def_fn",
    "print",
    "debug",
];

/// The most source a playbook may have.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// Compiles `source` and runs the static checks; every problem is reported, in
/// source order.
pub fn compile(source: &str) -> Result<Program, Vec<CompileError>> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(vec![CompileError {
            line: 0,
            column: 0,
            message: format!("is longer than {MAX_SOURCE_BYTES} bytes"),
        }]);
    }
    let engine = checking_engine();
    // Strict variables: the script sees `input` and nothing else from outside.
    let scope = crate::replay::input_scope(&serde_json::Value::Object(Default::default()));
    let ast = engine
        .compile_with_scope(&scope, source)
        .map_err(|e| vec![CompileError::at(e.position(), e.err_type().to_string())])?;
    let mut errors = check_calls(&ast);
    errors.sort_by_key(|e| (e.line, e.column));
    if errors.is_empty() {
        Ok(Program { ast })
    } else {
        Err(errors)
    }
}

/// The engine the checks compile with: the sandbox with every Keel function
/// registered, so compile-time behaviour matches run time.
fn checking_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut engine = sandbox::engine(LIMITS);
        crate::replay::register_stubs(&mut engine);
        engine
    })
}

/// Names of every function a script may call besides its own.
fn known_functions() -> &'static BTreeSet<String> {
    static KNOWN: OnceLock<BTreeSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut known: BTreeSet<String> = checking_engine()
            .gen_fn_signatures(true)
            .iter()
            .filter_map(|signature| signature.split('(').next())
            .map(|name| name.trim().to_owned())
            .collect();
        known.extend(KEYWORD_FUNCTIONS.iter().map(|k| (*k).to_owned()));
        known.extend(DURABLE_BUILTINS.iter().map(|k| (*k).to_owned()));
        known.extend(PURE_BUILTINS.iter().map(|k| (*k).to_owned()));
        known.extend(catalogue::ACTIONS.iter().map(|a| a.name.to_owned()));
        known
    })
}

fn check_calls(ast: &AST) -> Vec<CompileError> {
    let own: BTreeSet<String> = ast.iter_functions().map(|f| f.name.to_owned()).collect();
    let known = known_functions();
    let mut errors = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, position)))
            | Some(ASTNode::Stmt(Stmt::FnCall(call, position))) => Some((call, position)),
            _ => None,
        };
        if let Some((call, position)) = call {
            let name = call.name.as_str();
            if call.op_token.is_none() && !own.contains(name) && !known.contains(name) {
                errors.push(CompileError::at(
                    *position,
                    format!("unknown function {name}(); see the action catalogue"),
                ));
            } else if let Some(action) = catalogue::action(name) {
                check_action_call(action, &call.args, *position, &mut errors);
            } else if let Some(problem) = builtin_arity(name, call.args.len()) {
                errors.push(CompileError::at(*position, problem));
            }
        }
        true
    });
    errors
}

fn builtin_arity(name: &str, args: usize) -> Option<String> {
    let allowed: &[usize] = match name {
        "sleep" => &[1],
        "wait_for_signal" => &[1, 2],
        "wait_for_event" => &[1, 2, 3],
        "now" | "uuid" => &[0],
        _ => return None,
    };
    (!allowed.contains(&args)).then(|| {
        let expected: Vec<String> = allowed.iter().map(usize::to_string).collect();
        format!(
            "{name}() takes {} argument(s), not {args}",
            expected.join(" or ")
        )
    })
}

fn check_action_call(
    action: &catalogue::ActionSpec,
    args: &[Expr],
    position: Position,
    errors: &mut Vec<CompileError>,
) {
    let name = action.name;
    let [arg] = args else {
        errors.push(CompileError::at(
            position,
            format!("{name}() takes one map, like {}", action.example),
        ));
        return;
    };
    // A literal map: keys with their positions. A map of constants arrives folded
    // into one constant; anything else is checked when the action runs.
    let (keys, map_position): (Vec<(String, Position)>, Position) = match arg {
        Expr::Map(map, at) => (
            map.0
                .iter()
                .map(|(key, _)| (key.name.to_string(), key.pos))
                .collect(),
            *at,
        ),
        Expr::DynamicConstant(value, at) if value.is_map() => {
            let map = value.read_lock::<rhai::Map>().map(|m| m.clone());
            let keys = map
                .unwrap_or_default()
                .keys()
                .map(|k| (k.to_string(), *at))
                .collect();
            (keys, *at)
        }
        _ => return,
    };
    for (key, at) in &keys {
        if !action.fields.iter().any(|f| f.name == key) {
            let known: Vec<&str> = action.fields.iter().map(|f| f.name).collect();
            errors.push(CompileError::at(
                *at,
                format!(
                    "{name}() has no field {key:?}; its fields: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    for field in action.fields.iter().filter(|f| f.required) {
        if !keys.iter().any(|(key, _)| key == field.name) {
            errors.push(CompileError::at(
                map_position,
                format!("{name}() needs the field {:?}", field.name),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(source: &str) -> Vec<String> {
        match compile(source) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let errors = problems("let a = 1;\nlet b = (2 + ;\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("2:"), "{errors:?}");
    }

    #[test]
    fn unknown_functions_and_bad_action_calls_are_caught_before_running() {
        let source = "let t = create_ticket(#{ titel: \"x\" });\n\
                      launch_missiles();\n\
                      add_comment(t.id, \"hi\");\n\
                      sleep();\n\
                      fn helper(x) { x.len() + to_upper(\"a\").len() }\n\
                      helper(\"abc\");\n";
        let errors = problems(source);
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(errors[0].starts_with("1:") && errors[0].contains("no field \"titel\""));
        assert!(errors
            .iter()
            .any(|e| e.contains("needs the field \"title\"")));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("2:") && e.contains("launch_missiles")));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("3:") && e.contains("takes one map")));
        assert!(errors
            .iter()
            .any(|e| e.starts_with("4:") && e.contains("sleep()")));
    }

    #[test]
    fn a_clean_script_compiles() {
        let source =
            "let t = create_ticket(#{ title: `Alert ${input.name}`, client_id: input.client });\n\
                      sleep(\"2h\");\n\
                      let answer = wait_for_signal(\"approval\", \"3d\");\n\
                      if answer != () { add_comment(#{ ticket_id: t.id, body: answer.note }); }\n\
                      print(now());";
        assert_eq!(problems(source), Vec::<String>::new());
    }

    #[test]
    fn the_actions_a_script_calls_name_the_permissions_it_needs() {
        let source = "fn later(id) { add_comment(#{ ticket_id: id, body: \"x\" }) }\n\
                      let found = find_tickets(#{ status: \"open\" });\n\
                      if found.len() == 0 { later(create_ticket(#{ title: \"t\", client_id: input.c }).id); }";
        let program = compile(source).expect("compiles");
        let actions: Vec<&str> = program.actions().into_iter().collect();
        assert_eq!(actions, ["add_comment", "create_ticket", "find_tickets"]);
        let needed: Vec<&str> = program.derived_permissions().into_iter().collect();
        assert_eq!(needed, ["ticket:create", "ticket:read", "ticket:update"]);
        assert!(compile("let x = 1 + 2;")
            .unwrap()
            .derived_permissions()
            .is_empty());
    }

    #[test]
    fn eval_is_not_available() {
        assert!(!problems("eval(\"1 + 1\")").is_empty());
    }
}
