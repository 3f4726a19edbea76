//! `Error`: why a compute failed, naming the task and keeping the cause.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::key::Key;
use crate::value::Value;

/// The error a task body returns: the user's own error, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Runs a failed task again in this process, its inputs computed anew:
/// what [`Error::replay`] calls. Made by the executor, which knows how.
pub(crate) type Rerun = Arc<dyn Fn() -> Result<Value, Error> + Send + Sync>;

/// Why a compute failed.
///
/// A task that returns `Err(e)` or panics fails the whole compute. The error
/// names the task by its [`Key`] and keeps the task's own error (or the panic
/// message) as its [`source()`](std::error::Error::source), so nothing of the
/// cause is lost:
///
/// ```
/// use delayed::delayed;
/// use std::error::Error as _;
///
/// #[delayed]
/// fn parse(s: String) -> Result<i64, std::num::ParseIntError> { s.parse() }
///
/// let err = parse("ten".to_string()).compute().unwrap_err();
/// assert!(err.to_string().starts_with("task `parse-"));
/// assert_eq!(err.key().unwrap().name(), "parse");
/// let cause = err.source().unwrap();
/// assert!(cause.downcast_ref::<std::num::ParseIntError>().is_some());
/// ```
///
/// `Display` is one line naming the task. The `Debug` form, which
/// `fn main() -> Result<(), delayed::Error>` prints, reads like `anyhow`'s
/// report: the message, the task's function and key, then the chain of
/// causes, one per line.
pub struct Error {
    kind: Box<Kind>,
}

/// Each kind of failure with the data that kind has.
enum Kind {
    /// A task returned `Err` (its error) or panicked (its message), or a
    /// callback hook panicked while telling about the task.
    Task {
        key: Key,
        source: BoxError,
        cause: Cause,
        /// How many times the task ran: 1 unless it was retried.
        attempts: u32,
        /// Runs it again here, for [`Error::replay`].
        rerun: Option<Rerun>,
    },
    /// A task's own "no value, skip my dependents" ([`Error::skip`]),
    /// before it is tied to the task.
    Skip { reason: Option<String> },
    /// An output not computed because the compute stopped after
    /// `max_failures` failures.
    MaxFailures(usize),
    /// An output whose input failed, in a compute that goes on after a
    /// failure (`as_completed`): the input's error is the source.
    Upstream { key: Key, failed: Arc<Error> },
    /// The compute was cancelled before it finished.
    Cancelled,
    /// A running compute's output was asked for after it was taken.
    Taken,
    /// An error several outputs share (`as_completed`): it behaves as the
    /// error inside.
    Shared(Arc<Error>),
    /// A task was configured with a value it cannot take.
    Config { key: Key, message: String },
    /// A callback's compute-level hook (`start` or `finish`) panicked.
    Callback {
        hook: &'static str,
        message: Message,
    },
    /// The runtime could not be started.
    Start(std::io::Error),
    /// The runtime went away before the compute ended.
    Stopped,
    /// A picture or report could not be written to a file.
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The dashboard could not listen at its address.
    Serve {
        address: String,
        source: std::io::Error,
    },
    /// A picture was asked for in a format we do not write.
    Format {
        path: std::path::PathBuf,
        formats: &'static str,
    },
    /// A picture could not be rendered.
    Render(Message),
    /// A setting, a broker, a value crossing to a worker or a task
    /// function run by name: a message saying what to do, its kind, and
    /// the error behind it if there is one.
    Service {
        kind: ErrorKind,
        message: String,
        source: Option<BoxError>,
    },
}

