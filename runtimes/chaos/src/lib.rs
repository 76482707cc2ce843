//! A test-only runtime that misbehaves on purpose: it runs models with the reference
//! interpreter, except that a model containing the trigger op makes it abort the process,
//! hang, or panic. It exists to prove that a campaign survives a runtime that crashes.

use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Session, Tensor};
use sysnoise_reference::Reference;

/// What the runtime does when it meets the trigger op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// `std::process::abort()`: like a segfault in native code, the process dies.
    Abort,
    /// Sleeps forever: like a kernel stuck in a loop.
    Hang,
    /// Panics: a Rust runtime's bug.
    Panic,
}

/// The reference interpreter, misbehaving on models that use `trigger_op`.
pub struct ChaosRuntime {
    name: String,
    misbehaviour: Misbehaviour,
    trigger_op: String,
}

impl ChaosRuntime {
    pub fn new(name: &str, misbehaviour: Misbehaviour, trigger_op: &str) -> ChaosRuntime {
        ChaosRuntime {
            name: name.to_string(),
            misbehaviour,
            trigger_op: trigger_op.to_string(),
        }
    }
}

impl Runtime for ChaosRuntime {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        format!("chaos ({:?} on {})", self.misbehaviour, self.trigger_op)
    }

    fn prepare(&self, model: &Model) -> Result<Box<dyn Session>, RuntimeError> {
        let triggered = model.graph().node.iter().any(|n| n.op_type == self.trigger_op);
        let inner = Reference.prepare(model)?;
        Ok(Box::new(ChaosSession {
            inner,
            misbehaviour: triggered.then_some(self.misbehaviour),
        }))
    }
}

struct ChaosSession {
    inner: Box<dyn Session>,
    misbehaviour: Option<Misbehaviour>,
}

impl Session for ChaosSession {
    fn run(&mut self, inputs: &[(String, Tensor)]) -> Result<NamedTensors, RuntimeError> {
        match self.misbehaviour {
            Some(Misbehaviour::Abort) => std::process::abort(),
            Some(Misbehaviour::Hang) => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            Some(Misbehaviour::Panic) => panic!("chaos runtime: deliberate panic"),
            None => self.inner.run(inputs),
        }
    }
}
