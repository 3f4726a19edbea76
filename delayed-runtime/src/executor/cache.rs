//! The cache in a compute: a cached task is looked up before it runs,
//! and its value written after (see `cache/` for what a key is made of).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::cache::{Cache, Envelope, Lineage, Miss, Recipe, Verdict, entry_key};
use crate::graph::Graph;
use crate::node::{Body, Cached, Gathers, ResultSlot};
use crate::sync::{Mutex, lock};
use crate::value::Value;
use crate::wire::{Encode, Source};

/// One compute's view of its client's cache.
pub(crate) struct CacheRun {
    cache: Cache,
    /// Per node: its cache key and lineage, once worked out (cached tasks
    /// only), for the tasks that take its value.
    keys: Box<[OnceLock<(u128, Lineage)>]>,
    /// Per node: whether its value was read from the cache (or, for a
    /// junction, gathered from values that all were).
    hits: Box<[AtomicBool]>,
    /// The recipe last written at each lineage before this compute, read
    /// once: the tasks of a wide graph often share one lineage (one
    /// function, fed by no task), and a store read for each would read
    /// one record as many times.
    before: Mutex<HashMap<Lineage, Option<Recipe>>>,
    /// The lineages whose recipe this compute wrote: one each, so that a
    /// record shared by a million tasks is not rewritten a million times.
    written: Mutex<HashSet<Lineage>>,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// The value, read from the store: the task does not run.
    Hit(Value),
    /// The task runs; its value is then written as this says.
    Miss(Pending),
    /// A junction whose inputs were all read from the cache: it gathers
    /// them (which runs no code of the user's) and counts as read too.
    Gathered,
}

/// A miss to write once the task has its value.
pub(crate) struct Pending {
    key: String,
    recipe: Recipe,
    lineage: Lineage,
    /// Held until the value is written, so that another process waiting
    /// on this key then reads it instead of computing it.
    _claim: Option<Box<dyn Send>>,
}

/// The warnings a client gives before it goes quiet: a store that cannot
/// be written would otherwise warn once for every task.
const WARNINGS: u32 = 5;

static WARNED: AtomicU32 = AtomicU32::new(0);

fn warn(task: &crate::key::Key, what: &str) {
    match WARNED.fetch_add(1, Ordering::Relaxed) {
        n if n < WARNINGS => tracing::warn!(target: "delayed::cache", task = %task, "{what}"),
        WARNINGS => tracing::warn!(
            target: "delayed::cache",
            task = %task,
            "{what} (further cache warnings of this process are logged at debug level)"
        ),
        _ => tracing::debug!(target: "delayed::cache", task = %task, "{what}"),
    }
}

impl CacheRun {
    /// The cache for a compute of `graph`: `None` when no task of it is
    /// cached, so that such a compute costs nothing more.
    pub(crate) fn new(cache: &Cache, graph: &Graph) -> Option<CacheRun> {
        let any = graph.nodes.iter().any(|node| node.cached().is_some());
        any.then(|| CacheRun {
            cache: cache.clone(),
            keys: (0..graph.len()).map(|_| OnceLock::new()).collect(),
            hits: (0..graph.len()).map(|_| AtomicBool::new(false)).collect(),
            before: Mutex::default(),
            written: Mutex::default(),
        })
    }

    /// Whether the cache has anything to do for task `i`: a cached task,
    /// or a junction whose inputs may have been read from it.
    pub(crate) fn concerns(&self, graph: &Graph, i: u32) -> bool {
        let node = graph.node(i);
        node.is_junction() || node.cached().is_some()
    }

    /// Looks task `i` up, when it is cached: its key is worked out from its
    /// inputs (which stay in place for the task), and on a miss the key is
    /// claimed from other processes until the value is written.
    pub(crate) fn lookup(
        &self,
        graph: &Graph,
        results: &[Mutex<ResultSlot>],
        i: u32,
    ) -> Option<Lookup> {
        let node = graph.node(i);
        if node.is_junction() {
            self.gathered(graph, i);
            let deps = graph.deps(i);
            let read = |&dep: &u32| self.hits[dep as usize].load(Ordering::Acquire);
            if !deps.is_empty() && deps.iter().all(read) {
                self.hits[i as usize].store(true, Ordering::Release);
                return Some(Lookup::Gathered);
            }
        }
        let cached = node.cached()?;
        if !cached.on {
            record(cached, Verdict::Off);
            return None;
        }
        let (recipe, lineage) = match self.recipe(graph, results, i, cached) {
            Ok(made) => made,
            Err(why) => {
                warn(&node.key, &format!("runs uncached: {why}"));
                record(cached, Verdict::Miss(Miss::Unavailable(why)));
                return None;
            }
        };
        let hash = recipe.key();
        let _ = self.keys[i as usize].set((hash, lineage));
        let key = entry_key(hash);
        let store = &*self.cache.store;
        let why = match self.read(node, cached, &key) {
            Ok(value) => return Some(self.hit(i, value)),
            Err(why) => why,
        };
        let claim = match store.lock(&key) {
            Ok(claim) => claim,
            Err(error) => {
                warn(
                    &node.key,
                    &format!(
                        "could not claim the cache entry, so another process may compute it too: {error}"
                    ),
                );
                None
            }
        };
        // Another process may have written it while this one waited (an
        // entry there but unreadable is not read twice).
        if claim.is_some()
            && why.is_none()
            && let Ok(value) = self.read(node, cached, &key)
        {
            return Some(self.hit(i, value));
        }
        let why = why.unwrap_or_else(|| Miss::between(self.before(lineage).as_ref(), &recipe));
        record(cached, Verdict::Miss(why));
        Some(Lookup::Miss(Pending {
            key,
            recipe,
            lineage,
            _claim: claim,
        }))
    }