/// What kind of failure an [`Error`] is, for a caller that acts on it:
/// retry when the broker was out of reach, fix a setting, report a bug in
/// a task. Read it with [`Error::kind`]; like [`std::io::ErrorKind`], new
/// kinds may be added, so a `match` needs a `_` arm.
///
/// ```
/// use delayed::{delayed, ErrorKind};
///
/// #[delayed]
/// fn parse(s: String) -> Result<i64, std::num::ParseIntError> { s.parse() }
///
/// match parse("ten".to_string()).compute() {
///     Ok(n) => println!("{n}"),
///     Err(e) if e.kind() == ErrorKind::Task => eprintln!("bad input: {e:?}"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A task returned `Err`; its error is the [`source`](std::error::Error::source).
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn half(x: u32) -> Result<u32, String> { if x % 2 == 0 { Ok(x / 2) } else { Err(format!("{x} is odd")) } }
    ///
    /// assert_eq!(half(3).compute().unwrap_err().kind(), delayed::ErrorKind::Task);
    /// ```
    Task,
    /// A task panicked (the source is the panic message), or a callback's
    /// hook did.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn boom(x: u32) -> u32 { if x > 0 { panic!("no") } x }
    ///
    /// assert_eq!(boom(1).compute().unwrap_err().kind(), delayed::ErrorKind::Panic);
    /// ```
    Panic,
    /// A task ran out of the time its timeout gave it.
    ///
    /// ```
    /// #[delayed::delayed]
    /// async fn slow() -> u32 { tokio::time::sleep(std::time::Duration::from_secs(10)).await; 1 }
    ///
    /// let err = slow().with_timeout(std::time::Duration::from_millis(5)).compute().unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::TimedOut);
    /// ```
    TimedOut,
    /// A task did not run because one of its inputs failed first, in a
    /// compute that goes on after failures
    /// ([`as_completed`](crate::as_completed)); the input's error is the
    /// source.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn check(x: i64) -> Result<i64, String> { if x < 0 { Err("negative".into()) } else { Ok(x) } }
    /// #[delayed::delayed]
    /// fn double(x: i64) -> i64 { 2 * x }
    ///
    /// let handles = vec![double(check(-1))];
    /// let (_, first) = delayed::as_completed(&handles)?.next().unwrap();
    /// assert_eq!(first.unwrap_err().kind(), delayed::ErrorKind::Upstream);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    Upstream,
    /// A task returned [`Error::skip`]: it has no value, and the tasks
    /// that need it did not run (theirs is of this kind too). Not a
    /// failure to [`max_failures`](crate::KeepGoing::max_failures).
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn load(day: u32) -> Result<u32, delayed::Error> {
    ///     if day == 0 { Err(delayed::Error::skip()) } else { Ok(day) }
    /// }
    /// #[delayed::delayed]
    /// fn double(x: u32) -> u32 { 2 * x }
    ///
    /// let [sunday, monday] = delayed::compute_settled(&[double(load(0)), double(load(1))])?;
    /// assert_eq!(sunday.unwrap_err().kind(), delayed::ErrorKind::Skipped);
    /// assert_eq!(monday?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    Skipped,
    /// The compute was cancelled ([`Running::cancel`](crate::Running::cancel),
    /// or its future dropped), or, for an output of
    /// [`compute_settled`](crate::Client::compute_settled), stopped after
    /// [`max_failures`](crate::KeepGoing::max_failures) failures.
    ///
    /// ```
    /// #[delayed::delayed]
    /// fn wait(ms: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(ms)); ms }
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let running = client.submit(&vec![wait(50), wait(50)]);
    /// running.cancel();
    /// assert_eq!(running.wait().unwrap_err().kind(), delayed::ErrorKind::Cancelled);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    Cancelled,
    /// A setting cannot be used: a builder's argument (`threads(0)`), a
    /// task's (`with_retries(0)`), an environment variable a worker reads,
    /// or a file format to save in. The message says what to give instead.
    ///
    /// ```
    /// let err = delayed::Client::builder().threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::Config);
    /// ```
    Config,
    /// The broker could not be reached, refused the credentials, or was
    /// lost for longer than a client waits (feature `distributed`): worth
    /// trying again once it runs.
    ///
    #[cfg_attr(feature = "distributed", doc = "```")]
    #[cfg_attr(not(feature = "distributed"), doc = "```text")]
    /// let err = delayed::Client::builder().redis("redis://127.0.0.1:1").build().unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::Broker);
    /// ```
    Broker,
    /// A value could not be encoded as MessagePack or decoded from it, on
    /// its way to or from a worker (feature `distributed`).
    ///
    #[cfg_attr(feature = "distributed", doc = "```")]
    #[cfg_attr(not(feature = "distributed"), doc = "```text")]
    /// let err = delayed::distributed::decode::<u32>(b"\xc0").unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::Codec);
    /// ```
    Codec,
    /// A task function could not be run by name: it runs only where it is
    /// called, or several functions have its path (feature `distributed`).
    ///
    #[cfg_attr(feature = "distributed", doc = "```")]
    #[cfg_attr(not(feature = "distributed"), doc = "```text")]
    /// #[delayed::delayed(local)]
    /// fn here(x: u32) -> u32 { x }
    ///
    /// let here = delayed::distributed::function(concat!(module_path!(), "::here")).unwrap();
    /// let err = here.call(&delayed::distributed::encode(&(1_u32,))?).unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::Registry);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    Registry,
    /// A task's workers were lost each time it was delivered (killed, or
    /// stopped past their lease) until its retries ran out (feature
    /// `distributed`): the task itself may be sound.
    ///
    /// ```
    /// use delayed::ErrorKind;
    ///
    /// /// Whether computing again may succeed with nothing changed.
    /// fn worth_retrying(err: &delayed::Error) -> bool {
    ///     matches!(err.kind(), ErrorKind::Broker | ErrorKind::LostWorker)
    /// }
    ///
    /// let err = delayed::Client::builder().threads(0).build().unwrap_err();
    /// assert!(!worth_retrying(&err)); // a setting to fix, not a retry
    /// ```
    LostWorker,
    /// The operating system refused something: threads for the runtime,
    /// a file to write, an address for the dashboard. The source is the
    /// [`std::io::Error`].
    ///
    /// ```
    /// let err = delayed::value(1).visualize().save("/nonexistent/dir/g.svg").unwrap_err();
    /// assert_eq!(err.kind(), delayed::ErrorKind::Io);
    /// ```
    Io,
    /// The client's runtime stopped before the compute finished, or a
    /// running compute's output was asked for after it was taken, or a
    /// picture could not be rendered.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let mut running = client.submit(&delayed::value(1));
    /// assert_eq!(running.wait_timeout(Duration::from_secs(10)).unwrap()?, 1);
    /// let again = running.wait().unwrap_err(); // given once, to the first
    /// assert_eq!(again.kind(), delayed::ErrorKind::Other);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    Other,
}

