use activities::numbers::{take_next, NumberError};
use keel_tests::TestApp;

#[tokio::test]
async fn numbers_are_per_tenant_and_gap_free_across_rollbacks() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let b = app.tenant("tenant-b").await;

    let mut tx = app.pool.tenant_tx(a.tenant).await.expect("tx");
    assert_eq!(take_next(&mut tx, "ticket").await.expect("n"), "T-000001");
    tx.commit().await.expect("commit");

    // A rolled-back transaction gives its number back.
    let mut tx = app.pool.tenant_tx(a.tenant).await.expect("tx");
    assert_eq!(take_next(&mut tx, "ticket").await.expect("n"), "T-000002");
    tx.rollback().await.expect("rollback");

    let mut tx = app.pool.tenant_tx(a.tenant).await.expect("tx");
    assert_eq!(take_next(&mut tx, "ticket").await.expect("n"), "T-000002");
    assert_eq!(
        take_next(&mut tx, "invoice").await.expect("n"),
        "INV-000001"
    );
    tx.commit().await.expect("commit");

    // Tenant B counts on its own.
    let mut tx = app.pool.tenant_tx(b.tenant).await.expect("tx");
    assert_eq!(take_next(&mut tx, "ticket").await.expect("n"), "T-000001");
    assert!(matches!(
        take_next(&mut tx, "nonexistent").await,
        Err(NumberError::UnknownSequence(_))
    ));
    tx.commit().await.expect("commit");
    app.stop().await;
}

#[tokio::test]
async fn concurrent_takers_get_distinct_consecutive_numbers() {
    let app = TestApp::spawn().await;
    let a = app.tenant("tenant-a").await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let pool = app.pool.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = pool.tenant_tx(a.tenant).await.expect("tx");
            let number = take_next(&mut tx, "invoice").await.expect("n");
            tx.commit().await.expect("commit");
            number
        }));
    }
    let mut numbers = Vec::new();
    for handle in handles {
        numbers.push(handle.await.expect("task"));
    }
    numbers.sort();
    let expected: Vec<String> = (1..=8).map(|n| format!("INV-{n:06}")).collect();
    assert_eq!(numbers, expected);
    app.stop().await;
}
