//! The same graphs on worker processes on many machines, through Redis
//! Streams (feature `distributed`): a client built with
//! [`ClientBuilder::redis`](crate::ClientBuilder::redis) runs the tasks
//! that can run on workers there; a program becomes a worker when started
//! with [`DELAYED_WORKER`](WORKER_VARIABLE) set ([`serve_if_worker`]); a
//! [`LocalCluster`] starts workers and a broker on this machine. The
//! guide's chapter "Beyond one machine" tells the whole story.
//!
//! `#[delayed]` registers each non-generic function under its path (the
//! module path and the function's name, as in `my_app::io::load`),
//! together with its signature. A process that knows the path can run the
//! function on arguments that arrived as bytes, and send its result back
//! as bytes: what a worker of another process needs to run a task. Code
//! never travels, only data; a process runs only the functions compiled
//! into it.
//!
//! Arguments and results travel as MessagePack. A function can run from
//! bytes when each of its parameters is `DeserializeOwned` and its result
//! `Serialize`, decided at compile time with no annotation beyond
//! `#[delayed]`; any other function, and one marked `#[delayed(local)]`,
//! is registered too but [runs only where it is
//! called](Function::runs_from_bytes). So is a function whose types hold
//! a borrow (`Vec<&'static str>`), which never decodes into an owned value.
//!
//! What is registered, and under which path:
//!
//! - A free function, under its module's path and its name.
//! - An associated function annotated on its own inside an `impl`, under
//!   its module's path and its name too (the attribute cannot see the
//!   type): two of one name in one module are both kept to run only where
//!   they are called, and [`Function::call`] says why.
//! - A generic function has no single type to register: each
//!   instantiation named by `delayed::register!(f::<u64>)` is registered,
//!   under the function's path with its type arguments
//!   (`my_app::f::<u64>`, each type by its `type_name`, each const by its
//!   value), and a call with those arguments runs on a worker; any other
//!   runs where it is called.
//! - Not a function whose signature or body says `Self`, nor the methods
//!   of a `#[delayed]` impl block.
//! - An associated function of a generic impl that uses the impl's type
//!   parameters must be marked `#[delayed(local)]` when this feature is on:
//!   the registration is a copy of the function nested in its body, where
//!   the impl's parameters are not in scope.
//!
//! ```
//! use delayed::delayed;
//! use delayed::distributed::{self, function};
//!
//! #[delayed]
//! fn add(x: i64, y: i64) -> i64 { x + y }
//!
//! let path = concat!(module_path!(), "::add");
//! let add = function(path).expect("registered by `#[delayed]`");
//! assert_eq!(add.signature(), "fn(i64, i64) -> i64");
//!
//! let args = distributed::encode(&(2_i64, 40_i64))?;
//! let result: i64 = distributed::decode(&add.call(&args)?)?;
//! assert_eq!(result, 42);
//! # Ok::<(), delayed::Error>(())
//! ```

mod broker;
mod build;
mod cluster;
mod logs;
mod placement;
mod registry;
pub(crate) mod remote;
mod streams;
mod worker;

pub use crate::wire::{decode, encode};
pub use build::build;
pub use cluster::{LocalCluster, LocalClusterBuilder};
pub use registry::{Function, function, functions};

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::error::Error;
use broker::{Deliveries, Queue, Settings};

/// The environment variable that makes a process a worker: the address of
/// its broker, as in `DELAYED_WORKER=redis://127.0.0.1:6379 ./app`.
pub const WORKER_VARIABLE: &str = "DELAYED_WORKER";

/// In a worker process, one started with [`DELAYED_WORKER`](WORKER_VARIABLE)
/// set to a broker's address, serves tasks from that broker; elsewhere
/// returns `Ok(())` at once. Call it first thing in `main`, so that the
/// same binary is the client when run normally and a worker when started
/// with the variable.
///
/// A worker takes tasks from the broker's task stream and runs as many at
/// once as it has threads (one per core by default, as a Dask worker's
/// `nthreads`): each registered function it is sent ([`function`]) runs in
/// place on one of them, and its result goes back to the broker for the
/// client. It serves until it is stopped (a signal ends the
/// process) and returns only if the broker stays unreachable for 10
/// seconds, with that error. These variables tune it:
///
/// | Variable | Default | What |
/// |---|---|---|
/// | `DELAYED_LEASE_MS` | 30,000 | how long a task is a worker's own before another reclaims it |
/// | `DELAYED_RETRIES` | 3 | how many times a lost task is tried again |
/// | `DELAYED_RESULT_TTL_MS` | 3,600,000 | how long a result stays on the broker unread |
/// | `DELAYED_MAX_PAYLOAD` | 64 MiB | the largest result written, in bytes |
/// | `DELAYED_WORKER_CACHE` | 256 MiB | how many bytes of the results it wrote a worker keeps for the tasks that read them |
/// | `DELAYED_WORKER_THREADS` | one per core | how many tasks a worker runs at once |
///
/// What a worker has to say on the way (a broker lost and tried again, a
/// task of another build refused, a malformed message set aside) goes out
/// as [`tracing`](https://docs.rs/tracing) warnings with the target
/// `delayed::worker` and the worker's name as a field: install a
/// subscriber (`tracing_subscriber::fmt::init()`) in `main` to see them. A
/// setting it cannot use is an error of [`ErrorKind::Config`](crate::ErrorKind::Config).
///
/// ```
/// fn main() -> Result<(), delayed::Error> {
///     delayed::distributed::serve_if_worker()?; // a worker serves here
///     // … the program as a client …
///     Ok(())
/// }
/// # main().unwrap();
/// ```
pub fn serve_if_worker() -> Result<(), Error> {
    match std::env::var(WORKER_VARIABLE) {
        Ok(url) => {
            let settings = Settings::from_env()?;
            worker::serve(&url, settings, deliveries)
        }
        Err(_) => Ok(()),
    }
}

/// A client's side of the broker at `url`, reached within `timeout`.
async fn queue(url: &str, timeout: Duration) -> Result<Arc<dyn Queue>, Error> {
    broker::redis(url)?;
    Ok(Arc::new(streams::RedisBroker::connect(url, timeout).await?))
}

/// A worker thread's side of the broker at `url`, its connection driven
/// by `on`.
fn deliveries(url: &str, settings: &Settings, on: &Runtime) -> Result<Box<dyn Deliveries>, Error> {
    broker::redis(url)?;
    Ok(Box::new(streams::RedisStream::connect(url, settings, on)?))
}

#[doc(hidden)]
pub mod __private {
    pub use super::broker::{Argument, Done, Link, Outcome, Settings, TaskMessage};
    pub use super::registry::{
        BorrowsInItsSignature, Codecs, Fallback, Instance, Instantiation, IntoInstance,
        MarkedLocal, Probe, Registration, SaysSelf, ViaSerde, Wire, instance,
    };
    pub use super::streams::{REJECTED, RedisBroker, TASKS, WORKERS};
    pub use crate::wire::{
        Codec, Decode, DecodeFallback, DecodeVia, Encode, EncodeFallback, EncodeVia, Part,
        encoder_of,
    };
    pub use inventory;
}
