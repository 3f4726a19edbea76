//! The runtime of [`delayed`](https://docs.rs/delayed): typed lazy handles,
//! the task graph and the tokio scheduler that computes it.
//!
//! Use it through the `delayed` crate, which re-exports everything public
//! here together with the `#[delayed]` attribute and `compute!`.
//!
//! # Layers
//!
//! The modules form layers, each importing only the layers below it, so
//! that the files' imports are a DAG (`cargo run -p delayed-layers`
//! checks this table against every `crate::`, `super::` and `self::` path,
//! in CI too):
//!
//! | layer | modules | may import |
//! |---|---|---|
//! | Base | `sync`, `scratch` | nothing |
//! | Graph | `value`, `key`, `error`, `resources`, `node`, `graph`, `wire`, `cache` | Base |
//! | Build | `handle`, `task`, `function`, `ops`, `collection`, `computable` | Graph, Base |
//! | See | `visualize`, `diagnostics` | Build, Graph, Base |
//! | Run | `executor`, `client`, `compute`, `running`, `as_completed`, `settled` | See, Build, Graph, Base |
//! | Distributed | `distributed` | Run, See, Build, Graph, Base |
//!
//! - **Graph**: what a task graph is: a node, its key and body, a value,
//!   an error, (feature `distributed`) what travels to a worker, and
//!   (feature `cache`) what a cached task's key is made of and the stores.
//! - **Build**: handles and the ways of making tasks.
//! - **See**: pictures and diagnostics; they learn of a compute only
//!   through the [`Callback`](diagnostics::Callback) trait and read-only
//!   views of its graph.
//! - **Run**: clients and the executor. Tasks that run elsewhere go
//!   through one seam the executor owns, `executor::offload::Offload`.
//! - **Distributed**: workers on Redis Streams, an `Offload`; nothing
//!   below imports it.

#![deny(missing_docs)]
// No unsafe code but one call, in a worker process, that sets glibc's
// malloc (`distributed/worker.rs`, `keep_freed_memory`): a measured win.
#![deny(unsafe_code)]

mod as_completed;
#[cfg(feature = "cache")]
pub mod cache;
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
mod key;
mod node;
mod ops;
mod resources;
mod running;
mod scratch;
mod settled;
mod sync;
mod task;
mod value;
mod visualize;
#[cfg(any(feature = "distributed", feature = "cache"))]
mod wire;

pub use as_completed::{AsCompleted, Completable, as_completed};
pub use client::{
    Client, ClientBuilder, DEFAULT_MAX_ASYNC_TASKS, DEFAULT_MAX_THREADS, DefaultGuard,
};
pub use computable::Computable;
pub use compute::{compute, compute_async};
pub use error::{Error, ErrorKind};
pub use function::{DelayedFn, TaskFn, delayed};
pub use handle::{Delayed, IntoDelayed, value};
pub use key::Key;
pub use resources::Resources;
pub use running::Running;
pub use settled::{KeepGoing, compute_settled};
pub use value::TaskValue;
pub use visualize::{DEFAULT_MAX_NODES, Visualization, visualize};

/// What the `#[delayed]` expansion calls. Not part of the public contract.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "cache")]
    pub use crate::cache::__private as cache;
    pub use crate::computable::{Outputs, computable};
    #[cfg(feature = "distributed")]
    pub use crate::distributed::__private::*;
    pub use crate::graph::Roots;
    pub use crate::handle::Arg;
    pub use crate::node::Inputs;
    pub use crate::resources::checked_amount;
    pub use crate::task::{
        IntoTaskResult, Owned, PureArg, PureKey, Shared, TaskBuilder, rejected, returning,
    };
    pub use crate::value::ByValue;
}
