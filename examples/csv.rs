//! The reference article's pandas section, in Rust: read a handful of CSV
//! files in parallel with `delayed(read_csv).call(path)`, aggregate them
//! lazily, and compute everything at once.
//!
//! ```text
//! cargo run --release --example csv
//! ```
//!
//! The data are six months of small sales records under `examples/data/`.

use delayed::{Delayed, compute, delayed};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::path::{Path, PathBuf};

/// One row of a sales file.
#[derive(Clone, Debug, Deserialize)]
struct Sale {
    date: String,
    store: String,
    product: String,
    quantity: u32,
    price: f64,
}

/// Reads one file: a function from "another library" that we do not mark,
/// so it is wrapped with `delayed(read_csv)` below.
fn read_csv(path: PathBuf) -> Result<Vec<Sale>, csv::Error> {
    csv::Reader::from_path(path)?.deserialize().collect()
}

/// Revenue per store in one month's records.
#[delayed]
fn revenue_by_store(sales: &[Sale]) -> BTreeMap<String, f64> {
    let mut totals = BTreeMap::new();
    for sale in sales {
        *totals.entry(sale.store.clone()).or_insert(0.0) += f64::from(sale.quantity) * sale.price;
    }
    totals
}

/// Units sold per product in one month's records.
#[delayed]
fn units_by_product(sales: &[Sale]) -> BTreeMap<String, u32> {
    let mut totals = BTreeMap::new();
    for sale in sales {
        *totals.entry(sale.product.clone()).or_insert(0) += sale.quantity;
    }
    totals
}

/// Adds up the per-month tables: the `concat` + `groupby().sum()` step.
/// Generic, so the call names the value type: `combine::<f64>(tables)`.
#[delayed]
fn combine<V: Copy + Default + AddAssign>(tables: Vec<BTreeMap<String, V>>) -> BTreeMap<String, V> {
    let mut total = BTreeMap::new();
    for table in tables {
        for (key, value) in table {
            *total.entry(key).or_insert_with(V::default) += value;
        }
    }
    total
}

#[delayed]
fn row_count(sales: &[Sale]) -> usize {
    sales.len()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "csv"));
    paths.sort();

    // Build the graph: nothing is read yet.
    let read = delayed(read_csv);
    let months: Vec<Delayed<Vec<Sale>>> = paths.into_iter().map(|p| read.try_call(p)).collect();
    let revenue = combine::<f64>(months.iter().map(revenue_by_store).collect::<Vec<_>>());
    let units = combine::<u32>(months.iter().map(units_by_product).collect::<Vec<_>>());
    let rows: Vec<Delayed<usize>> = months.iter().map(row_count).collect();
    let first_sale = months[0].map_ref(|sales| sales.first().map(|s| s.date.clone()));

    // One compute: every file is read once, in parallel, and shared by the
    // three aggregations that need it.
    let (revenue, units, rows, first_sale) = compute!(revenue, units, rows, first_sale)?;

    println!(
        "read {} files, {} rows",
        rows.len(),
        rows.iter().sum::<usize>()
    );
    println!("first sale on {}", first_sale.unwrap_or_default());
    println!("\nrevenue by store");
    for (store, total) in &revenue {
        println!("  {store:<8} {total:>10.2}");
    }
    println!("\nunits by product");
    for (product, total) in &units {
        println!("  {product:<8} {total:>10}");
    }
    Ok(())
}
