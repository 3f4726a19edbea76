//! The live dashboard: Dask's dashboard in a browser tab, served by the
//! program itself (the `dashboard` feature).

mod board;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::watch;

use super::{Callback, ComputeFinish, ComputeStart, Registration, TaskFinish, TaskStart, register};
use crate::error::Error;
use board::Board;

/// A live view of the work in a browser: progress per function, the task
/// stream, the graph coloured by state, failures with their cause, and
/// past computes. Dask's dashboard.
///
/// Start it with [`ClientBuilder::dashboard`](crate::ClientBuilder::dashboard)
/// (it then runs on that client's runtime and shows its computes), or on
/// its own with [`Dashboard::serve`] and register it like any other
/// [`Callback`]. It serves a page at its address for as long as it lives,
/// and prints the URL once.
///
/// The page and its script are built into the program: nothing is fetched
/// from elsewhere, so it works offline. Updates arrive as server-sent
/// events, a few frames a second, aggregated over the tasks that ran in
/// between, so that a million tiny tasks cost the page nothing more than a
/// few. The server binds only where it is told: a loopback address keeps
/// it on this machine (reach it from elsewhere through an SSH tunnel,
/// `ssh -L 8787:127.0.0.1:8787 host`, rather than binding to every
/// interface: anyone who can reach the page sees task keys and errors).
///
/// ```
/// use delayed::{delayed, diagnostics::Dashboard};
///
/// #[delayed]
/// fn inc(x: i64) -> i64 { x + 1 }
///
/// let dashboard = Dashboard::serve("127.0.0.1:0")?; // port 0: any free port
/// assert!(dashboard.url().starts_with("http://127.0.0.1:"));
/// let _shown = dashboard.register();
/// let l: Vec<_> = (0..10).map(inc).collect();
/// delayed::compute(&l)?;
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

struct Inner {
    board: Arc<Board>,
    address: SocketAddr,
    /// Dropped with the last handle: the server and its publisher stop.
    stop: watch::Sender<()>,
}

impl Dashboard {
    /// Serves a dashboard at `address` (`"127.0.0.1:8787"`, Dask's port) on
    /// a thread of its own, and prints its URL on standard error. A bare
    /// port (`"8787"` or `":8787"`) means that port on loopback. Port 0
    /// picks a free port; [`url`](Self::url) tells which.
    ///
    /// # Errors
    ///
    /// If the address cannot be bound (taken, not this machine's) or the
    /// server's thread cannot start; the error names the address.
    ///
    /// ```
    /// let dashboard = delayed::diagnostics::Dashboard::serve("127.0.0.1:0")?;
    /// assert!(delayed::diagnostics::Dashboard::serve("256.0.0.1:80").is_err());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn serve(address: impl std::fmt::Display) -> Result<Dashboard, Error> {
        let address = address.to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::start)?;
        let dashboard = Dashboard::serve_on(runtime.handle(), &address)?;
        let stop = dashboard.inner.stop.subscribe();
        std::thread::Builder::new()
            .name("delayed-dashboard".into())
            .spawn(move || runtime.block_on(server::stopped(stop)))
            .map_err(|source| Error::serve(address, source))?;
        Ok(dashboard)
    }

    /// Serves a dashboard on `runtime`, which must have I/O and timers.
    pub(crate) fn serve_on(runtime: &Handle, address: &str) -> Result<Dashboard, Error> {
        let board = Arc::new(Board::new());
        let (stop, stopped) = watch::channel(());
        let bound = server::serve(runtime, address, board.clone(), stopped)
            .map_err(|source| Error::serve(address.to_owned(), source))?;
        let dashboard = Dashboard {
            inner: Arc::new(Inner {
                board,
                address: bound,
                stop,
            }),
        };
        eprintln!("delayed: dashboard at {}", dashboard.url());
        Ok(dashboard)
    }

    /// The page's address, `http://host:port/`.
    ///
    /// ```
    /// let dashboard = delayed::diagnostics::Dashboard::serve("127.0.0.1:0")?;
    /// assert!(dashboard.url().ends_with('/'));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}/", self.inner.address)
    }

    /// The address the server listens at, with the port it picked for 0.
    ///
    /// ```
    /// let dashboard = delayed::diagnostics::Dashboard::serve("127.0.0.1:0")?;
    /// assert_ne!(dashboard.address().port(), 0);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn address(&self) -> SocketAddr {
        self.inner.address
    }

    /// Shows every compute, of any client, on this dashboard until the
    /// guard is dropped.
    ///
    /// ```
    /// let dashboard = delayed::diagnostics::Dashboard::serve("127.0.0.1:0")?;
    /// let _shown = dashboard.register();
    /// delayed::value(1).map(|x| x + 1).compute()?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn register(&self) -> Registration {
        register(Arc::new(self.clone()))
    }
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("url", &self.url())
            .finish()
    }
}

impl Callback for Dashboard {
    fn start(&self, compute: &ComputeStart<'_>) {
        self.inner.board.start(compute);
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        self.inner.board.task_start(task);
    }

    fn task_finish(&self, task: &TaskFinish<'_>) {
        self.inner.board.task_finish(task);
    }

    fn finish(&self, compute: &ComputeFinish<'_>) {
        self.inner.board.finish(compute);
    }

    /// The dashboard times only the tasks it draws, itself.
    fn times_tasks(&self) -> bool {
        false
    }
}
