//! The database: one SQLite file in the data folder by default, or PostgreSQL (`--database
//! postgres://…`) shared by any number of replicas. Both are reached through sqlx's `Any` driver
//! with one set of queries (`$1`-style parameters, which SQLite reads too) and migrated at start
//! from their own folder of the same migrations.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

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
    let migrated = match engine {
        Engine::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&database).await,
        Engine::Postgres => sqlx::migrate!("./migrations/postgres").run(&database).await,
    };
    migrated.context("could not migrate the database")?;
    Ok((database, engine))
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
