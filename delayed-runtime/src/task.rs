//! The typed builder that `#[delayed]` and `delayed(f).call(…)` use to turn
//! a call into a node: it records each argument as a dependency or a
//! constant, and erases the typed call into the node's body.
//!
//! Generated code reaches it through `::delayed::__private`; it is not part
//! of the public contract.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::handle::{Arg, Delayed, TaskValue};
use crate::node::{Body, BoxError, Inputs, Key, Node, Value};

/// Collects a task's arguments, then builds its node.
#[doc(hidden)]
pub struct TaskBuilder {
    name: &'static str,
    deps: Vec<Arc<Node>>,
}

impl TaskBuilder {
    pub fn new(name: &'static str) -> TaskBuilder {
        TaskBuilder {
            name,
            deps: Vec::new(),
        }
    }

    /// Records one argument: a handle becomes a dependency edge, a plain
    /// value is kept in the task itself.
    pub fn arg<T: TaskValue>(&mut self, arg: Arg<T>) -> Slot<T> {
        let source = match arg {
            Arg::Value(value) => Source::Const(Arc::new(value)),
            Arg::Handle(handle) => {
                self.deps.push(handle.node);
                Source::Input(self.deps.len() - 1)
            }
        };
        Slot {
            source,
            _type: PhantomData,
        }
    }

    /// Builds a task from a synchronous call. The call may block.
    pub fn sync<T, F>(self, call: F) -> Delayed<T>
    where
        T: TaskValue,
        F: Fn(&mut Inputs) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        let body = Body::Sync(Box::new(move |inputs| call(inputs).map(erase)));
        self.finish(body)
    }

    /// Builds a task from a call that returns a future.
    pub fn future<T, F, Fut>(self, call: F) -> Delayed<T>
    where
        T: TaskValue,
        F: Fn(&mut Inputs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, BoxError>> + Send + 'static,
    {
        let body = Body::Async(Box::new(move |inputs| {
            let future = call(inputs);
            Box::pin(async move { future.await.map(erase) })
        }));
        self.finish(body)
    }

    fn finish<T>(self, body: Body) -> Delayed<T> {
        Delayed::from_node(Node::new(Key::unique(self.name), self.deps, body))
    }
}

fn erase<T: TaskValue>(value: T) -> Value {
    Arc::new(value)
}

/// Where one argument of a task comes from when the task runs.
#[doc(hidden)]
pub struct Slot<T> {
    source: Source<T>,
    _type: PhantomData<fn() -> T>,
}

enum Source<T> {
    /// A plain value given at the call; kept for every run of the task.
    Const(Arc<T>),
    /// The value of the task's `i`-th dependency.
    Input(usize),
}

impl<T: TaskValue> Slot<T> {
    /// The argument for a `&T` parameter: shared, never cloned.
    pub fn shared(&self, inputs: &Inputs) -> Arc<T> {
        match &self.source {
            Source::Const(value) => value.clone(),
            Source::Input(i) => downcast(inputs.get(*i).clone()),
        }
    }

    /// The argument for a `T` parameter: moved when this task is the last
    /// to need the value, cloned otherwise.
    pub fn owned(&self, inputs: &mut Inputs) -> T
    where
        T: Clone,
    {
        match &self.source {
            Source::Const(value) => T::clone(value),
            Source::Input(i) => unwrap_or_clone(downcast(inputs.take(*i))),
        }
    }
}

pub(crate) fn downcast<T: Any + Send + Sync>(value: Value) -> Arc<T> {
    value
        .downcast()
        .unwrap_or_else(|_| unreachable!("graphs are typed: an input always has its handle's type"))
}

pub(crate) fn unwrap_or_clone<T: Clone>(value: Arc<T>) -> T {
    Arc::try_unwrap(value).unwrap_or_else(|shared| T::clone(&shared))
}

/// The return types a task may have: `Result<T, E>` fails the compute on
/// `Err`, keeping `E` as the error's source.
#[doc(hidden)]
pub trait IntoTaskResult {
    type Ok;
    fn into_task_result(self) -> Result<Self::Ok, BoxError>;
}

impl<T, E> IntoTaskResult for Result<T, E>
where
    E: Into<BoxError>,
{
    type Ok = T;

    fn into_task_result(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}
