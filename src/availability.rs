//! Whether each runtime is usable on this machine, each one checked in a child process of its
//! own: loading a runtime can crash or hang (GPU libraries), and some settings are process-wide
//! (TF32), so one runtime's check must not decide another's.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sysnoise_boundary::RuntimeError;

use crate::registry;

/// One runtime's state on this machine (the `runtimes --json` schema, one object per runtime).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Availability {
    Available { version: String },
    Unavailable { reason: String, install: String },
}

/// Builds the runtime in this process and says whether it works (what a child process prints).
pub fn check_here(name: &str) -> Availability {
    match registry::build(name) {
        Ok(runtime) => Availability::Available {
            version: runtime.version(),
        },
        Err(crate::EngineError::Runtime(RuntimeError::Unavailable { reason, install, .. })) => {
            Availability::Unavailable { reason, install }
        }
        Err(other) => Availability::Unavailable {
            reason: other.to_string(),
            install: String::new(),
        },
    }
}

/// Runs `exe runtimes --check NAME` and reads its verdict; a child that crashes, hangs past
/// `timeout` or prints nothing readable makes the runtime unavailable with that reason.
pub fn check_isolated(exe: &Path, name: &str, timeout: Duration) -> Availability {
    let unavailable = |reason: String| Availability::Unavailable {
        reason,
        install: String::new(),
    };
    let mut child = match Command::new(exe)
        .args(["runtimes", "--check", name])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return unavailable(format!("cannot start {}: {e}", exe.display())),
    };
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return unavailable(format!("loading it did not finish within {} s", timeout.as_secs()));
            }
            Err(e) => return unavailable(format!("cannot wait for the check: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        return unavailable(format!("loading it ended the process ({status})"));
    }
    // The verdict is the last line (a library may have printed before it).
    let last = out.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str::<Availability>(last)
        .unwrap_or_else(|e| unavailable(format!("the check printed no verdict ({e}): {last:?}")))
}