/// How one attempt at a task failed.
pub(crate) enum Fault {
    Error(BoxError),
    Panic(String),
    /// No result within the task's timeout.
    Timeout(Duration),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Error(error) => write!(f, "{error}"),
            Fault::Panic(message) => write!(f, "panicked: {message}"),
            Fault::Timeout(after) => write!(f, "{}", TimedOut(*after)),
        }
    }
}

/// A panic's message: its payload's text.
pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "a panic with a non-string payload".to_owned(),
        },
    }
}

/// How a task failed, before it is tied to its key.
pub(crate) enum Failure {
    /// It ran `attempts` times, and its last attempt failed so.
    Ran { fault: Fault, attempts: u32 },
    /// The task's settings are invalid (`with_retries(0)`): it did not run.
    Config(String),
    /// In a compute that goes on after a failure, the task did not run
    /// because this input error came first.
    Upstream(Arc<Error>),
}

impl From<Fault> for Failure {
    fn from(fault: Fault) -> Failure {
        Failure::Ran { fault, attempts: 1 }
    }
}

impl Failure {
    /// This failure as the last of `attempts` attempts.
    pub(crate) fn after(self, attempts: u32) -> Failure {
        match self {
            Failure::Ran { fault, .. } => Failure::Ran { fault, attempts },
            failure => failure,
        }
    }

    /// The failure of a panic with this payload.
    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        Fault::Panic(panic_message(payload)).into()
    }

    /// Whether the task ran out of time: such an attempt may still run,
    /// so it is never run again.
    pub(crate) fn is_timeout(&self) -> bool {
        matches!(
            self,
            Failure::Ran {
                fault: Fault::Timeout(_),
                ..
            }
        )
    }
}

/// How a task failed, as callbacks see it (`TaskFinish::error`), before
/// the compute's [`Error`] names the task.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Ran { fault, attempts: 1 } => write!(f, "{fault}"),
            Failure::Ran { fault, attempts } => write!(f, "{fault} (attempt {attempts})"),
            Failure::Config(message) => f.write_str(message),
            Failure::Upstream(input) => write!(f, "{input}"),
        }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Ran {
                fault: Fault::Error(error),
                ..
            } => error.source(),
            Failure::Upstream(input) => Some(&**input),
            Failure::Ran { .. } | Failure::Config(_) => None,
        }
    }
}

/// A task's error when the workers it was sent to were lost each time it
/// was delivered, until its retries ran out: what the report says. Made
/// by the distributed backend; it makes the task's error
/// [`ErrorKind::LostWorker`].
#[derive(Debug)]
pub(crate) struct WorkersLost(pub(crate) String);

impl fmt::Display for WorkersLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "on a worker: {}", self.0)
    }
}

impl std::error::Error for WorkersLost {}

/// What made a task fail, for `Display` and the predicates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    Error,
    Panic,
    Timeout,
    /// Its workers were lost ([`WorkersLost`]).
    Lost,
    /// It ran on workers, and the broker failed it (an error of
    /// [`ErrorKind::Broker`]).
    Broker,
    /// It returned [`Error::skip`].
    Skipped,
}

