//! Resources: named amounts a task needs to run (`gpu = 1`, `memory =
//! "4GiB"`) and a client or worker has. A task runs only where its
//! resources fit, and holds them while it runs.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Named amounts of resources: what a task needs
/// ([`Delayed::with_resources`](crate::Delayed::with_resources),
/// `#[delayed(resources(gpu = 1))]`), or what a client
/// ([`ClientBuilder::resources`](crate::ClientBuilder::resources)) or a
/// worker (`DELAYED_WORKER_RESOURCES`) has.
///
/// A name is any word (`gpu`, `memory`, `licence`); an amount is a whole
/// number, or a size with a unit (`512MiB`, `4GiB`, `1.5GB`), counted in
/// bytes. Names the client or worker does not list it has none of.
///
/// ```
/// use delayed::Resources;
///
/// let worker: Resources = "gpu=2, memory=16GiB".parse()?;
/// assert_eq!(worker.get("gpu"), 2);
/// assert_eq!(worker.get("memory"), 16 << 30);
/// assert_eq!(worker.get("tpu"), 0);
/// assert_eq!(worker.to_string(), "gpu=2,memory=16GiB");
///
/// let task = Resources::new().with("gpu", 1);
/// assert_eq!(task, Resources::from([("gpu", 1)]));
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// Sorted by name, each name once, no zero amount.
    amounts: Vec<(String, u64)>,
}

impl Resources {
    /// No resources.
    ///
    /// ```
    /// assert!(delayed::Resources::new().is_empty());
    /// ```
    pub fn new() -> Resources {
        Resources::default()
    }

    /// These resources and `amount` of `name` (in place of any amount of
    /// it given before); an amount of 0 removes the name.
    ///
    /// ```
    /// let r = delayed::Resources::new().with("gpu", 1).with("gpu", 2);
    /// assert_eq!(r.get("gpu"), 2);
    /// ```
    pub fn with(mut self, name: impl Into<String>, amount: u64) -> Resources {
        let name = name.into();
        match self
            .amounts
            .binary_search_by(|(n, _)| n.as_str().cmp(&name))
        {
            Ok(i) if amount == 0 => {
                self.amounts.remove(i);
            }
            Ok(i) => self.amounts[i].1 = amount,
            Err(_) if amount == 0 => {}
            Err(i) => self.amounts.insert(i, (name, amount)),
        }
        self
    }

    /// The amount of `name`: 0 when it is not listed.
    ///
    /// ```
    /// let r = delayed::Resources::new().with("memory", 4 << 30);
    /// assert_eq!(r.get("memory"), 4 << 30);
    /// ```
    pub fn get(&self, name: &str) -> u64 {
        self.amounts
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .map_or(0, |i| self.amounts[i].1)
    }

    /// Whether no resource is listed.
    ///
    /// ```
    /// assert!(!delayed::Resources::from([("gpu", 1)]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.amounts.is_empty()
    }

    /// Each name and its amount, by name.
    ///
    /// ```
    /// let r: delayed::Resources = "memory=1KiB,gpu=1".parse()?;
    /// assert_eq!(r.iter().collect::<Vec<_>>(), [("gpu", 1), ("memory", 1024)]);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.amounts
            .iter()
            .map(|(name, amount)| (name.as_str(), *amount))
    }

    /// The first resource of `self` that `capacity` has less of, with the
    /// amount it has: what keeps a task needing `self` from ever running
    /// there.
    pub(crate) fn unmet_by<'a>(&'a self, capacity: &Resources) -> Option<(&'a str, u64, u64)> {
        self.iter()
            .map(|(name, needed)| (name, needed, capacity.get(name)))
            .find(|(_, needed, has)| needed > has)
    }

    /// Parses `name=amount` pairs separated by commas, as
    /// `DELAYED_WORKER_RESOURCES` gives them.
    fn parse(text: &str) -> Result<Resources, String> {
        let mut resources = Resources::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, amount)) = pair.split_once('=') else {
                return Err(format!(
                    "`{pair}` names no amount: write `name=amount`, e.g. `gpu=2` or `memory=16GiB`"
                ));
            };
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_-.".contains(c))
            {
                return Err(format!(
                    "`{name}` is not a resource name: use a word of letters, digits, `_`, `-` or `.`"
                ));
            }
            if resources.get(name) > 0 {
                return Err(format!("`{name}` is given twice: keep one"));
            }
            resources = resources.with(name, amount_of(amount.trim()).map_err(str::to_owned)?);
        }
        Ok(resources)
    }
}

impl FromStr for Resources {
    type Err = Error;

    /// Parses `gpu=2,memory=16GiB`; an error of kind
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) says what to write.
    fn from_str(text: &str) -> Result<Resources, Error> {
        Resources::parse(text)
            .map_err(|message| Error::config(format!("resources `{text}`: {message}")))
    }
}

impl<S: Into<String>, const N: usize> From<[(S, u64); N]> for Resources {
    fn from(amounts: [(S, u64); N]) -> Resources {
        amounts
            .into_iter()
            .fold(Resources::new(), |resources, (name, amount)| {
                resources.with(name, amount)
            })
    }
}

impl fmt::Display for Resources {
    /// `gpu=1,memory=4GiB`: sizes that are whole KiB, MiB, GiB or TiB
    /// are written so.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, amount)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let unit = UNITS
                .iter()
                .rev()
                .filter(|(suffix, _)| suffix.ends_with("iB"))
                .find(|(_, size)| *size > 1 && amount >= *size && amount % size == 0);
            match unit {
                Some((suffix, size)) => write!(f, "{name}={}{suffix}", amount / size)?,
                None => write!(f, "{name}={amount}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Resources({self})")
    }
}

