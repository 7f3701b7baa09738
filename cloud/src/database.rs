//! The database: one SQLite file in the data folder by default, or PostgreSQL (`--database
//! postgres://…`) shared by any number of replicas. Both are reached through sqlx's `Any` driver
//! with one set of queries (`$1`-style parameters, which SQLite reads too) and migrated at start
//! from their own folder of the same migrations.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlSafeStr};

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    fn of(url: &str) -> anyhow::Result<Engine> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            anyhow::bail!("--database must be a sqlite:… or postgres://… URL, not {url:?}")
        }
    }
}

/// The URL of the default database, `cloud.db` in the data folder.
pub(crate) fn default_url(data: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data.join("cloud.db").display())
}

/// Opens the database `url` names and runs the migrations it lacks.
pub(crate) async fn open(url: &str) -> anyhow::Result<(AnyPool, Engine)> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of(url)?;
    let options = AnyConnectOptions::from_str(url).context("the database URL is not valid")?;
    let mut pool = AnyPoolOptions::new().max_connections(if engine == Engine::Sqlite { 8 } else { 16 });
    if engine == Engine::Sqlite {
        pool = pool.after_connect(|connection, _| {
            Box::pin(async move {
                // WAL lets readers run beside the one writer; deleted rows are overwritten, so
                // nothing of a deleted account stays in the file; writers wait for each other.
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA secure_delete = ON",
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA busy_timeout = 10000",
                ] {
                    connection.execute(pragma).await?;
                }
                Ok(())
            })
        });
    }
    let database = pool.connect_with(options).await.context("could not open the database")?;
    migrator(engine).run(&database).await.context("could not migrate the database")?;
    Ok((database, engine))
}

/// The migrations, by their files' names (the same in both folders), in the order of their
/// versions, with the SQL for SQLite and for PostgreSQL embedded in the binary. Listed here rather
/// than by sqlx's `migrate!` macro, whose proc-macro crate builds sqlx's whole driver stack
/// (SQLite's C sources, rustls, PostgreSQL's driver) a second time, for the compiler: two minutes
/// of every clean build. A test holds the list to the folders as sqlx reads them.
macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        [$((
            $name,
            include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        )),*]
    };
}
const MIGRATIONS: [(&str, &str, &str); 7] = embedded![
    "0001_accounts",
    "0002_settings",
    "0003_payments",
    "0004_telemetry",
    "0005_server_secret",
    "0006_email_verification",
    "0007_web_sessions",
];

/// sqlx's migrator over [`MIGRATIONS`] for `engine`. Each file's name gives the version and the
/// description as sqlx's own reader takes them (`0002_settings`: 2, "settings"), and sqlx computes
/// the checksums of the same SQL, so a database migrated by the macro's list is up to date by this.
fn migrator(engine: Engine) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(name, sqlite, postgres)| {
                let (version, description) = name.split_once('_').expect("a migration is named VERSION_DESCRIPTION");
                let version = version.parse().expect("a migration's name starts with its version");
                let sql = if engine == Engine::Sqlite { sqlite } else { postgres };
                Migration::new(
                    version,
                    description.replace('_', " ").into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Makes sure deleted rows leave no bytes behind in the database's files: SQLite moves WAL pages
/// (which may hold old row images) back into the overwritten main file; PostgreSQL's deleted
/// tuples are its own to vacuum.
pub(crate) async fn scrub(database: &AnyPool, engine: Engine) -> Result<(), sqlx::Error> {
    if engine == Engine::Sqlite {
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each engine's list is its folder's migrations exactly as sqlx reads them from the folder
    /// (what its `migrate!` macro embeds): the same versions, descriptions, kinds and checksums, so
    /// no migration file can be added without being listed, and no database migrated before
    /// refuses to start.
    #[test]
    fn the_embedded_migrations_are_the_folders() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        for (engine, folder) in [(Engine::Sqlite, "sqlite"), (Engine::Postgres, "postgres")] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
            let read = runtime.block_on(Migrator::new(path.as_path())).expect("the migrations folder reads");
            let listed = migrator(engine);
            let facts = |migrator: &Migrator| -> Vec<_> {
                migrator
                    .iter()
                    .map(|m| (m.version, m.description.to_string(), m.migration_type, m.checksum.to_vec(), m.no_tx))
                    .collect()
            };
            assert_eq!(facts(&listed), facts(&read), "{folder}: the list in database.rs is not the folder's");
        }
    }
}
