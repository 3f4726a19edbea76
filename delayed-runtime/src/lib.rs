//! The runtime of [`delayed`](https://docs.rs/delayed): typed lazy handles,
//! the task graph and the tokio scheduler that computes it.
//!
//! Use it through the `delayed` crate, which re-exports everything public
//! here together with the `#[delayed]` attribute and `compute!`.

#![deny(missing_docs)]
// No unsafe code but one call, in a worker process, that sets glibc's
// malloc (`distributed/worker.rs`, `keep_freed_memory`): a measured win.
#![deny(unsafe_code)]

mod as_completed;
mod client;
mod collection;
mod computable;
mod compute;
pub mod diagnostics;
#[cfg(feature = "distributed")]
pub mod distributed;
mod error;
mod executor;
mod function;
mod graph;
mod handle;
mod node;
mod ops;
mod running;
mod sync;
mod task;
mod value;
mod visualize;

pub use as_completed::{AsCompleted, Completable, as_completed};
pub use client::{
    Client, ClientBuilder, DEFAULT_MAX_ASYNC_TASKS, DEFAULT_MAX_THREADS, DefaultGuard,
};
pub use computable::Computable;
pub use compute::{compute, compute_async};
pub use error::Error;
pub use function::{DelayedFn, TaskFn, delayed};
pub use handle::{Delayed, IntoDelayed, TaskValue, value};
pub use node::Key;
pub use running::Running;
pub use visualize::{DEFAULT_MAX_NODES, Visualization, visualize};

/// What the `#[delayed]` expansion calls. Not part of the public contract.
#[doc(hidden)]
pub mod __private {
    pub use crate::computable::{Outputs, Roots, computable};
    #[cfg(feature = "distributed")]
    pub use crate::distributed::__private::*;
    pub use crate::handle::{Arg, ByValue};
    pub use crate::node::Inputs;
    pub use crate::task::{
        IntoTaskResult, Owned, PureArg, PureKey, Shared, TaskBuilder, rejected, returning,
    };
}