/// The source of a timed-out task's error.
#[derive(Debug)]
struct TimedOut(Duration);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no result within {:?}", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// A message as an error: a panicked task's message, or a renderer's.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl Error {
    fn new(kind: Kind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::new(Kind::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// An error for a file that could not be written, for programs that
    /// write files next to the pictures and reports they save.
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let cause = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only");
    /// let err = delayed::Error::from_io(Path::new("out/graph.svg"), cause);
    /// assert_eq!(err.to_string(), "could not write `out/graph.svg`");
    /// ```
    pub fn from_io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::io(path, source)
    }

    pub(crate) fn unsupported_format(path: &std::path::Path, formats: &'static str) -> Error {
        Error::new(Kind::Format {
            path: path.to_owned(),
            formats,
        })
    }

    #[allow(dead_code)] // only the `png` feature renders
    pub(crate) fn render(message: String) -> Error {
        Error::new(Kind::Render(Message(message)))
    }

    pub(crate) fn task(key: Key, failure: Failure) -> Error {
        let (fault, attempts) = match failure {
            Failure::Config(message) => return Error::task_config(key, message),
            Failure::Upstream(input) => return Error::upstream(key, input),
            Failure::Ran { fault, attempts } => (fault, attempts),
        };
        let (source, cause): (BoxError, Cause) = match fault {
            Fault::Error(source) => {
                let cause = if is_skip(&*source) {
                    Cause::Skipped
                } else if source.is::<WorkersLost>() {
                    Cause::Lost
                } else if source
                    .downcast_ref::<Error>()
                    .is_some_and(|error| error.kind() == ErrorKind::Broker)
                {
                    // A task on workers whose broker failed it: the
                    // broker's error, not the task's.
                    Cause::Broker
                } else {
                    Cause::Error
                };
                (source, cause)
            }
            Fault::Panic(message) => (Box::new(Message(message)), Cause::Panic),
            Fault::Timeout(after) => (Box::new(TimedOut(after)), Cause::Timeout),
        };
        Error::new(Kind::Task {
            key,
            source,
            cause,
            attempts,
            rerun: None,
        })
    }

    /// This task's error, able to run the task again with `rerun`
    /// ([`Error::replay`]).
    pub(crate) fn replayable(mut self, rerun: Rerun) -> Error {
        if let Kind::Task { rerun: slot, .. } = &mut *self.kind {
            *slot = Some(rerun);
        }
        self
    }

    /// "No value; skip the tasks that need mine": what a task returns
    /// when it has nothing to give and nothing went wrong, a day with no
    /// data, a file that is not there yet. Its dependents do not run;
    /// each output that needs it is an error of kind
    /// [`ErrorKind::Skipped`], which
    /// [`compute_settled`](crate::Client::compute_settled) gives beside
    /// the other outputs, and which is not retried or counted as a
    /// failure. A task returns it as its error, so its error type must
    /// hold it: `delayed::Error`, or a `Box<dyn Error + Send + Sync>`.
    ///
    /// ```
    /// use delayed::{delayed, Error, ErrorKind};
    ///
    /// #[delayed]
    /// fn rows(file: String) -> Result<Vec<u32>, Error> {
    ///     if file.is_empty() { return Err(Error::skip()) }
    ///     Ok(vec![1, 2, 3])
    /// }
    ///
    /// let err = rows(String::new()).compute().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Skipped);
    /// ```
    pub fn skip() -> Error {
        Error::new(Kind::Skip { reason: None })
    }

    /// [`skip`](Self::skip), saying why: the reason is its message.
    ///
    /// ```
    /// let skip = delayed::Error::skip_because("no trades on Sunday");
    /// assert_eq!(skip.to_string(), "skipped: no trades on Sunday");
    /// assert_eq!(skip.kind(), delayed::ErrorKind::Skipped);
    /// ```
    pub fn skip_because(reason: impl Into<String>) -> Error {
        Error::new(Kind::Skip {
            reason: Some(reason.into()),
        })
    }

    /// For a task that skipped ([`Error::skip`]), the reason it gave, if
    /// any; `None` for any other error.
    #[allow(dead_code)] // only a worker (feature `distributed`) reports skips
    pub(crate) fn skip_reason(&self) -> Option<Option<&str>> {
        let mut error: &(dyn std::error::Error + 'static) = self;
        loop {
            if let Some(Kind::Skip { reason }) = error
                .downcast_ref::<Error>()
                .map(|error| &*error.resolved().kind)
            {
                return Some(reason.as_deref());
            }
            error = error.source()?;
        }
    }

    /// The outputs of a keep-going compute left when it stopped after
    /// `failures` failures.
    pub(crate) fn max_failures(failures: usize) -> Error {
        Error::new(Kind::MaxFailures(failures))
    }

    /// Runs the task whose failure this is again, here, in the calling
    /// thread: the same function on inputs computed again from the same
    /// graph, so that you can step through it in a debugger, or see it
    /// succeed once what it read is fixed. For a task that did not run
    /// because an input failed, the input is replayed; a task that failed
    /// on a worker runs here too.
    ///
    /// Its inputs are computed anew, in this thread, rather than kept
    /// from the failed compute: keeping them would cost every task a copy
    /// of its inputs, failing or not. So a replay costs what the failed
    /// task's ancestors cost to compute (nothing for those the
    /// cache has, feature `cache`), and the error holds the failed task's
    /// part of the graph, not its values, for as long as it lives.
    ///
    /// # Errors
    ///
    /// The replay's own error when it fails again (of the same task, or of
    /// an input that fails now); an error of kind [`ErrorKind::Config`]
    /// when this error is not a task's (the runtime failed, or a setting).
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::sync::atomic::{AtomicI64, Ordering};
    ///
    /// static LIMIT: AtomicI64 = AtomicI64::new(0);
    ///
    /// #[delayed]
    /// fn limit() -> i64 { LIMIT.load(Ordering::Relaxed) }
    /// #[delayed]
    /// fn check(x: i64, limit: i64) -> Result<i64, String> {
    ///     if x > limit { Err(format!("{x} is over {limit}")) } else { Ok(x) }
    /// }
    ///
    /// let err = check(5, limit()).compute().unwrap_err();
    /// let again = err.replay().unwrap_err(); // fails again, the same way
    /// assert_eq!(again.to_string(), err.to_string());
    /// LIMIT.store(10, Ordering::Relaxed); // fix what it read
    /// assert!(err.replay().is_ok());
    /// ```
    pub fn replay(&self) -> Result<(), Error> {
        let mut error = self.resolved();
        loop {
            match &*error.kind {
                Kind::Upstream { failed, .. } => error = failed.resolved(),
                Kind::Task {
                    rerun: Some(rerun), ..
                } => return rerun().map(drop),
                _ => {
                    return Err(Error::config(format!(
                        "nothing to replay: \"{self}\" is not the failure of a task that \
                         ran in a compute (replay the error a compute returned)"
                    )));
                }
            }
        }
    }

    /// An output that could not be computed because `failed` failed first.
    pub(crate) fn upstream(key: Key, failed: Arc<Error>) -> Error {
        Error::new(Kind::Upstream { key, failed })
    }

    pub(crate) fn cancelled() -> Error {
        Error::new(Kind::Cancelled)
    }

    pub(crate) fn taken() -> Error {
        Error::new(Kind::Taken)
    }

    pub(crate) fn shared(error: Arc<Error>) -> Error {
        Error::new(Kind::Shared(error))
    }

    /// The error this one stands for: itself, or the one it shares.
    fn resolved(&self) -> &Error {
        let mut error = self;
        while let Kind::Shared(inner) = &*error.kind {
            error = inner;
        }
        error
    }

    /// A task configured with a value it cannot take.
    pub(crate) fn task_config(key: Key, message: String) -> Error {
        Error::new(Kind::Config { key, message })
    }

    /// A compute-level hook (`start`, `finish`) of a callback panicked
    /// with this message.
    pub(crate) fn callback(hook: &'static str, message: String) -> Error {
        Error::new(Kind::Callback {
            hook,
            message: Message(message),
        })
    }

    /// The dashboard could not listen at `address`.
    #[allow(dead_code)] // only the `dashboard` feature serves
    pub(crate) fn serve(address: String, source: std::io::Error) -> Error {
        Error::new(Kind::Serve { address, source })
    }

    pub(crate) fn start(source: std::io::Error) -> Error {
        Error::new(Kind::Start(source))
    }

    pub(crate) fn stopped() -> Error {
        Error::new(Kind::Stopped)
    }

    /// A failure of `kind` outside any task: the message says what is
    /// wrong and what to do; `source` is the error behind it.
    fn service(kind: ErrorKind, message: String, source: Option<BoxError>) -> Error {
        Error::new(Kind::Service {
            kind,
            message,
            source,
        })
    }

    /// A setting that cannot be used ([`ErrorKind::Config`]).
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::service(ErrorKind::Config, message.into(), None)
    }

    /// The broker failed us ([`ErrorKind::Broker`]).
    #[allow(dead_code)] // only the `distributed` feature has a broker
    pub(crate) fn broker(message: String, source: Option<BoxError>) -> Error {
        Error::service(ErrorKind::Broker, message, source)
    }

    /// A value that could not cross to a worker or back ([`ErrorKind::Codec`]).
    #[allow(dead_code)] // only the `distributed` feature encodes values
    pub(crate) fn codec(message: String, source: BoxError) -> Error {
        Error::service(ErrorKind::Codec, message, Some(source))
    }

    /// A failure of our own with nothing more specific to say
    /// ([`ErrorKind::Other`]); the message says what to do.
    #[allow(dead_code)] // only a worker (feature `distributed`) has one
    pub(crate) fn other(message: String) -> Error {
        Error::service(ErrorKind::Other, message, None)
    }

    /// A task function that cannot run by name ([`ErrorKind::Registry`]).
    #[allow(dead_code)] // only the `distributed` feature runs functions by name
    pub(crate) fn registry(message: String) -> Error {
        Error::service(ErrorKind::Registry, message, None)
    }

    /// What kind of failure this is, to act on; see [`ErrorKind`].
    ///
    /// ```
    /// use delayed::ErrorKind;
    ///
    /// #[delayed::delayed]
    /// fn check(x: i64) -> Result<i64, String> { if x < 0 { Err("negative".into()) } else { Ok(x) } }
    ///
    /// let err = check(-1).compute().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Task);
    /// assert!(!matches!(err.kind(), ErrorKind::Broker | ErrorKind::LostWorker)); // not worth a retry
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match &*self.resolved().kind {
            Kind::Task { cause, .. } => match cause {
                Cause::Error => ErrorKind::Task,
                Cause::Panic => ErrorKind::Panic,
                Cause::Timeout => ErrorKind::TimedOut,
                Cause::Lost => ErrorKind::LostWorker,
                Cause::Broker => ErrorKind::Broker,
                Cause::Skipped => ErrorKind::Skipped,
            },
            // What a skip keeps from running is skipped too.
            Kind::Upstream { failed, .. } if failed.kind() == ErrorKind::Skipped => {
                ErrorKind::Skipped
            }
            Kind::Skip { .. } => ErrorKind::Skipped,
            Kind::Upstream { .. } => ErrorKind::Upstream,
            Kind::Cancelled | Kind::MaxFailures(_) => ErrorKind::Cancelled,
            Kind::Callback { .. } => ErrorKind::Panic,
            Kind::Config { .. } | Kind::Format { .. } => ErrorKind::Config,
            Kind::Start(_) | Kind::Write { .. } | Kind::Serve { .. } => ErrorKind::Io,
            Kind::Service { kind, .. } => *kind,
            Kind::Taken | Kind::Stopped | Kind::Render(_) | Kind::Shared(_) => ErrorKind::Other,
        }
    }

    /// The key of the task that failed, if a task failed (rather than the
    /// runtime itself).
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn check(x: i64) -> Result<i64, String> {
    ///     if x < 0 { Err(format!("{x} is negative")) } else { Ok(x) }
    /// }
    ///
    /// let c = check(-1);
    /// let err = c.compute().unwrap_err();
    /// assert_eq!(err.key(), Some(c.key()));
    /// ```
    pub fn key(&self) -> Option<&Key> {
        match &*self.resolved().kind {
            Kind::Task { key, .. } | Kind::Upstream { key, .. } | Kind::Config { key, .. } => {
                Some(key)
            }
            _ => None,
        }
    }

    /// Whether a task ran out of time: its timeout
    /// ([`Delayed::with_timeout`](crate::Delayed::with_timeout) or
    /// `#[delayed(timeout = "…")]`) passed before it returned.
    ///
    /// ```
    /// use delayed::delayed;
    /// use std::time::Duration;
    ///
    /// #[delayed]
    /// async fn slow(ms: u64) -> u64 {
    ///     tokio::time::sleep(Duration::from_millis(ms)).await;
    ///     ms
    /// }
    ///
    /// let err = slow(10_000).with_timeout(Duration::from_millis(10)).compute().unwrap_err();
    /// assert!(err.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(
            &*self.resolved().kind,
            Kind::Task {
                cause: Cause::Timeout,
                ..
            }
        )
    }

    /// Whether the compute was cancelled
    /// ([`Running::cancel`](crate::Running::cancel)).
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn wait(ms: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(ms)); ms }
    ///
    /// let client = delayed::Client::builder().threads(1).build()?;
    /// let running = client.submit(&vec![wait(50), wait(50)]);
    /// running.cancel();
    /// assert!(running.wait().unwrap_err().is_cancelled());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(
            &*self.resolved().kind,
            Kind::Cancelled | Kind::MaxFailures(_)
        )
    }

    /// How many times the failed task ran: more than 1 when it was retried
    /// ([`Delayed::with_retries`](crate::Delayed::with_retries)), 0 when
    /// no task failed.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed(retries = 2)]
    /// fn flaky(x: i64) -> Result<i64, String> { Err(format!("no {x}")) }
    ///
    /// let err = flaky(1).with_backoff(std::time::Duration::from_millis(1)).compute().unwrap_err();
    /// assert_eq!(err.attempts(), 3);
    /// assert!(err.to_string().ends_with("failed after 3 attempts"));
    /// ```
    pub fn attempts(&self) -> u32 {
        match &*self.resolved().kind {
            Kind::Task { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// Whether the failure is a panic (its source is then the panic
    /// message): of a task, or of a callback hook, rather than an `Err`.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[delayed]
    /// fn boom(x: i64) -> i64 { if x > 0 { panic!("too big: {x}") } x }
    ///
    /// let err = boom(1).compute().unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "too big: 1");
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(
            &*self.resolved().kind,
            Kind::Task {
                cause: Cause::Panic,
                ..
            } | Kind::Callback { .. }
        )
    }

    /// Takes the cause out of the error: the task's own error, the panic
    /// message, or the I/O error that kept the runtime from starting.
    ///
    /// ```
    /// use delayed::delayed;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Empty;
    /// impl std::fmt::Display for Empty {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("empty") }
    /// }
    /// impl std::error::Error for Empty {}
    ///
    /// #[delayed]
    /// fn first(v: Vec<i64>) -> Result<i64, Empty> { v.first().copied().ok_or(Empty) }
    ///
    /// let cause = first(Vec::new() as Vec<i64>).compute().unwrap_err().into_source().unwrap();
    /// assert_eq!(*cause.downcast::<Empty>().unwrap(), Empty);
    /// ```
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync + 'static>> {
        match *self.kind {
            Kind::Task { source, .. } => Some(source),
            Kind::Callback { message, .. } | Kind::Render(message) => Some(Box::new(message)),
            Kind::Start(source) | Kind::Write { source, .. } | Kind::Serve { source, .. } => {
                Some(Box::new(source))
            }
            Kind::Upstream { failed, .. } | Kind::Shared(failed) => Some(Box::new(Shared(failed))),
            Kind::Service { source, .. } => source,
            Kind::Stopped
            | Kind::Format { .. }
            | Kind::Cancelled
            | Kind::Taken
            | Kind::Skip { .. }
            | Kind::MaxFailures(_)
            | Kind::Config { .. } => None,
        }
    }
}

