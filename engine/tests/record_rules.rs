//! Property tests of the pure rules behind clients, contacts and import.

use engine::contacts::ContactInput;
use engine::import::parse_clients;
use engine::validation::{contains_pattern, tags};
use proptest::prelude::*;

/// SQL `LIKE` with `\` as the escape character, as PostgreSQL evaluates it.
fn like(text: &[char], pattern: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('%', rest)) => (0..=text.len()).any(|skip| like(&text[skip..], rest)),
        Some(('_', rest)) => !text.is_empty() && like(&text[1..], rest),
        Some(('\\', rest)) => match rest.split_first() {
            Some((literal, rest)) => text.first() == Some(literal) && like(&text[1..], rest),
            None => false,
        },
        Some((c, rest)) => text.first() == Some(c) && like(&text[1..], rest),
    }
}

proptest! {
    #[test]
    fn a_search_pattern_matches_exactly_the_texts_containing_the_query(
        query in "[a-c%_\\\\ ]{1,6}",
        text in "[a-c%_\\\\ ]{0,12}",
    ) {
        let trimmed = query.trim();
        prop_assume!(!trimmed.is_empty());
        let pattern: Vec<char> = contains_pattern(Some(&query)).unwrap().unwrap().chars().collect();
        let text_chars: Vec<char> = text.chars().collect();
        prop_assert_eq!(like(&text_chars, &pattern), text.contains(trimmed));
    }

    #[test]
    fn tag_normalisation_is_idempotent_and_leaves_no_duplicates(
        raw in proptest::collection::vec("[A-Za-z ]{1,8}", 0..20),
    ) {
        prop_assume!(raw.iter().all(|t| !t.trim().is_empty()));
        let once = tags(&raw).unwrap();
        prop_assert_eq!(tags(&once).unwrap(), once.clone());
        let mut sorted = once.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), once.len());
    }

    #[test]
    fn a_validated_contact_validates_to_itself(
        name in "[A-Za-z][A-Za-z ]{0,30}",
        locals in proptest::collection::vec("[a-z]{1,8}", 1..4),
        primary in 0usize..4,
    ) {
        let emails: Vec<serde_json::Value> = locals
            .iter()
            .enumerate()
            .map(|(i, l)| serde_json::json!({"address": format!("{l}{i}@Example.com"), "is_primary": i == primary % locals.len()}))
            .collect();
        let input: ContactInput = serde_json::from_value(serde_json::json!({
            "client_id": uuid::Uuid::nil(), "full_name": name, "emails": emails,
        })).unwrap();
        let draft = input.validate().unwrap();
        let again = ContactInput {
            emails: Some(draft.emails.clone()),
            full_name: Some(draft.full_name.clone()),
            ..input
        }
        .validate()
        .unwrap();
        prop_assert_eq!(again, draft);
    }

    #[test]
    fn client_names_survive_a_csv_round_trip(
        names in proptest::collection::vec("[A-Za-zÀ-ÿ0-9,\" ]{1,40}", 1..30),
    ) {
        prop_assume!(names.iter().all(|n| !n.trim().is_empty()));
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["name"]).unwrap();
        for name in &names {
            writer.write_record([name]).unwrap();
        }
        let bytes = writer.into_inner().unwrap();
        let parsed = parse_clients(&bytes).unwrap();
        prop_assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let back: Vec<&str> = parsed.rows.iter().map(|r| r.draft.name.as_str()).collect();
        let expected: Vec<&str> = names.iter().map(|n| n.trim()).collect();
        prop_assert_eq!(back, expected);
        let lines: Vec<u64> = parsed.rows.iter().map(|r| r.line).collect();
        prop_assert_eq!(lines, (2..names.len() as u64 + 2).collect::<Vec<_>>());
    }
}