/// Units of an amount and what each counts, longest suffix first within
/// each size so that `KiB` is not read as `K` then `iB`.
const UNITS: [(&str, u64); 13] = [
    ("", 1),
    ("B", 1),
    ("K", 1 << 10),
    ("KB", 1_000),
    ("KiB", 1 << 10),
    ("M", 1 << 20),
    ("MB", 1_000_000),
    ("MiB", 1 << 20),
    ("G", 1 << 30),
    ("GB", 1_000_000_000),
    ("GiB", 1 << 30),
    ("TB", 1_000_000_000_000),
    ("TiB", 1 << 40),
];

/// Reads an amount: a whole number, or a number (with a fraction if you
/// like) and a unit of size, `4GiB`, `512MB`, `1.5G`. A `const fn`, so
/// that `#[delayed(resources(memory = "…"))]` is checked as it compiles.
#[doc(hidden)]
pub const fn amount_of(text: &str) -> Result<u64, &'static str> {
    const HELP: &str = "an amount is a whole number (`2`) or a size with a unit (`512MiB`, `4GiB`, `1.5GB`; K, M, G, T with B or iB)";
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut whole: u64 = 0;
    let mut digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        whole = match whole.checked_mul(10) {
            Some(w) => match w.checked_add((bytes[i] - b'0') as u64) {
                Some(w) => w,
                None => return Err("the amount is too large for 64 bits"),
            },
            None => return Err("the amount is too large for 64 bits"),
        };
        digits += 1;
        i += 1;
    }
    // Up to 9 decimals, kept as a numerator over 10^scale.
    let mut fraction: u64 = 0;
    let mut scale: u64 = 1;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            if scale < 1_000_000_000 {
                fraction = fraction * 10 + (bytes[i] - b'0') as u64;
                scale *= 10;
            }
            digits += 1;
            i += 1;
        }
    }
    if digits == 0 {
        return Err(HELP);
    }
    while i < bytes.len() && bytes[i] == b' ' {
        i += 1;
    }
    // The unit: the rest of the text, matched whole.
    let (_, unit) = bytes.split_at(i);
    let mut u = 0;
    let mut size = 0;
    while u < UNITS.len() {
        if eq_ignore_case(unit, UNITS[u].0.as_bytes()) {
            size = UNITS[u].1;
        }
        u += 1;
    }
    if size == 0 {
        return Err(HELP);
    }
    if scale > 1 && size == 1 {
        return Err("a count is a whole number: a fraction needs a unit of size, e.g. `1.5GiB`");
    }
    let Some(whole) = whole.checked_mul(size) else {
        return Err("the amount is too large for 64 bits");
    };
    // `size / scale` exactly when it divides; else `fraction * size / scale`.
    let part = (fraction as u128 * size as u128 / scale as u128) as u64;
    match whole.checked_add(part) {
        Some(amount) => Ok(amount),
        None => Err("the amount is too large for 64 bits"),
    }
}

/// ASCII case-insensitive equality, in a `const fn`.
const fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if !a[i].eq_ignore_ascii_case(&b[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// `amount_of` in a constant: a bad amount in `#[delayed(resources(…))]`
/// fails the build with the reason, where the macro puts it.
#[doc(hidden)]
pub const fn checked_amount(text: &str) -> u64 {
    match amount_of(text) {
        Ok(amount) => amount,
        Err(reason) => panic!("{}", reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_counts_or_sizes() {
        assert_eq!(amount_of("3"), Ok(3));
        assert_eq!(amount_of("4GiB"), Ok(4 << 30));
        assert_eq!(amount_of("4 gib"), Ok(4 << 30));
        assert_eq!(amount_of("512MB"), Ok(512_000_000));
        assert_eq!(amount_of("1.5GiB"), Ok(3 << 29));
        assert_eq!(amount_of("2K"), Ok(2048));
        assert!(amount_of("1.5").is_err());
        assert!(amount_of("four").is_err());
        assert!(amount_of("4 gigs").is_err());
        assert!(amount_of("99999999999999999999").is_err());
        assert!(amount_of("20000000TiB").is_err());
    }

    #[test]
    fn a_list_parses_and_prints_back() {
        let r: Resources = " memory = 16GiB , gpu=2 ".parse().unwrap();
        assert_eq!(r.to_string(), "gpu=2,memory=16GiB");
        assert_eq!(r.to_string().parse::<Resources>().unwrap(), r);
        for bad in ["gpu", "gpu=two", "=1", "gpu=1,gpu=2", "g p u=1"] {
            let err = bad.parse::<Resources>().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{bad}");
            assert!(
                err.to_string().starts_with(&format!("resources `{bad}`: ")),
                "{err}"
            );
        }
        assert!("".parse::<Resources>().unwrap().is_empty());
    }

    #[test]
    fn unmet_names_the_first_resource_short() {
        let worker = Resources::from([("gpu", 1), ("memory", 8 << 30)]);
        let task = Resources::from([("gpu", 1), ("memory", 16 << 30)]);
        assert_eq!(task.unmet_by(&worker), Some(("memory", 16 << 30, 8 << 30)));
        assert_eq!(Resources::from([("gpu", 1)]).unmet_by(&worker), None);
        assert_eq!(
            Resources::from([("tpu", 1)]).unmet_by(&worker),
            Some(("tpu", 1, 0))
        );
    }
}
