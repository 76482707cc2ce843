//! Atomic file writes: write a temporary file beside the target, then rename it into place.

use std::io::Write as _;
use std::path::Path;

use crate::error::EngineError;

/// Writes `bytes` to `path` so that readers see either the old file or the whole new one.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Temporary files are created private (0600); the result is an ordinary file (0644 on
    // Unix) that reports and bundles can be shared from.
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| EngineError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| EngineError::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| EngineError::io(path, e))?;
    tmp.persist(path).map_err(|e| EngineError::io(path, e.error))?;
    Ok(())
}

/// A directory to build aside and rename into place: `tempfile` makes it private (0700); on
/// Unix it becomes an ordinary directory (0755) so findings and bundles can be shared.
pub fn temporary_dir_in(parent: &Path, prefix: &str) -> Result<tempfile::TempDir, EngineError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755));
    builder.tempdir_in(parent).map_err(|e| EngineError::io(parent, e))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn written_files_are_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        super::write(&path, b"x").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        let aside = super::temporary_dir_in(dir.path(), ".t-").unwrap();
        assert_eq!(
            std::fs::metadata(aside.path()).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
}
