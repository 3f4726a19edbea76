use delayed::{compute, delayed};

// Each function is rejected; their callers still type-check against the
// lazy signature, so only the two errors below are shown.
#[delayed]
fn first_word(text: &String) -> &str {
    text.split(' ').next().unwrap_or("")
}

#[delayed]
fn push(list: &mut Vec<i64>, x: i64) -> usize {
    list.push(x);
    list.len()
}

#[delayed]
fn shout(word: String) -> String {
    word.to_uppercase()
}

fn main() -> Result<(), delayed::Error> {
    let word = first_word("hello world".to_string());
    let loud = shout(&word);
    let n = push(vec![1, 2], 3);
    let (loud, n) = compute!(loud, n)?;
    println!("{loud} {n}");
    Ok(())
}