/// Whether a task's error is its [`Error::skip`], directly or shared.
fn is_skip(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<Error>()
        .is_some_and(|error| matches!(&*error.resolved().kind, Kind::Skip { .. }))
}

impl Failure {
    /// Whether the task said "skip me" ([`Error::skip`]): it is not run
    /// again, and not counted as a failure.
    pub(crate) fn is_skip(&self) -> bool {
        matches!(self, Failure::Ran { fault: Fault::Error(error), .. } if is_skip(&**error))
    }
}

/// An error that several outputs share as their source.
struct Shared(Arc<Error>);

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.resolved().kind {
            Kind::Task {
                key,
                cause,
                attempts,
                ..
            } => {
                let what = match cause {
                    Cause::Error | Cause::Lost | Cause::Broker => "failed",
                    Cause::Panic => "panicked",
                    Cause::Timeout => "timed out",
                    Cause::Skipped => "skipped",
                };
                write!(f, "task `{key}` {what}")?;
                if *attempts > 1 {
                    write!(f, " after {attempts} attempts")?;
                }
                Ok(())
            }
            Kind::Upstream { key, failed } => {
                let how = match failed.kind() {
                    ErrorKind::Skipped => "was skipped",
                    _ => "failed",
                };
                match failed.key() {
                    Some(input) => write!(f, "task `{key}` did not run: `{input}` {how}"),
                    None => write!(f, "task `{key}` did not run: an input {how}"),
                }
            }
            Kind::Skip { reason: None } => f.write_str("skipped"),
            Kind::Skip {
                reason: Some(reason),
            } => write!(f, "skipped: {reason}"),
            Kind::MaxFailures(failures) => write!(
                f,
                "not computed: the compute stopped after {failures} failed task{} \
                 (`max_failures({failures})`)",
                if *failures == 1 { "" } else { "s" }
            ),
            Kind::Cancelled => f.write_str("the compute was cancelled"),
            Kind::Taken => f.write_str(
                "the output of this compute was taken already: a `Running` gives its output once, to the first `wait`, `wait_timeout` or await that gets it",
            ),
            Kind::Shared(inner) => fmt::Display::fmt(inner, f),
            Kind::Config { key, message } => write!(f, "task `{key}`: {message}"),
            Kind::Callback { hook, .. } => {
                write!(f, "a callback panicked in its `{hook}` hook")
            }
            Kind::Start(_) => f.write_str("could not start the delayed runtime"),
            Kind::Stopped => f.write_str("the delayed runtime stopped before the compute finished"),
            Kind::Write { path, .. } => write!(f, "could not write `{}`", path.display()),
            Kind::Serve { address, .. } => {
                write!(
                    f,
                    "could not serve the dashboard at `{address}`: give another address, \
                     or port 0 for any free one"
                )
            }
            Kind::Format { path, formats } => write!(
                f,
                "cannot save `{}`: name a {formats} file{}",
                path.display(),
                if cfg!(feature = "png") {
                    ""
                } else {
                    " (`.png` needs the `png` feature)"
                }
            ),
            Kind::Render(_) => f.write_str("could not render the picture"),
            Kind::Service { message, .. } => f.write_str(message),
        }
    }
}

