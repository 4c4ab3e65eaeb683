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

/// A connection to a store's database past the store, for what the store itself never writes:
/// values the domain does not name, schema changes a test needs.
#[derive(Debug, Clone)]
#[allow(dead_code)] // Not every test file uses every helper.
pub enum Raw {
    /// A SQLite database file.
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL database.
    Postgres(sqlx::PgPool),
}

#[allow(dead_code)] // Not every test file uses every helper.
impl Raw {
    /// Connects to the database `url` names (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> Raw {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(
                sqlx::SqlitePool::connect(url)
                    .await
                    .expect("raw SQLite pool"),
            )
        } else {
            Raw::Postgres(
                sqlx::PgPool::connect(url)
                    .await
                    .expect("raw PostgreSQL pool"),
            )
        }
    }

    /// Runs one statement (no parameters); a refusal comes back as the store reports a database
    /// error, so `StoreError::is_constraint_violation` applies to it.
    pub async fn exec(&self, sql: &str) -> Result<u64, signet_store::StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await?.rows_affected(),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await?.rows_affected(),
        })
    }

    /// Whether this is the SQLite database.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Raw::Sqlite(_))
    }

    /// Lets the schema take a value the domain does not name in `table.column`, as a database
    /// written by another version might hold: drops migration 0012's triggers (SQLite) or
    /// constraint (PostgreSQL) for it.
    pub async fn allow_unknown(&self, table: &str, column: &str) {
        let statements = match self {
            Raw::Sqlite(_) => vec![
                format!("DROP TRIGGER {table}_{column}_known_insert"),
                format!("DROP TRIGGER {table}_{column}_known_update"),
            ],
            Raw::Postgres(_) => vec![format!(
                "ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_known"
            )],
        };
        for statement in statements {
            self.exec(&statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}
