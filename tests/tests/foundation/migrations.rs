use activities::migrate;
use keel_tests::TestDb;

#[tokio::test]
async fn every_migration_runs_up_down_and_up_again() {
    let db = TestDb::empty().await;
    let applied = migrate::run_pending(&db.owner_url).await.expect("up");
    assert!(!applied.is_empty());
    let reverted = migrate::revert_all(&db.owner_url).await.expect("down");
    assert_eq!(reverted.len(), applied.len());
    let reapplied = migrate::run_pending(&db.owner_url).await.expect("up again");
    assert_eq!(reapplied, applied);
    assert!(migrate::run_pending(&db.owner_url)
        .await
        .expect("idempotent")
        .is_empty());
}
