//! Runtimes in worker processes: a runtime that segfaults, aborts or hangs kills or stalls its
//! worker, not the campaign. The protocol is length-prefixed protobuf over stdin/stdout.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use sysnoise_boundary::onnx::TensorProto;
use sysnoise_boundary::{Model, NamedTensors, Runtime, RuntimeError, Tensor};

use crate::guard::guarded;
use crate::registry;

#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub model: Vec<u8>,
    #[prost(message, repeated, tag = "2")]
    pub inputs: Vec<TensorProto>,
}

/// Several requests in one frame: the worker answers each with its own frame, flushed
/// together, so a batch costs one wake-up each way instead of one per case.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkBatch {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<WorkRequest>,
}

/// `status`: 0 ok, 1 unsupported, 2 failed, 3 unavailable.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkResponse {
    #[prost(message, repeated, tag = "1")]
    pub outputs: Vec<TensorProto>,
    #[prost(int32, tag = "2")]
    pub status: i32,
    #[prost(string, tag = "3")]
    pub message: String,
    #[prost(string, tag = "4")]
    pub node: String,
    /// Time spent inside the runtime (prepare + run), for the overhead benchmark.
    #[prost(uint64, tag = "5")]
    pub runtime_nanos: u64,
}

/// One length-prefixed frame, in a single write: a reader woken by the length alone would
/// only block again for the body. Not flushed.
fn write_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(4 + bytes.len());
    frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    frame.extend_from_slice(bytes);
    out.write_all(&frame)
}

/// One frame, or `None` at a clean end of stream.
fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

