//! This program's build, which every task message carries so that a
//! worker of another build refuses it, and names no other process has.

use super::registry::functions;

/// This program's build, as each task it sends carries it: a hash of its
/// executable, read once. A worker of another build refuses the task
/// rather than run a function of the same name that may do something
/// else; start workers from the client's own binary. Where the executable
/// cannot be read, the hash is of every registered function's path and
/// signature instead: a weaker check, which still tells builds apart whose
/// task functions differ.
///
/// ```
/// let build = delayed::distributed::build();
/// assert_eq!(build.len(), 16); // hex digits
/// assert_eq!(delayed::distributed::build(), build);
/// ```
pub fn build() -> &'static str {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD.get_or_init(|| {
        use std::hash::Hasher;
        // SipHash with fixed keys: the same bytes hash alike in every
        // process of this build.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if hash_executable(&mut hasher).is_err() {
            hasher = std::collections::hash_map::DefaultHasher::new();
            for function in functions() {
                hasher.write(function.path().as_bytes());
                hasher.write(function.signature().as_bytes());
            }
        }
        format!("{:016x}", hasher.finish())
    })
}

/// Feeds this process's executable to `hasher`.
fn hash_executable(hasher: &mut impl std::hash::Hasher) -> std::io::Result<()> {
    use std::io::Read;
    // Through /proc, the file this process runs, even if a newer build
    // replaced it on disk since.
    let path = if cfg!(target_os = "linux") {
        Ok(std::path::PathBuf::from("/proc/self/exe"))
    } else {
        std::env::current_exe()
    };
    let mut file = std::fs::File::open(path?)?;
    let mut chunk = vec![0; 1 << 20];
    loop {
        match file.read(&mut chunk)? {
            0 => return Ok(()),
            n => hasher.write(&chunk[..n]),
        }
    }
}

/// A name no other client or worker has: from this process's id and the
/// time, mixed, as hex.
pub(crate) fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = nanos ^ (u64::from(std::process::id()) << 32);
    format!("{:016x}", crate::key::splitmix64(seed))
}
