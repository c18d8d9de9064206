//! PostgreSQL backups: `pg_dump -Fc` on a snapshot exported by the
//! transaction that counts the rows, and `pg_restore` into a scratch
//! database to check one.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use sqlx::{Connection, PgConnection};

use super::quote;

pub(super) async fn pg_dump_major() -> anyhow::Result<u32> {
    let output = match tokio::process::Command::new("pg_dump")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .await
    {
        Ok(output) if output.status.success() => output,
        _ => bail!(
            "pg_dump was not found on PATH; the nightly backup of a PostgreSQL database needs it. \
             Install postgresql-client (e.g. apt-get install postgresql-client), \
             or pass --no-backup to serve without backups"
        ),
    };
    // "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .nth(2)
        .and_then(|v| {
            let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .with_context(|| format!("cannot read the version of pg_dump from {:?}", text.trim()))
}

pub(super) async fn dump(url: &str, partial: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    // A connection of its own, not one of the pool's, held for the whole dump.
    let mut conn = PgConnection::connect(url)
        .await
        .context("connecting to PostgreSQL")?;
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let counts = count(&mut tx).await?;
    // pg_dump reads the exported snapshot, which lives as long as `tx`.
    let mut command = pg_command("pg_dump", url);
    command
        .args(["--format=custom", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(partial);
    run(command, "pg_dump").await?;
    tx.rollback().await?;
    conn.close().await?;
    Ok(counts)
}

/// A `pg_dump`/`pg_restore` command for `url`, with the password (if any) in
/// `PGPASSWORD` rather than on the command line, where `ps` would show it.
fn pg_command(program: &str, url: &str) -> tokio::process::Command {
    let (url, password) = split_password(url);
    let mut command = tokio::process::Command::new(program);
    command
        .arg("--dbname")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

async fn run(mut command: tokio::process::Command, program: &str) -> anyhow::Result<()> {
    let output = command.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("{program} was not found on PATH: install postgresql-client")
        } else {
            anyhow::anyhow!("{program} could not start: {e}")
        }
    })?;
    if !output.status.success() {
        bail!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Splits the password out of a `postgres://user:password@host/db` URL,
/// percent-decoded.
fn split_password(url: &str) -> (String, Option<String>) {
    let unchanged = || (url.to_string(), None);
    let Some((scheme, rest)) = url.split_once("://") else {
        return unchanged();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return unchanged();
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return unchanged();
    };
    let bytes = password.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(String::from_utf8_lossy(&decoded).into_owned()),
    )
}

/// `url` with its database name replaced by `name`, keeping any parameters.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn count(conn: &mut PgConnection) -> sqlx::Result<BTreeMap<String, i64>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM public.{}", quote(&table)))
            .fetch_one(&mut *conn)
            .await?;
        counts.insert(table, n);
    }
    Ok(counts)
}

pub(super) async fn restore(file: &Path, admin_url: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let scratch = format!("restore_check_{:016x}", rand::random::<u64>());
    let mut admin = PgConnection::connect(admin_url)
        .await
        .context("connecting to the admin database (--into)")?;
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating the scratch database {scratch}"))?;
    let url = with_database(admin_url, &scratch);
    let counted = async {
        let mut command = pg_command("pg_restore", &url);
        command
            .args(["--no-owner", "--no-password", "--exit-on-error"])
            .arg(file);
        run(command, "pg_restore").await?;
        let mut conn = PgConnection::connect(&url).await?;
        let counts = count(&mut conn).await?;
        conn.close().await?;
        anyhow::Ok(counts)
    }
    .await;
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    let counts = counted?;
    dropped.with_context(|| format!("dropping the scratch database {scratch}"))?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgres://app:s%40cret@db:5432/tobacco?sslmode=require"),
            (
                "postgres://app@db:5432/tobacco?sslmode=require".to_string(),
                Some("s@cret".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/test"),
            ("postgres://postgres@127.0.0.1/test".to_string(), None)
        );
    }

    #[test]
    fn the_database_of_a_url_can_be_swapped() {
        assert_eq!(
            with_database("postgres://u@h:5432/test?sslmode=require", "postgres"),
            "postgres://u@h:5432/postgres?sslmode=require"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
