//! The client the free functions use: the innermost one a thread
//! entered, else the process default, else the global one.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use super::Client;
use crate::error::Error;

impl Client {
    /// The default client, started on first use, that the free functions
    /// use: a threaded client with the default settings, one running task
    /// per core besides the blocked ones.
    ///
    /// ```
    /// let client = delayed::Client::global()?;
    /// let cores = std::thread::available_parallelism()?.get();
    /// assert_eq!(client.threads(), Some(cores));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn global() -> Result<&'static Client, Error> {
        static GLOBAL: OnceLock<Client> = OnceLock::new();
        if let Some(client) = GLOBAL.get() {
            return Ok(client);
        }
        // Two threads may race to build it; the loser's client is dropped,
        // which is harmless.
        let client = Client::builder().build()?;
        Ok(GLOBAL.get_or_init(|| client))
    }

    /// The client that `compute!`, [`compute`](crate::compute),
    /// [`Delayed::compute`](crate::Delayed::compute) and the other free
    /// functions use on this thread right now: the innermost
    /// [`enter`](Self::enter) guard of this thread, else the client given
    /// to [`set_as_default`](Self::set_as_default), else the
    /// [`global`](Self::global) one.
    ///
    /// ```
    /// let four = delayed::Client::builder().threads(4).build()?;
    /// let _guard = four.enter();
    /// assert_eq!(delayed::Client::current()?.threads(), Some(4));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn current() -> Result<Client, Error> {
        if let Some(client) = SCOPED.with_borrow(|scoped| scoped.last().cloned()) {
            return Ok(client);
        }
        if HAS_DEFAULT.load(Ordering::Acquire) {
            let default = DEFAULT.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(client) = &*default {
                return Ok(client.clone());
            }
        }
        Client::global().cloned()
    }

    /// Makes this client the one the free functions use in every thread
    /// of the process (unless a thread has [`enter`](Self::enter)ed
    /// another): Dask's `Client(...)` becoming the default scheduler. The
    /// client stays alive as long as it is the default; a later call
    /// replaces it.
    ///
    /// ```
    /// use delayed::{delayed, Client};
    ///
    /// #[delayed]
    /// fn inc(x: i64) -> i64 { x + 1 }
    ///
    /// Client::builder().threads(4).build()?.set_as_default();
    /// assert_eq!(Client::current()?.threads(), Some(4));
    /// assert_eq!(inc(1).compute()?, 2); // on the four-thread client
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn set_as_default(&self) {
        let mut default = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
        *default = Some(self.clone());
        HAS_DEFAULT.store(true, Ordering::Release);
    }

    /// Makes this client the one the free functions use on this thread
    /// until the guard is dropped, as tokio's `Runtime::enter` and
    /// tracing's `set_default` do; it wins over
    /// [`set_as_default`](Self::set_as_default) on this thread only. Guards
    /// nest: dropping one restores the client before it.
    ///
    /// ```
    /// use delayed::Client;
    ///
    /// let one = Client::builder().threads(1).build()?;
    /// let two = Client::builder().threads(2).build()?;
    /// let _outer = one.enter();
    /// {
    ///     let _inner = two.enter();
    ///     assert_eq!(Client::current()?.threads(), Some(2));
    /// }
    /// assert_eq!(Client::current()?.threads(), Some(1));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn enter(&self) -> DefaultGuard {
        let depth = SCOPED.with_borrow_mut(|scoped| {
            scoped.push(self.clone());
            scoped.len() - 1
        });
        DefaultGuard {
            depth,
            _not_send: PhantomData,
        }
    }
}

/// Keeps a client the default of this thread; see [`Client::enter`].
///
/// ```
/// let two = delayed::Client::builder().threads(2).build()?;
/// let guard = two.enter();
/// assert_eq!(delayed::Client::current()?.threads(), Some(2));
/// drop(guard); // the client before it is the default again
/// # Ok::<(), delayed::Error>(())
/// ```
#[must_use = "the client is the default only until the guard is dropped"]
pub struct DefaultGuard {
    /// This guard's place on the thread's stack of entered clients.
    depth: usize,
    /// The stack is the thread's own.
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for DefaultGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultGuard")
            .field("depth", &self.depth)
            .finish()
    }
}

impl Drop for DefaultGuard {
    /// Restores the client entered before this one; guards dropped out of
    /// order also end the guards entered after them.
    fn drop(&mut self) {
        let released =
            SCOPED.with_borrow_mut(|scoped| scoped.split_off(self.depth.min(scoped.len())));
        // Clients may stop their threads as they go: outside the borrow.
        drop(released);
    }
}

/// The process default set with [`Client::set_as_default`].
static DEFAULT: RwLock<Option<Client>> = RwLock::new(None);
/// Whether [`DEFAULT`] was ever set: the common case skips its lock.
static HAS_DEFAULT: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The clients entered on this thread, innermost last.
    static SCOPED: RefCell<Vec<Client>> = const { RefCell::new(Vec::new()) };
}
