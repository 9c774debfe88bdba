//! Every shipped playbook compiles and passes its test cases offline.

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
    }
}