    /// A hit on task `i`, recorded for the junctions after it.
    fn hit(&self, i: u32, value: Value) -> Lookup {
        self.hits[i as usize].store(true, Ordering::Release);
        Lookup::Hit(value)
    }

    /// The recipe written at `lineage` before this compute, if any.
    fn before(&self, lineage: Lineage) -> Option<Recipe> {
        if let Some(known) = lock(&self.before).get(&lineage) {
            return known.clone();
        }
        let read = self.cache.recipe_at(lineage);
        lock(&self.before).entry(lineage).or_insert(read).clone()
    }

    /// Gives junction `i` (a list of inputs gathered for a task) a key of
    /// its inputs' keys, when they all have one.
    fn gathered(&self, graph: &Graph, i: u32) {
        if let Some(key) = gathered_key(graph, i, |dep| self.keys[dep as usize].get().copied()) {
            let _ = self.keys[i as usize].set(key);
        }
    }

    /// The value under `key`; otherwise why not, when that is already
    /// known (`None`: the entry is not there).
    fn read(
        &self,
        node: &crate::node::Node,
        cached: &Cached,
        key: &str,
    ) -> Result<Value, Option<Miss>> {
        match self.cache.store.get(key) {
            Ok(Some(bytes)) => match Envelope::read(&cached.spec, &bytes) {
                Ok(value) => {
                    record(cached, Verdict::Hit);
                    Ok(value)
                }
                Err(why) => {
                    warn(
                        &node.key,
                        &format!(
                            "cache entry {key} ignored, the task runs again and replaces it: {why}"
                        ),
                    );
                    Err(Some(Miss::Unreadable(why)))
                }
            },
            Ok(None) => Err(None),
            Err(error) => {
                warn(
                    &node.key,
                    &format!(
                        "could not read cache entry {key}, the task runs uncached (check that the store can be read): {error}"
                    ),
                );
                Err(Some(Miss::Unavailable(error.to_string())))
            }
        }
    }

    /// Task `i`'s recipe and lineage, from its spec and inputs: an
    /// input's key, or the bytes of its value in its result slot.
    fn recipe(
        &self,
        graph: &Graph,
        results: &[Mutex<ResultSlot>],
        i: u32,
        cached: &Cached,
    ) -> Result<(Recipe, Lineage), String> {
        let known = |dep: u32| self.keys[dep as usize].get().copied();
        let bytes = |dep: u32, encode: Encode| {
            let slot = lock(&results[dep as usize]);
            let value = slot.value().ok_or("an input has no value")?;
            let bytes = encode.encode(value).map_err(|e| e.to_string())?;
            Ok(crate::cache::hash(&bytes))
        };
        recipe_of(graph, i, cached, self.cache.salt, known, bytes)
    }

    /// Writes task `i`'s value and its recipe; a store that fails is a
    /// warning, and the task is simply not cached.
    pub(crate) fn write(&self, graph: &Graph, i: u32, pending: Pending, value: &Value) {
        let node = graph.node(i);
        let Some(cached) = node.cached() else { return };
        let entry = match Envelope::write(&cached.spec, value) {
            Ok(entry) => entry,
            Err(error) => return warn(&node.key, &format!("its value is not cached: {error}")),
        };
        let store = &*self.cache.store;
        if let Err(error) = store.put(&pending.key, &entry) {
            return warn(
                &node.key,
                &format!(
                    "could not write cache entry {}, the value is not cached (check the store's space and permissions): {error}",
                    pending.key
                ),
            );
        }
        // Only for explaining the next miss here: a failure changes no
        // value. What was there is read first, for this compute's misses.
        if lock(&self.written).insert(pending.lineage) {
            self.before(pending.lineage);
            let _ = store.put(&pending.lineage.store_key(), &pending.recipe.to_bytes());
        }
    }
}

/// The key of junction `i` (a list of inputs gathered for a task): a hash
/// of its inputs' keys, when they all have one. The task it feeds is then
/// keyed by them rather than by the bytes of the whole list. A map's
/// junction has none: its keys are in its value, not in its inputs, so
/// the task it feeds is keyed by the map's bytes.
fn gathered_key(
    graph: &Graph,
    i: u32,
    known: impl Fn(u32) -> Option<(u128, Lineage)>,
) -> Option<(u128, Lineage)> {
    if graph.node(i).gathers == Gathers::Entries {
        return None;
    }
    let mut bytes = b"gathered".to_vec();
    let mut lineages = Vec::new();
    for &dep in graph.deps(i) {
        let (key, lineage) = known(dep)?;
        bytes.extend_from_slice(&key.to_le_bytes());
        lineages.push(Some(lineage));
    }
    let lineage = Lineage::of("gathered", lineages.into_iter());
    Some((crate::cache::hash(&bytes), lineage))
}

