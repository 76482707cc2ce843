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
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| EngineError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| EngineError::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| EngineError::io(path, e))?;
    tmp.persist(path).map_err(|e| EngineError::io(path, e.error))?;
    Ok(())
}
