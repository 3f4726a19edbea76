//! `Error`: why a compute failed, naming the task and keeping the cause.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::key::Key;

/// The error a task body returns: the user's own error, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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
    },
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
    /// A task function could not be run by name, or a value could not
    /// cross a process boundary (`distributed`).
    Remote {
        message: String,
        source: Option<BoxError>,
    },
}

/// How a task failed, before it is tied to its key.
pub(crate) enum Failure {
    Error(BoxError),
    Panic(String),
    /// No result within the task's timeout.
    Timeout(Duration),
    /// The last of several attempts.
    Retried {
        last: Box<Failure>,
        attempts: u32,
    },
    /// The task's settings are invalid (`with_retries(0)`).
    Config(String),
    /// In a compute that goes on after a failure, the task did not run
    /// because this input error came first.
    Upstream(Arc<Error>),
}

impl Failure {
    /// This failure as the last of `attempts` attempts.
    pub(crate) fn after(self, attempts: u32) -> Failure {
        if attempts <= 1 {
            return self;
        }
        Failure::Retried {
            last: Box::new(self),
            attempts,
        }
    }
}

/// How a task failed, as callbacks see it (`TaskFinish::error`), before
/// the compute's [`Error`] names the task.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(error) => write!(f, "{error}"),
            Failure::Panic(message) => write!(f, "panicked: {message}"),
            Failure::Timeout(after) => write!(f, "{}", TimedOut(*after)),
            Failure::Retried { last, attempts } => write!(f, "{last} (attempt {attempts})"),
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
            Failure::Error(error) => error.source(),
            Failure::Retried { last, .. } => last.source(),
            Failure::Upstream(input) => Some(&**input),
            Failure::Panic(_) | Failure::Timeout(_) | Failure::Config(_) => None,
        }
    }
}

/// What made a task fail, for `Display` and the predicates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    Error,
    Panic,
    Timeout,
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

impl Failure {
    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(message) => (*message).to_owned(),
                Err(_) => "a panic with a non-string payload".to_owned(),
            },
        };
        Failure::Panic(message)
    }
}

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
        match failure {
            Failure::Config(message) => return Error::config(key, message),
            Failure::Upstream(input) => return Error::upstream(key, input),
            _ => {}
        }
        let (failure, attempts) = match failure {
            Failure::Retried { last, attempts } => (*last, attempts),
            failure => (failure, 1),
        };
        let (source, cause): (BoxError, Cause) = match failure {
            Failure::Error(source) => (source, Cause::Error),
            Failure::Panic(message) => (Box::new(Message(message)), Cause::Panic),
            Failure::Timeout(after) => (Box::new(TimedOut(after)), Cause::Timeout),
            Failure::Retried { .. } | Failure::Config(_) | Failure::Upstream(_) => {
                unreachable!("attempts are counted once, the others handled first")
            }
        };
        Error::new(Kind::Task {
            key,
            source,
            cause,
            attempts,
        })
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

    pub(crate) fn config(key: Key, message: String) -> Error {
        Error::new(Kind::Config { key, message })
    }

    /// A compute-level hook (`start`, `finish`) of a callback panicked.
    pub(crate) fn callback(hook: &'static str, failure: Failure) -> Error {
        let message = match failure {
            Failure::Panic(message) => message,
            Failure::Error(error) => error.to_string(),
            Failure::Timeout(_)
            | Failure::Retried { .. }
            | Failure::Config(_)
            | Failure::Upstream(_) => {
                unreachable!("hooks are neither timed, retried nor configured")
            }
        };
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

    /// A task function that cannot be run by name, or a value that cannot
    /// cross a process boundary, with what caused it.
    #[allow(dead_code)] // only the `distributed` feature runs functions by name
    pub(crate) fn remote(message: String, source: Option<BoxError>) -> Error {
        Error::new(Kind::Remote { message, source })
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
        matches!(&*self.resolved().kind, Kind::Cancelled)
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
            Kind::Remote { source, .. } => source,
            Kind::Stopped
            | Kind::Format { .. }
            | Kind::Cancelled
            | Kind::Taken
            | Kind::Config { .. } => None,
        }
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
                    Cause::Error => "failed",
                    Cause::Panic => "panicked",
                    Cause::Timeout => "timed out",
                };
                write!(f, "task `{key}` {what}")?;
                if *attempts > 1 {
                    write!(f, " after {attempts} attempts")?;
                }
                Ok(())
            }
            Kind::Upstream { key, failed } => match failed.key() {
                Some(input) => write!(f, "task `{key}` did not run: `{input}` failed"),
                None => write!(f, "task `{key}` did not run: an input failed"),
            },
            Kind::Cancelled => f.write_str("the compute was cancelled"),
            Kind::Taken => f.write_str(
                "the output of this compute was taken already: a `Running` gives its output once, to the first `wait`, `wait_timeout` or await that gets it",
            ),
            Kind::Shared(_) => unreachable!("resolved above"),
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
            Kind::Remote { message, .. } => f.write_str(message),
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
            Kind::Remote { source, .. } => source
                .as_deref()
                .map(|source| source as &(dyn std::error::Error + 'static)),
            Kind::Stopped
            | Kind::Format { .. }
            | Kind::Cancelled
            | Kind::Taken
            | Kind::Config { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_error_traits<E: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn is_a_thread_safe_std_error() {
        assert_error_traits::<Error>();
    }

    #[test]
    fn panic_payloads_become_messages() {
        let message = |payload: Box<dyn std::any::Any + Send>| match Failure::from_panic(payload) {
            Failure::Panic(message) => message,
            _ => unreachable!(),
        };
        assert_eq!(message(Box::new("static")), "static");
        assert_eq!(message(Box::new(String::from("owned"))), "owned");
        assert_eq!(message(Box::new(5_u8)), "a panic with a non-string payload");
    }

    #[test]
    fn debug_shows_the_chain() {
        let key = Key::unique("parse");
        let err = Error::task(key.clone(), Failure::Error("bad digit".into()));
        assert_eq!(format!("{err}"), format!("task `{key}` failed"));
        assert_eq!(
            format!("{err:?}"),
            format!(
                "task `{key}` failed\n\nTask:\n    function: parse\n    key: {key}\n\nCaused by:\n    bad digit"
            )
        );
        let upstream = Error::upstream(Key::unique("report"), std::sync::Arc::new(err));
        let shown = format!("{upstream:?}");
        assert!(shown.contains("Caused by:\n    0: task `parse-"), "{shown}");
        assert!(shown.ends_with("\n    1: bad digit"), "{shown}");
    }
}
