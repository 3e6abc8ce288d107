//! The backend's tables, created and migrated on first use. Each migration is applied
//! once, in order, in one transaction under a transaction-level advisory lock, so two
//! machines starting at once never both create them; `schema_version` says how far.

use tokio_postgres::Client;

/// Migrations by version; `{s}` is the schema. Append, never edit one that shipped.
const MIGRATIONS: &[&str] = &[
    // 1: locks with their holder and fencing token, runs, their journal records, the log.
    "CREATE TABLE {s}.locks (
        project text NOT NULL,
        runbook text NOT NULL,
        token bigint NOT NULL,
        holder jsonb NOT NULL,
        backend_pid integer NOT NULL,
        taking_over jsonb,
        since timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (project, runbook)
     );
     CREATE TABLE {s}.runs (
        project text NOT NULL,
        runbook text NOT NULL,
        run_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (project, runbook, run_id)
     );
     CREATE INDEX runs_latest ON {s}.runs (project, runbook, created_at DESC);
     CREATE TABLE {s}.records (
        project text NOT NULL,
        runbook text NOT NULL,
        run_id text NOT NULL,
        seq bigserial NOT NULL,
        record jsonb NOT NULL,
        token bigint,
        written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (project, runbook, run_id, seq),
        FOREIGN KEY (project, runbook, run_id) REFERENCES {s}.runs ON DELETE CASCADE
     );
     CREATE TABLE {s}.log (
        id bigserial PRIMARY KEY,
        project text NOT NULL,
        runbook text,
        line text NOT NULL,
        written_at timestamptz NOT NULL DEFAULT clock_timestamp()
     );
     CREATE INDEX log_project ON {s}.log (project, id);",
];

/// The version this rollout writes.
pub const LATEST: i32 = MIGRATIONS.len() as i32;

/// Key of the transaction-level lock that serialises migrations (the one-bigint key
/// space: the run locks use the two-int one, so the two never meet).
fn migration_key(schema: &str) -> i64 {
    super::lock::fnv64(&format!("rollout schema {schema}")) as i64
}

/// Brings `schema` to [`LATEST`]; refuses a schema newer than this rollout.
pub async fn migrate(client: &mut Client, schema: &str) -> Result<(), String> {
    let current = format!("SELECT max(version) FROM {schema}.schema_version");
    // The common case, one round trip: already there.
    if let Ok(row) = client.query_one(&current, &[]).await
        && row.get::<_, Option<i32>>(0) == Some(LATEST)
    {
        return Ok(());
    }
    let describe = |e: tokio_postgres::Error| super::describe(&e);
    let tx = client.transaction().await.map_err(describe)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&migration_key(schema)],
    )
    .await
    .map_err(describe)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.schema_version (
            version integer NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
         );"
    ))
    .await
    .map_err(|e| {
        format!(
            "cannot create the schema `{schema}`: {}",
            super::describe(&e)
        )
    })?;
    let have: i32 = tx
        .query_one(&current, &[])
        .await
        .map_err(describe)?
        .get::<_, Option<i32>>(0)
        .unwrap_or(0);
    if have > LATEST {
        return Err(format!(
            "the schema `{schema}` is at version {have}, newer than this rollout knows \
             ({LATEST}); upgrade rollout on this machine"
        ));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        let version = i as i32 + 1;
        tx.batch_execute(&migration.replace("{s}", schema))
            .await
            .map_err(|e| {
                format!(
                    "cannot migrate `{schema}` to version {version}: {}",
                    super::describe(&e)
                )
            })?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_version (version) VALUES ($1)"),
            &[&version],
        )
        .await
        .map_err(describe)?;
    }
    tx.commit().await.map_err(describe)
}