/// Task `i`'s recipe and lineage under `salt`: `known(dep)` is an input
/// task's key and lineage when it has them, `bytes(dep, encode)` the hash
/// of an input's value as `encode` writes it (for an input without a key,
/// and for every input of a `cache(by_value)` task).
fn recipe_of(
    graph: &Graph,
    i: u32,
    cached: &Cached,
    salt: u128,
    known: impl Fn(u32) -> Option<(u128, Lineage)>,
    bytes: impl Fn(u32, Encode) -> Result<u128, String>,
) -> Result<(Recipe, Lineage), String> {
    let spec = &cached.spec;
    let deps = graph.deps(i);
    let mut args = Vec::with_capacity(spec.parts.len());
    let mut lineages = Vec::with_capacity(spec.parts.len());
    for (n, part) in spec.parts.iter().enumerate() {
        match &part.0 {
            Source::Constant(value, encode) => {
                let bytes = encode
                    .encode(value)
                    .map_err(|e| format!("argument {}: {e}", n + 1))?;
                args.push((false, crate::cache::hash(&bytes)));
                lineages.push(None);
            }
            Source::Input(j, encode) => {
                let dep = deps[*j];
                let key = known(dep);
                lineages.push(key.map(|(_, lineage)| lineage));
                let hash = match key {
                    Some((key, _)) if !spec.by_value => key,
                    _ => bytes(dep, *encode).map_err(|e| format!("input {}: {e}", n + 1))?,
                };
                args.push((true, hash));
            }
        }
    }
    let recipe = Recipe::new(spec, salt, args);
    Ok((recipe, Lineage::of(spec.path, lineages.into_iter())))
}

/// What a compute of `graph` would do with each cached task, worked out
/// without running anything: a task's key is known when its inputs' keys
/// are (or, where it needs their bytes, when they are values given when
/// the graph was built, or hits); otherwise it is unknown until it runs.
pub(crate) fn dry_run(cache: &Cache, graph: &Graph) -> Vec<(crate::key::Key, Verdict)> {
    let len = graph.len();
    let mut keys: Vec<Option<(u128, Lineage)>> = vec![None; len];
    // The hash of a hit's value bytes, for the tasks keyed by value.
    let mut hits: Vec<Option<u128>> = vec![None; len];
    let mut before: HashMap<Lineage, Option<Recipe>> = HashMap::new();
    let mut verdicts = Vec::new();
    for i in 0..len as u32 {
        let node = graph.node(i);
        if node.is_junction() {
            keys[i as usize] = gathered_key(graph, i, |dep| keys[dep as usize]);
            continue;
        }
        let cached = match node.cached() {
            Some(cached) if cached.on => cached,
            Some(_) => {
                verdicts.push((node.key.clone(), Verdict::Off));
                continue;
            }
            None => continue,
        };
        // The bytes of a value given when the graph was built, or of a
        // hit; any other input's are known only once it runs.
        let bytes = |dep: u32, encode: Encode| match graph.node(dep).body() {
            Body::Ready(value) => encode
                .encode(value)
                .map(|bytes| crate::cache::hash(&bytes))
                .map_err(|e| e.to_string()),
            _ => hits[dep as usize]
                .ok_or_else(|| format!("`{}` runs first", graph.node(dep).key.name())),
        };
        let known = |dep: u32| keys[dep as usize];
        let (recipe, lineage) = match recipe_of(graph, i, cached, cache.salt, known, bytes) {
            Ok(made) => made,
            Err(why) => {
                verdicts.push((node.key.clone(), Verdict::Unknown(why)));
                continue;
            }
        };
        let key = recipe.key();
        keys[i as usize] = Some((key, lineage));
        let verdict = match cache.store.get(&entry_key(key)) {
            Ok(Some(entry)) => match Envelope::open(&cached.spec, &entry) {
                Ok((_, hash)) => {
                    hits[i as usize] = Some(hash);
                    Verdict::Hit
                }
                Err(why) => Verdict::Miss(Miss::Unreadable(why)),
            },
            Ok(None) => {
                let before = before
                    .entry(lineage)
                    .or_insert_with(|| cache.recipe_at(lineage));
                Verdict::Miss(Miss::between(before.as_ref(), &recipe))
            }
            Err(error) => Verdict::Miss(Miss::Unavailable(error.to_string())),
        };
        verdicts.push((node.key.clone(), verdict));
    }
    verdicts
}

fn record(cached: &Cached, verdict: Verdict) {
    *lock(&cached.verdict) = Some(verdict);
}

/// Runs `f`, which blocks, from an async task: on a multi-threaded
/// runtime (a threaded client's) the worker hands its other tasks to the
/// others first; elsewhere (the synchronous client, which blocks anyway)
/// it just runs.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