thread_local! {
    static RUNTIME_NANOS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn response_for(runtime: &str, built: &Result<Box<dyn Runtime>, RuntimeError>, request: &WorkRequest) -> WorkResponse {
    let run = || -> Result<NamedTensors, RuntimeError> {
        let model = Model::from_bytes(&request.model).map_err(|e| RuntimeError::failed(runtime, e.to_string()))?;
        let inputs = request
            .inputs
            .iter()
            .map(|p| {
                Ok((
                    p.name.clone(),
                    Tensor::from_proto(p).map_err(|e| RuntimeError::failed(runtime, e.to_string()))?,
                ))
            })
            .collect::<Result<Vec<_>, RuntimeError>>()?;
        let rt = built.as_ref().map_err(Clone::clone)?;
        let start = std::time::Instant::now();
        let result = guarded(runtime, || rt.prepare(&model)?.run(&inputs));
        RUNTIME_NANOS.with(|n| n.set(start.elapsed().as_nanos() as u64));
        result
    };
    RUNTIME_NANOS.with(|n| n.set(0));
    let result = run();
    let runtime_nanos = RUNTIME_NANOS.with(std::cell::Cell::get);
    match result {
        Ok(outputs) => WorkResponse {
            outputs: outputs.iter().map(|(n, t)| t.to_proto(n)).collect(),
            runtime_nanos,
            ..Default::default()
        },
        Err(e) => {
            let status = match e {
                RuntimeError::Unsupported { .. } => 1,
                RuntimeError::Failed { .. } => 2,
                RuntimeError::Unavailable { .. } => 3,
            };
            WorkResponse {
                status,
                message: e.to_string(),
                node: e.node().unwrap_or("").to_string(),
                ..Default::default()
            }
        }
    }
}

/// The worker side (`sysnoise worker --runtime NAME`): answers requests until stdin closes.
pub fn serve(runtime: &str) -> std::io::Result<()> {
    let built = registry::build(runtime).map_err(|e| match e {
        crate::EngineError::Runtime(r) => r,
        other => RuntimeError::failed(runtime, other.to_string()),
    });
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::new(std::io::stdout().lock());
    // An empty frame says the runtime is built: the parent's deadlines start from here, so a
    // slow start (linking LibTorch on a loaded machine) is not a hang of the first case.
    write_frame(&mut output, &[])?;
    output.flush()?;
    while let Some(frame) = read_frame(&mut input)? {
        let batch =
            WorkBatch::decode(frame.as_slice()).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        for request in &batch.items {
            write_frame(&mut output, &response_for(runtime, &built, request).encode_to_vec())?;
        }
        output.flush()?;
    }
    Ok(())
}

/// What a worker made of one request.
#[derive(Debug)]
pub enum WorkOutcome {
    Done(Result<NamedTensors, RuntimeError>),
    /// The worker process died (signal or exit status in the text).
    Crashed(String),
    /// No answer within the timeout; the worker was killed.
    TimedOut,
}

/// A request encoded once and sent to every worker of a case.
pub struct EncodedRequest(Vec<u8>);

impl EncodedRequest {
    pub fn new(model: &Model, inputs: &NamedTensors) -> EncodedRequest {
        let request = WorkRequest {
            model: model.to_bytes(),
            inputs: inputs.iter().map(|(n, t)| t.to_proto(n)).collect(),
        };
        EncodedRequest(request.encode_to_vec())
    }
}

/// A running worker process and what it has written that is not yet a whole frame.
struct Connection {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    pending: Vec<u8>,
}

/// What waiting for a frame gave.
enum Received {
    Frame(Vec<u8>),
    /// The worker closed its stdout (it died).
    Closed,
    TimedOut,
}

impl Connection {
    /// The next frame, read straight from the pipe (no relay thread: each hop between
    /// threads costs a wake-up, and the campaign makes thousands of calls a second).
    fn receive(&mut self, deadline: Instant) -> std::io::Result<Received> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if self.pending.len() >= 4 {
                let len = u32::from_le_bytes(self.pending[..4].try_into().expect("4 bytes")) as usize;
                if self.pending.len() >= 4 + len {
                    let frame = self.pending[4..4 + len].to_vec();
                    self.pending.drain(..4 + len);
                    return Ok(Received::Frame(frame));
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(Received::TimedOut);
            }
            if !wait_readable(&self.stdout, remaining)? {
                continue;
            }
            match self.stdout.read(&mut chunk) {
                Ok(0) => return Ok(Received::Closed),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Waits until `stdout` has data (or is closed), at most `timeout`; false on timeout.
#[cfg(unix)]
fn wait_readable(stdout: &ChildStdout, timeout: Duration) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: stdout.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, owned by this frame, for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, millis) };
    match ready {
        -1 => {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(error)
            }
        }
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// Without poll(2) there is no timeout: the read blocks (hangs are then not detected).
#[cfg(not(unix))]
fn wait_readable(_stdout: &ChildStdout, _timeout: Duration) -> std::io::Result<bool> {
    Ok(true)
}

/// A worker process running one runtime, restarted after a crash or a hang.
/// How long a new worker may take to build its runtime before it is given up on (loading
/// LibTorch or a GPU library on a loaded machine takes seconds; the per-request timeouts start
/// only once the worker says it is ready).
const WORKER_START_ALLOWANCE: Duration = Duration::from_secs(120);

pub struct Worker {
    runtime: String,
    exe: PathBuf,
    process: Option<Connection>,
    /// Total time the worker reported spending inside the runtime.
    pub runtime_time: Duration,
}

impl Worker {
    /// A worker for `runtime` using the `sysnoise` executable `exe`; started on first use.
    pub fn new(exe: &Path, runtime: &str) -> Worker {
        Worker {
            runtime: runtime.to_string(),
            exe: exe.to_path_buf(),
            process: None,
            runtime_time: Duration::ZERO,
        }
    }

    pub fn runtime(&self) -> &str {
        &self.runtime
    }

    fn start(&mut self) -> std::io::Result<()> {
        let mut command = Command::new(&self.exe);
        command
            .args(["worker", "--runtime", &self.runtime])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // Its own process group: a Ctrl-C at the terminal stops the campaign, which then
        // ends its workers itself, instead of killing workers mid-case (a false crash).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut connection = Connection {
            child,
            stdin,
            stdout,
            pending: Vec::new(),
        };
        // Wait for the worker's ready frame (its runtime is built) before any deadline runs.
        let ready = connection.receive(Instant::now() + WORKER_START_ALLOWANCE);
        self.process = Some(connection);
        match ready {
            Ok(Received::Frame(frame)) if frame.is_empty() => Ok(()),
            Ok(Received::Frame(_)) => Err(self.start_failure("an answer before its ready signal".into())),
            Ok(Received::TimedOut) => {
                Err(self.start_failure(format!("not ready within {} s", WORKER_START_ALLOWANCE.as_secs())))
            }
            Ok(Received::Closed) | Err(_) => {
                let status = self.kill();
                Err(std::io::Error::other(format!("it ended while starting ({status})")))
            }
        }
    }

    fn start_failure(&mut self, why: String) -> std::io::Error {
        self.kill();
        std::io::Error::other(why)
    }

    fn kill(&mut self) -> String {
        match self.process.take() {
            Some(mut connection) => {
                let _ = connection.child.kill();
                match connection.child.wait() {
                    Ok(status) => describe_exit(status),
                    Err(e) => e.to_string(),
                }
            }
            None => "not running".into(),
        }
    }

    /// Sends a batch of requests without waiting for the answers; `Err` carries the outcome
    /// when the worker could not take it.
    fn send(&mut self, requests: &[&EncodedRequest]) -> Result<(), WorkOutcome> {
        if self.process.is_none()
            && let Err(e) = self.start()
        {
            return Err(WorkOutcome::Crashed(format!("cannot start a worker: {e}")));
        }
        // A WorkBatch on the wire is its items' encodings, each behind field 1's key and length.
        let mut batch = Vec::with_capacity(requests.iter().map(|r| r.0.len() + 6).sum());
        for request in requests {
            prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut batch);
            prost::encoding::encode_varint(request.0.len() as u64, &mut batch);
            batch.extend_from_slice(&request.0);
        }
        let connection = self.process.as_mut().expect("started");
        if write_frame(&mut connection.stdin, &batch).is_err() {
            return Err(WorkOutcome::Crashed(self.kill()));
        }
        Ok(())
    }

    /// Waits until `deadline` for the next answer.
    fn receive(&mut self, deadline: Instant) -> WorkOutcome {
        let Some(connection) = self.process.as_mut() else {
            return WorkOutcome::Crashed("not running".into());
        };
        match connection.receive(deadline) {
            Ok(Received::Frame(frame)) => match WorkResponse::decode(frame.as_slice()) {
                Ok(response) => {
                    self.runtime_time += Duration::from_nanos(response.runtime_nanos);
                    WorkOutcome::Done(decode_response(&self.runtime, response))
                }
                Err(e) => {
                    self.kill();
                    WorkOutcome::Crashed(format!("garbled answer: {e}"))
                }
            },
            Ok(Received::Closed) | Err(_) => WorkOutcome::Crashed(self.kill()),
            Ok(Received::TimedOut) => {
                self.kill();
                WorkOutcome::TimedOut
            }
        }
    }

    /// Runs `model` on `inputs` in the worker, waiting at most `timeout`.
    pub fn run(&mut self, model: &Model, inputs: &NamedTensors, timeout: Duration) -> WorkOutcome {
        self.run_encoded(&EncodedRequest::new(model, inputs), timeout)
    }

    /// Runs an already encoded request (one encoding serves every worker of a case).
    pub fn run_encoded(&mut self, request: &EncodedRequest, timeout: Duration) -> WorkOutcome {
        self.run_batch(&[request], timeout)
            .pop()
            .expect("one outcome per request")
    }

    /// Runs several requests in one exchange, `timeout` each (the batch gets their sum). When
    /// the worker dies or stalls mid-batch, the answers received stand and the rest are re-run
    /// one by one on a fresh worker, so the crash or hang is pinned on its own request.
    pub fn run_batch(&mut self, requests: &[&EncodedRequest], timeout: Duration) -> Vec<WorkOutcome> {
        if let Err(outcome) = self.send(requests) {
            return if requests.len() == 1 {
                vec![outcome]
            } else {
                requests.iter().map(|r| self.run_encoded(r, timeout)).collect()
            };
        }
        let deadline = Instant::now() + timeout * requests.len() as u32;
        let mut outcomes = Vec::with_capacity(requests.len());
        while outcomes.len() < requests.len() {
            match self.receive(deadline) {
                done @ WorkOutcome::Done(_) => outcomes.push(done),
                failure if requests.len() == 1 => outcomes.push(failure),
                _ => {
                    let answered = outcomes.len();
                    outcomes.extend(requests[answered..].iter().map(|r| self.run_encoded(r, timeout)));
                }
            }
        }
        outcomes
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        let name = match signal {
            6 => "SIGABRT",
            9 => "SIGKILL",
            11 => "SIGSEGV",
            7 => "SIGBUS",
            8 => "SIGFPE",
            4 => "SIGILL",
            _ => "signal",
        };
        return format!("killed by {name} ({signal})");
    }
    format!("exited with {status}")
}

fn decode_response(runtime: &str, response: WorkResponse) -> Result<NamedTensors, RuntimeError> {
    let node = (!response.node.is_empty()).then(|| response.node.clone());
    let at = |e: RuntimeError| match &node {
        Some(n) => e.at(n.clone()),
        None => e,
    };
    match response.status {
        0 => response
            .outputs
            .iter()
            .map(|p| {
                Ok((
                    p.name.clone(),
                    Tensor::from_proto(p).map_err(|e| RuntimeError::failed(runtime, e.to_string()))?,
                ))
            })
            .collect(),
        1 => Err(at(RuntimeError::unsupported(runtime, strip_prefix(&response.message)))),
        3 => Err(RuntimeError::Unavailable {
            runtime: runtime.to_string(),
            reason: response.message,
            install: "see `sysnoise runtimes`".into(),
        }),
        _ => Err(at(RuntimeError::failed(runtime, strip_prefix(&response.message)))),
    }
}

/// The worker already formatted "<runtime> failed: ..."; keep only the message.
fn strip_prefix(message: &str) -> String {
    message.split_once(": ").map_or(message, |(_, rest)| rest).to_string()
}
