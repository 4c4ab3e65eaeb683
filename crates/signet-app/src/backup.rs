//! Backups: one gzip'd tar archive holding the configuration, the CA certificates, the encrypted
//! CA keys, optionally the secrets that unlock them, and a consistent copy of the database taken
//! while Signet serves (SQLite's online backup, or `pg_dump`). Restore rebuilds a data directory
//! (and, for PostgreSQL, fills an empty database) from it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use signet_store::{DumpKind, Store};

use crate::AppError;
use crate::config::CONFIG_FILE;

/// The archive format this version writes and reads.
pub const FORMAT: &str = "signet-backup/1";
const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "database/signet.db";
const POSTGRES_FILE: &str = "database/postgres.sql";

/// What an archive holds, written first in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created_at: String,
    pub database: DumpKind,
    /// The CA key passphrase and TOTP sealing key files are in it (then keep it like a key).
    pub includes_secrets: bool,
    /// Data-directory files, relative paths.
    pub files: Vec<String>,
}

/// Files of the data directory that a backup carries (secrets only when asked).
fn data_files(data_dir: &Path, include_secrets: bool) -> Result<Vec<PathBuf>, AppError> {
    let mut out = vec![PathBuf::from(CONFIG_FILE)];
    let mut dirs = vec!["ca", "keys"];
    if include_secrets {
        dirs.push("secrets");
    }
    for dir in dirs {
        let full = data_dir.join(dir);
        let Ok(entries) = std::fs::read_dir(&full) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| Path::new(dir).join(e.file_name()))
            .collect();
        names.sort();
        out.extend(names);
    }
    Ok(out)
}

/// Writes the archive to `to` (mode 0600, written aside and renamed when complete).
pub async fn backup(
    data_dir: &Path,
    store: &dyn Store,
    to: &Path,
    include_secrets: bool,
    now: time::OffsetDateTime,
) -> Result<Manifest, AppError> {
    if !data_dir.join(CONFIG_FILE).exists() {
        return Err(AppError::NotInitialized(data_dir.display().to_string()));
    }
    let scratch = tempfile::Builder::new()
        .prefix("signet-backup-")
        .tempdir()
        .map_err(|e| AppError::io(Path::new("temporary directory"), e))?;
    let dump = scratch.path().join("database");
    let kind = store.dump(&dump).await?;
    let files = data_files(data_dir, include_secrets)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: crate::dates::rfc3339(now),
        database: kind,
        includes_secrets: include_secrets,
        files: files.iter().map(|f| f.display().to_string()).collect(),
    };
    let partial = to.with_extension("partial");
    let result = (|| -> Result<(), AppError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| AppError::io(&partial, e))?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let io = |e| AppError::io(&partial, e);
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())
            .map_err(io)?;
        for f in &files {
            tar.append_path_with_name(data_dir.join(f), Path::new("data").join(f))
                .map_err(io)?;
        }
        let name = match kind {
            DumpKind::Sqlite => SQLITE_FILE,
            DumpKind::Postgresql => POSTGRES_FILE,
        };
        tar.append_path_with_name(&dump, name).map_err(io)?;
        let mut gz = tar.into_inner().map_err(io)?;
        gz.flush().map_err(io)?;
        gz.finish().map_err(io)?.sync_all().map_err(io)?;
        std::fs::rename(&partial, to).map_err(|e| AppError::io(to, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|()| manifest)
}

/// A member name that stays inside the directory it is unpacked into.
fn safe(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Rebuilds `data_dir` (which must hold no CA) from an archive; a PostgreSQL dump goes into the
/// empty database `database_url` names, a SQLite one into `data_dir/signet.db`.
pub async fn restore(
    data_dir: &Path,
    from: &Path,
    database_url: Option<&str>,
) -> Result<Manifest, AppError> {
    if data_dir.join(CONFIG_FILE).exists() || data_dir.join("signet.db").exists() {
        return Err(AppError::AlreadyInitialized(format!(
            "{} already holds a CA: restore into a new, empty directory",
            data_dir.display()
        )));
    }
    let bad = |why: String| {
        AppError::Refused(signet_domain::Refusal::InvalidInput(format!(
            "{}: {why}",
            from.display()
        )))
    };
    let file = std::fs::File::open(from).map_err(|e| AppError::io(from, e))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let scratch = tempfile::Builder::new()
        .prefix("signet-restore-")
        .tempdir()
        .map_err(|e| AppError::io(Path::new("temporary directory"), e))?;
    let mut manifest: Option<Manifest> = None;
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a Signet backup ({e})")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("damaged archive ({e})")))?;
        let name = entry
            .path()
            .map_err(|e| bad(format!("damaged archive ({e})")))?
            .into_owned();
        if !safe(&name) || !entry.header().entry_type().is_file() {
            return Err(bad(format!("refusing member {}", name.display())));
        }
        if name == Path::new(MANIFEST) {
            let m: Manifest = serde_json::from_reader(&mut entry)
                .map_err(|e| bad(format!("unreadable manifest ({e})")))?;
            if m.format != FORMAT {
                return Err(bad(format!(
                    "format {} (this Signet reads {FORMAT})",
                    m.format
                )));
            }
            manifest = Some(m);
            continue;
        }
        let target = scratch.path().join(&name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
        }
        entry
            .unpack(&target)
            .map_err(|e| bad(format!("cannot unpack {} ({e})", name.display())))?;
    }
    let manifest = manifest.ok_or_else(|| bad("no manifest: not a Signet backup".into()))?;
    match (manifest.database, database_url) {
        (DumpKind::Sqlite, Some(_)) => {
            return Err(bad(
                "it holds a SQLite database: restore it without --database-url".into(),
            ));
        }
        (DumpKind::Postgresql, None) => {
            return Err(bad(
                "it holds a PostgreSQL dump: name an empty database with --database-url".into(),
            ));
        }
        _ => {}
    }
    // The database first: a restore that fails there leaves the directory empty.
    std::fs::create_dir_all(data_dir).map_err(|e| AppError::io(data_dir, e))?;
    match (manifest.database, database_url) {
        (DumpKind::Postgresql, Some(url)) => {
            signet_store::restore_postgres(url, &scratch.path().join(POSTGRES_FILE)).await?;
        }
        _ => {
            let db = data_dir.join("signet.db");
            std::fs::copy(scratch.path().join(SQLITE_FILE), &db)
                .map_err(|e| AppError::io(&db, e))?;
        }
    }
    for f in &manifest.files {
        let rel = Path::new(f);
        if !safe(rel) {
            return Err(bad(format!("refusing file {f}")));
        }
        let target = data_dir.join(rel);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
        }
        std::fs::copy(scratch.path().join("data").join(rel), &target)
            .map_err(|e| AppError::io(&target, e))?;
    }
    Ok(manifest)
}
