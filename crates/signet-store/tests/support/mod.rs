//! Helpers the store's test files share.

/// A new, empty PostgreSQL database for one test (`SIGNET_TEST_POSTGRES_URL` names the server);
/// returns its name and URL.
pub async fn new_postgres_database(tag: &str) -> (String, String) {
    let admin_url = std::env::var("SIGNET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = format!("signet_store_{tag}_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("PostgreSQL must answer at SIGNET_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&admin)
        .await
        .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .expect("create");
    admin.close().await;
    let url = format!(
        "{}/{db}",
        admin_url.rsplit_once('/').expect("url has a database").0
    );
    (db, url)
}

/// Drops a database made by [`new_postgres_database`], connections and all.
pub async fn drop_postgres_database(db: &str) {
    let admin_url = std::env::var("SIGNET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let admin = sqlx::PgPool::connect(&admin_url).await.expect("PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .expect("drop");
    admin.close().await;
}
