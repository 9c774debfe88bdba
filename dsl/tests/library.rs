//! Every shipped playbook compiles and passes its test cases offline.

use dsl::input_schema::InputSchema;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn library() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks")
}

#[test]
fn every_shipped_playbook_passes_its_cases() {
    let mut checked = 0;
    for entry in std::fs::read_dir(library()).expect("playbooks/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        let tests = path.with_extension("test.json");
        let json = std::fs::read_to_string(&tests)
            .unwrap_or_else(|_| panic!("{} has no {}", path.display(), tests.display()));
        let cases = dsl::testing::parse_cases(&json).expect("fixtures parse");
        assert!(!cases.is_empty(), "{} has no cases", tests.display());
        for case in cases {
            let report = dsl::testing::run(&source, &case)
                .unwrap_or_else(|e| panic!("{} does not compile: {e:?}", path.display()));
            assert!(
                report.passed(),
                "{} / {:?}: {:?}",
                path.display(),
                case.name,
                report.mismatches
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} cases ran");
}

#[test]
fn every_shipped_playbook_declares_its_manifest() {
    for entry in std::fs::read_dir(library()).expect("playbooks/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for key in ["// name:", "// trigger:", "// input:", "// permissions:"] {
            assert!(source.contains(key), "{} lacks {key}", path.display());
        }
        let schema = input_schema(&source, &path);
        let declared: BTreeSet<String> = header(&source, "// permissions:")
            .split(',')
            .map(|p| p.trim().to_owned())
            .collect();
        let program = dsl::compile(&source).expect("compiles");
        for needed in program.derived_permissions() {
            assert!(
                declared.contains(needed),
                "{}: its actions need {needed}, which its header does not declare",
                path.display()
            );
        }
        let json = std::fs::read_to_string(path.with_extension("test.json")).expect("cases");
        for case in dsl::testing::parse_cases(&json).expect("cases parse") {
            let given = match &case.input {
                serde_json::Value::Null => serde_json::json!({}),
                given => given.clone(),
            };
            if let Err(issues) = schema.apply(&given) {
                panic!("{} / {:?}: {issues:?}", path.display(), case.name);
            }
        }
    }
}

/// The text after `key` on its header line.
fn header<'s>(source: &'s str, key: &str) -> &'s str {
    source
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .unwrap_or_default()
        .trim()
}

/// The `// input_schema:` header, parsed and checked as a save checks it.
fn input_schema(source: &str, path: &std::path::Path) -> InputSchema {
    let schema: InputSchema = serde_json::from_str(header(source, "// input_schema:"))
        .unwrap_or_else(|e| panic!("{}: input_schema header: {e}", path.display()));
    schema
        .check()
        .unwrap_or_else(|issues| panic!("{}: {issues:?}", path.display()));
    schema
}
