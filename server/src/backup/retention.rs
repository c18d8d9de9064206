//! Which backups are kept: the newest N complete ones (with a manifest);
//! older ones and the leftovers of interrupted backups are deleted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{manifest_path, MANIFEST, PARTIAL, PREFIX};

/// Leftovers of an interrupted backup older than this are deleted when pruning.
const STALE: Duration = Duration::from_secs(24 * 3600);

/// Whether `name` is one of the scheduled backups: `tobacco-YYYYMMDD-HHMMSS.db|dump`.
fn is_backup_name(name: &str) -> bool {
    let stamp = name.strip_prefix(PREFIX).and_then(|rest| {
        rest.strip_suffix(".db")
            .or_else(|| rest.strip_suffix(".dump"))
    });
    stamp.is_some_and(|s| {
        s.len() == 15
            && s.bytes().enumerate().all(|(i, b)| {
                if i == 8 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    })
}

/// The complete scheduled backups in `dir` (those with a manifest), oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_backup_name);
        if named && manifest_path(&path).exists() {
            found.push(path);
        }
    }
    // The names sort by their China-time stamp.
    found.sort();
    Ok(found)
}

/// Deletes all but the newest `keep` complete backups (at least one is
/// kept), and leftovers of interrupted backups older than a day.
pub async fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let complete = list(&dir)?;
        let excess = complete.len().saturating_sub(keep.max(1));
        let mut removed = Vec::new();
        for file in &complete[..excess] {
            // Data first: a manifest alone is never taken for a backup.
            std::fs::remove_file(file)?;
            std::fs::remove_file(manifest_path(file))?;
            removed.push(file.clone());
        }
        let kept: BTreeSet<PathBuf> = complete[excess..].iter().cloned().collect();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let base = name.strip_suffix(PARTIAL).unwrap_or(name);
            let base = base.strip_suffix(MANIFEST).unwrap_or(base);
            if !is_backup_name(base) || kept.contains(&dir.join(base)) {
                continue;
            }
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            let orphan_manifest = name.ends_with(MANIFEST) && !dir.join(base).exists();
            if orphan_manifest || age > STALE {
                std::fs::remove_file(&path)?;
            }
        }
        anyhow::Ok(removed)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stamped_names_are_scheduled_backups() {
        assert!(is_backup_name("tobacco-20261123-023000.db"));
        assert!(is_backup_name("tobacco-20261123-023000.dump"));
        assert!(!is_backup_name("tobacco-20261123-023000.db.partial"));
        assert!(!is_backup_name("tobacco-20261123-023000.db.manifest.json"));
        assert!(!is_backup_name("tobacco-2026112-023000.db"));
        assert!(!is_backup_name("before-upgrade.db"));
    }
}