impl fmt::Debug for Error {
    /// `{:?}` shows the error and its chain of causes, like a report;
    /// `{:#?}` shows the fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("Error")
                .field("message", &self.to_string())
                .field("key", &self.key())
                .field("panicked", &self.is_panic())
                .field("source", &std::error::Error::source(self))
                .finish();
        }
        write!(f, "{self}")?;
        if let Some(key) = self.key() {
            write!(f, "\n\nTask:\n    function: {}\n    key: {key}", key.name())?;
        }
        let mut causes = Vec::new();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            causes.push(error.to_string());
            cause = error.source();
        }
        match causes.as_slice() {
            [] => {}
            [only] => write!(f, "\n\nCaused by:\n    {only}")?,
            many => {
                f.write_str("\n\nCaused by:")?;
                for (i, cause) in many.iter().enumerate() {
                    write!(f, "\n    {i}: {cause}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            Kind::Task { source, .. } => Some(&**source),
            Kind::Callback { message, .. } | Kind::Render(message) => Some(message),
            Kind::Start(source) | Kind::Write { source, .. } | Kind::Serve { source, .. } => {
                Some(source)
            }
            Kind::Upstream { failed, .. } => Some(&**failed),
            Kind::Shared(inner) => std::error::Error::source(&**inner),
            Kind::Service { source, .. } => source
                .as_deref()
                .map(|source| source as &(dyn std::error::Error + 'static)),
            Kind::Stopped
            | Kind::Format { .. }
            | Kind::Cancelled
            | Kind::Taken
            | Kind::Skip { .. }
            | Kind::MaxFailures(_)
            | Kind::Config { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Name;

    fn assert_error_traits<E: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn is_a_thread_safe_std_error() {
        assert_error_traits::<Error>();
    }

    #[test]
    fn panic_payloads_become_messages() {
        assert_eq!(panic_message(Box::new("static")), "static");
        assert_eq!(panic_message(Box::new(String::from("owned"))), "owned");
        assert_eq!(
            panic_message(Box::new(5_u8)),
            "a panic with a non-string payload"
        );
    }

    #[test]
    fn each_failure_has_the_kind_a_caller_acts_on() {
        let task = |fault: Fault| Error::task(Key::unique(Name::new(&"t")), fault.into()).kind();
        assert_eq!(task(Fault::Error("no".into())), ErrorKind::Task);
        assert_eq!(task(Fault::Panic("boom".into())), ErrorKind::Panic);
        assert_eq!(
            task(Fault::Timeout(Duration::from_millis(1))),
            ErrorKind::TimedOut
        );
        let lost = Fault::Error(Box::new(WorkersLost("delivered 3 times".into())));
        assert_eq!(task(lost), ErrorKind::LostWorker);
        // A task on workers failed by its broker, alone or shared.
        let broker = || Error::broker("lost".into(), None);
        assert_eq!(task(Fault::Error(Box::new(broker()))), ErrorKind::Broker);
        let shared = Error::shared(Arc::new(broker()));
        assert_eq!(task(Fault::Error(Box::new(shared))), ErrorKind::Broker);
        let retried = Failure::from(Fault::Panic("again".into())).after(3);
        let err = Error::task(Key::unique(Name::new(&"t")), retried);
        assert_eq!((err.kind(), err.attempts()), (ErrorKind::Panic, 3));
        let config = Error::task(
            Key::unique(Name::new(&"t")),
            Failure::Config("retries of 0".into()),
        );
        assert_eq!(config.kind(), ErrorKind::Config);
        assert_eq!(Error::config("threads(0)").kind(), ErrorKind::Config);
        assert_eq!(Error::broker("down".into(), None).kind(), ErrorKind::Broker);
        assert_eq!(
            Error::codec("bad".into(), "nil".into()).kind(),
            ErrorKind::Codec
        );
        assert_eq!(Error::registry("local".into()).kind(), ErrorKind::Registry);
        assert_eq!(Error::cancelled().kind(), ErrorKind::Cancelled);
        assert_eq!(
            Error::start(std::io::ErrorKind::Other.into()).kind(),
            ErrorKind::Io
        );
        assert_eq!(
            Error::callback("start", "hook".into()).kind(),
            ErrorKind::Panic
        );
        // An error shared between outputs has the kind of the one inside.
        let shared = Error::shared(Arc::new(Error::cancelled()));
        assert_eq!(shared.kind(), ErrorKind::Cancelled);
        let upstream = Error::upstream(Key::unique(Name::new(&"u")), Arc::new(Error::config("x")));
        assert_eq!(upstream.kind(), ErrorKind::Upstream);
    }

    #[test]
    fn debug_shows_the_chain() {
        let key = Key::unique(Name::new(&"parse"));
        let err = Error::task(key.clone(), Fault::Error("bad digit".into()).into());
        assert_eq!(format!("{err}"), format!("task `{key}` failed"));
        assert_eq!(
            format!("{err:?}"),
            format!(
                "task `{key}` failed\n\nTask:\n    function: parse\n    key: {key}\n\nCaused by:\n    bad digit"
            )
        );
        let upstream = Error::upstream(Key::unique(Name::new(&"report")), std::sync::Arc::new(err));
        let shown = format!("{upstream:?}");
        assert!(shown.contains("Caused by:\n    0: task `parse-"), "{shown}");
        assert!(shown.ends_with("\n    1: bad digit"), "{shown}");
    }
}
