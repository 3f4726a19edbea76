//! Checks that the files of a crate's `src/` import each other along a
//! layered DAG: no file reaches a layer it may not, and no import circle.
//!
//! The layers are read from the crate's `lib.rs` module doc, from the one
//! Markdown table whose header is `| layer | modules | may import |`, so
//! the rules a reader sees are the rules that are checked:
//!
//! ```text
//! //! | layer | modules | may import |
//! //! |---|---|---|
//! //! | Graph | `node`, `graph` | nothing |
//! //! | Build | `handle` | Graph |
//! ```
//!
//! Each module named is a top-level module of the crate, with every file
//! below it. `lib.rs` itself is the crate root: it may import anything.
//! A layer may always import itself. The file-level import graph must be
//! acyclic, within a layer too.
//!
//! An import is a path rooted at `crate`, `super` or `self`, or at a
//! child module declared with `mod name;`, in a `use` tree or anywhere in
//! code (comments and strings are skipped). It ends in the deepest file
//! the path names; a path through a name that file imports (`use`, also
//! `pub use`) follows the import, so `crate::Error` reaches `error.rs`
//! through `lib.rs`'s re-export. A module root's `mod` declarations, and
//! its `pub use` of its own descendants, are how it exposes them: they
//! are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A module path inside the crate: `["executor", "threaded"]`.
type ModPath = Vec<String>;

/// One source file, as the check sees it.
#[derive(Debug)]
struct File {
    /// The file's path relative to `src/`, as reports show it.
    name: String,
    module: ModPath,
    /// Every path it names, with the line and whether it is a `pub use`.
    paths: Vec<Named>,
    /// Names it brings into scope with `use`: name → full path.
    imports: BTreeMap<String, ModPath>,
}

#[derive(Debug, Clone)]
struct Named {
    path: ModPath,
    line: usize,
    /// Re-exported by a `pub` or `pub(crate)` `use`.
    reexport: bool,
}

/// An import that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The importing file, relative to `src/`.
    pub file: String,
    pub line: usize,
    /// The imported file.
    pub target: String,
    pub from_layer: String,
    pub to_layer: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} (layer {}) imports {} (layer {}), which {} may not import; \
             move the code to the lower layer, or reach it through a trait the lower layer owns",
            self.file,
            self.line,
            self.file,
            self.from_layer,
            self.target,
            self.to_layer,
            self.from_layer
        )
    }
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Files read.
    pub files: usize,
    /// Distinct file-to-file imports.
    pub edges: BTreeSet<(String, String)>,
    pub violations: Vec<Violation>,
    /// One import circle for each group of files that import each other
    /// in a circle: each file imports the next, the last the first.
    pub cycles: Vec<Vec<String>>,
    /// Files that belong to no layer of the table.
    pub unassigned: Vec<String>,
}

impl Report {
    /// Whether every rule holds.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty() && self.cycles.is_empty() && self.unassigned.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for violation in &self.violations {
            writeln!(f, "{violation}")?;
        }
        for cycle in &self.cycles {
            writeln!(f, "import circle: {} -> {}", cycle.join(" -> "), cycle[0])?;
        }
        for file in &self.unassigned {
            writeln!(
                f,
                "{file}: in no layer; add its top-level module to the table in lib.rs"
            )?;
        }
        write!(
            f,
            "{} files, {} imports: {}",
            self.files,
            self.edges.len(),
            if self.is_clean() {
                "the layers are a DAG".to_string()
            } else {
                format!(
                    "{} forbidden, {} circles, {} unassigned",
                    self.violations.len(),
                    self.cycles.len(),
                    self.unassigned.len()
                )
            }
        )
    }
}

/// The layers and what each may import.
#[derive(Debug)]
pub struct Layers {
    /// Top-level module → layer name.
    modules: BTreeMap<String, String>,
    /// Layer → the layers it may import (itself included).
    allowed: BTreeMap<String, BTreeSet<String>>,
}

impl Layers {
    /// The table in a `lib.rs`'s module doc.
    pub fn from_lib(lib: &str) -> Result<Layers, String> {
        let mut rows = lib
            .lines()
            .map(str::trim)
            .filter_map(|line| line.strip_prefix("//!"))
            .map(str::trim)
            .skip_while(|line| {
                !(line.starts_with('|') && line.to_lowercase().contains("may import"))
            });
        rows.next().ok_or(
            "lib.rs has no layer table: a module-doc table whose header is \
             `| layer | modules | may import |`",
        )?;
        let mut layers = Layers {
            modules: BTreeMap::new(),
            allowed: BTreeMap::new(),
        };
        for row in rows.skip(1).take_while(|line| line.starts_with('|')) {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let [layer, modules, may] = cells[..] else {
                return Err(format!("a layer row needs three cells: `{row}`"));
            };
            let layer = layer.trim_matches('*').to_string();
            for module in modules.split(',').map(|m| m.trim().trim_matches('`')) {
                if let Some(other) = layers.modules.insert(module.to_string(), layer.clone()) {
                    return Err(format!(
                        "module `{module}` is in two layers: {other} and {layer}"
                    ));
                }
            }
            let mut allowed: BTreeSet<String> = may
                .split(',')
                .map(|l| l.trim().trim_matches('*').to_string())
                .filter(|l| !l.is_empty() && l != "nothing" && l != "—")
                .collect();
            allowed.insert(layer.clone());
            layers.allowed.insert(layer, allowed);
        }
        for (layer, allowed) in &layers.allowed {
            if let Some(unknown) = allowed.iter().find(|l| !layers.allowed.contains_key(*l)) {
                return Err(format!(
                    "layer {layer} may import `{unknown}`, which is no layer"
                ));
            }
        }
        if layers.modules.is_empty() {
            return Err("the layer table in lib.rs has no rows".into());
        }
        Ok(layers)
    }

    /// The layer of a module path; the crate root is `root`.
    fn of(&self, module: &ModPath) -> Option<&str> {
        match module.first() {
            None => Some("root"),
            Some(top) => self.modules.get(top).map(String::as_str),
        }
    }

    fn may_import(&self, from: &str, to: &str) -> bool {
        from == "root" || self.allowed.get(from).is_some_and(|a| a.contains(to))
    }
}

/// Checks the crate whose sources are in `src`, against the table in its
/// `lib.rs`.
pub fn check(src: &Path) -> Result<Report, String> {
    let lib = read(&src.join("lib.rs"))?;
    let layers = Layers::from_lib(&lib)?;
    let mut files = BTreeMap::new();
    for path in rust_files(src)? {
        let file = parse(src, &path)?;
        files.insert(file.module.clone(), file);
    }
    Ok(analyse(&files, &layers))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The module a file is: `lib.rs` the root, `a/mod.rs` and `a.rs` module
/// `a`, `a/b.rs` module `a::b`.
fn module_of(src: &Path, path: &Path) -> ModPath {
    let relative = path.strip_prefix(src).unwrap_or(path);
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn parse(src: &Path, path: &Path) -> Result<File, String> {
    let text = read(path)?;
    let module = module_of(src, path);
    let tokens = tokenize(&text);
    let name = path
        .strip_prefix(src)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let mut file = File {
        name,
        module: module.clone(),
        paths: Vec::new(),
        imports: BTreeMap::new(),
    };
    // Child modules declared by this file, which its paths may start at.
    let children: BTreeSet<String> = tokens
        .windows(3)
        .filter(|w| w[0].is("mod") && w[2].is(";"))
        .map(|w| w[1].text.clone())
        .collect();
    // The depth of inline `mod name { … }` blocks, in braces: `super`
    // inside one is this file's module (one level; deeper is rare).
    let mut inline: Vec<usize> = Vec::new();
    // The depth of a `#[cfg(test)]` inline module being skipped: unit
    // tests may use any layer, as the crate's users do.
    let mut test_module: Option<usize> = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        match token.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                if test_module == Some(depth) {
                    test_module = None;
                }
            }
            "mod" if tokens.get(i + 2).is_some_and(|t| t.is("{")) => {
                if test_module.is_none() && is_cfg_test(&tokens[..i]) {
                    test_module = Some(depth);
                }
                inline.push(depth);
            }
            _ => {}
        }
        if test_module.is_some() {
            i += 1;
            continue;
        }
        let base = |first: &str| -> Option<ModPath> {
            match first {
                "crate" => Some(Vec::new()),
                "self" => Some(module.clone()),
                "super" if !inline.is_empty() => Some(module.clone()),
                "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
                child if children.contains(child) => {
                    Some(module.iter().cloned().chain([child.to_string()]).collect())
                }
                _ => None,
            }
        };
        let after_colons = i > 0 && tokens[i - 1].is("::");
        if token.is("use") && !after_colons {
            let reexport = i > 0
                && (tokens[i - 1].is("pub")
                    || (tokens[i - 1].is(")") && i >= 4 && tokens[i - 4].is("pub")));
            let mut trees = Vec::new();
            i = use_tree(&tokens, i + 1, Vec::new(), &mut trees);
            for (path, alias) in trees {
                let Some(first) = path.first() else { continue };
                let Some(mut full) = base(first) else {
                    continue;
                };
                let mut rest = path[1..].to_vec();
                // `super::super::x`
                while rest.first().is_some_and(|s| s == "super") {
                    full.pop();
                    rest.remove(0);
                }
                full.extend(rest);
                if let Some(alias) = alias {
                    file.imports.insert(alias, full.clone());
                }
                file.paths.push(Named {
                    path: full,
                    line: token.line,
                    reexport,
                });
            }
            continue;
        }
        if token.ident
            && !after_colons
            && tokens.get(i + 1).is_some_and(|t| t.is("::"))
            && let Some(mut full) = base(&token.text)
        {
            let line = token.line;
            i += 1;
            while tokens.get(i).is_some_and(|t| t.is("::"))
                && tokens.get(i + 1).is_some_and(|t| t.ident)
            {
                let segment = &tokens[i + 1].text;
                if segment == "super" {
                    full.pop();
                } else {
                    full.push(segment.clone());
                }
                i += 2;
            }
            file.paths.push(Named {
                path: full,
                line,
                reexport: false,
            });
            continue;
        }
        i += 1;
    }
    Ok(file)
}

/// Whether the tokens before an item end with `#[cfg(test)]` (perhaps
/// followed by other attributes and `pub`).
fn is_cfg_test(before: &[Token]) -> bool {
    let text: Vec<&str> = before
        .iter()
        .rev()
        .take(12)
        .map(|t| t.text.as_str())
        .collect();
    text.windows(7)
        .any(|w| w == ["]", ")", "test", "(", "cfg", "[", "#"])
}

/// Reads a `use` tree from `i`, adding each leaf path with the name it
/// brings into scope (none for a glob); returns the index after it.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: ModPath,
    out: &mut Vec<(ModPath, Option<String>)>,
) -> usize {
    let mut path = prefix;
    if tokens.get(i).is_some_and(|t| t.is("::")) {
        i += 1; // a leading `::`: an external crate
        path.push("::".into());
    }
    loop {
        let Some(token) = tokens.get(i) else {
            return i;
        };
        match token.text.as_str() {
            "{" => {
                i += 1;
                while tokens.get(i).is_some_and(|t| !t.is("}")) {
                    i = use_tree(tokens, i, path.clone(), out);
                    if tokens.get(i).is_some_and(|t| t.is(",")) {
                        i += 1;
                    }
                }
                return i + 1;
            }
            "*" => {
                out.push((path, None));
                return i + 1;
            }
            "self" if !path.is_empty() => {
                let alias = path.last().cloned();
                i += 1;
                let alias = alias_after(tokens, &mut i).or(alias);
                out.push((path, alias));
                return i;
            }
            _ if token.ident => {
                path.push(token.text.clone());
                i += 1;
                if tokens.get(i).is_some_and(|t| t.is("::")) {
                    i += 1;
                    continue;
                }
                let alias = alias_after(tokens, &mut i).or_else(|| path.last().cloned());
                out.push((path, alias));
                return i;
            }
            _ => return i + 1,
        }
    }
}

fn alias_after(tokens: &[Token], i: &mut usize) -> Option<String> {
    if tokens.get(*i).is_some_and(|t| t.is("as")) {
        let alias = tokens.get(*i + 1).map(|t| t.text.clone());
        *i += 2;
        return alias.filter(|a| a != "_");
    }
    None
}

/// Resolves every path to the file it reaches and applies the rules.
fn analyse(files: &BTreeMap<ModPath, File>, layers: &Layers) -> Report {
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    let mut graph: BTreeMap<&ModPath, BTreeSet<&ModPath>> = BTreeMap::new();
    for (module, file) in files {
        graph.entry(module).or_default();
        let Some(from_layer) = layers.of(module) else {
            report.unassigned.push(file.name.clone());
            continue;
        };
        for named in &file.paths {
            let Some(target) = resolve(files, &named.path, 0) else {
                continue;
            };
            let descendant = target.len() > module.len() && target.starts_with(module);
            if target == *module || (named.reexport && descendant) {
                continue;
            }
            let (target, target_file) = files.get_key_value(&target).expect("resolved to a file");
            graph.entry(module).or_default().insert(target);
            report
                .edges
                .insert((file.name.clone(), target_file.name.clone()));
            let to_layer = layers.of(target).unwrap_or("none");
            if !layers.may_import(from_layer, to_layer) {
                let violation = Violation {
                    file: file.name.clone(),
                    line: named.line,
                    target: target_file.name.clone(),
                    from_layer: from_layer.into(),
                    to_layer: to_layer.into(),
                };
                if !report
                    .violations
                    .iter()
                    .any(|v| v.file == violation.file && v.target == violation.target)
                {
                    report.violations.push(violation);
                }
            }
        }
    }
    report.cycles = components(&graph)
        .into_iter()
        .map(|component| {
            shortest_circle(&graph, &component)
                .iter()
                .map(|m| files[*m].name.clone())
                .collect()
        })
        .collect();
    report
}

/// The shortest circle through a component's first file, each file
/// importing the next and the last the first.
fn shortest_circle<'a>(
    graph: &BTreeMap<&'a ModPath, BTreeSet<&'a ModPath>>,
    component: &[&'a ModPath],
) -> Vec<&'a ModPath> {
    let start = component[0];
    let inside: BTreeSet<&ModPath> = component.iter().copied().collect();
    let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for &next in &graph[at] {
            if next == start {
                let mut circle = vec![at];
                while let Some(&before) = came_from.get(circle.last().expect("not empty")) {
                    circle.push(before);
                }
                if *circle.last().expect("not empty") != start {
                    circle.push(start);
                }
                circle.reverse();
                return circle;
            }
            if inside.contains(next) && next != start && !came_from.contains_key(next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    component.to_vec()
}

/// The file a path reaches: the deepest module file along it, through
/// the imports of the file it stops at.
fn resolve(files: &BTreeMap<ModPath, File>, path: &ModPath, hops: usize) -> Option<ModPath> {
    if hops > 8 {
        return None;
    }
    let mut at: ModPath = Vec::new();
    for segment in path {
        let mut next = at.clone();
        next.push(segment.clone());
        if files.contains_key(&next) {
            at = next;
            continue;
        }
        // A name the file at `at` imports: follow it.
        if let Some(imported) = files.get(&at).and_then(|f| f.imports.get(segment)) {
            if imported.first().is_some_and(|s| s == "::") {
                return Some(at); // an external crate, re-exported
            }
            let mut rest = imported.clone();
            let tail = &path[at.len() + 1..];
            rest.extend(tail.iter().cloned());
            return resolve(files, &rest, hops + 1).or(Some(at));
        }
        break;
    }
    files.contains_key(&at).then_some(at)
}

/// Every strongly connected component of more than one file (Tarjan's,
/// iterative).
fn components<'a>(graph: &BTreeMap<&'a ModPath, BTreeSet<&'a ModPath>>) -> Vec<Vec<&'a ModPath>> {
    let nodes: Vec<&ModPath> = graph.keys().copied().collect();
    let index_of: BTreeMap<&ModPath, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            graph[n]
                .iter()
                .filter_map(|m| index_of.get(m).copied())
                .collect()
        })
        .collect();
    let n = nodes.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut next, mut out) = (Vec::new(), 0, Vec::new());
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut k)) = work.last_mut() {
            if *k == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*k) {
                *k += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.reverse();
                    out.push(component.into_iter().map(|i| nodes[i]).collect());
                }
            }
        }
    }
    out
}

/// A token of Rust source: an identifier or keyword, `::`, or one
/// punctuation character. Comments, strings and characters are dropped.
#[derive(Debug)]
struct Token {
    text: String,
    ident: bool,
    line: usize,
}

impl Token {
    fn is(&self, text: &str) -> bool {
        self.text == text
    }
}

fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if let Some(end) = match (c, at(i + 1)) {
            ('r', '#' | '"') => raw_string(&chars, i),
            ('b', 'r') => raw_string(&chars, i + 1),
            _ => None,
        } {
            line += chars[i..end].iter().filter(|&&c| c == '\n').count();
            i = end;
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            i += if c == 'b' { 2 } else { 1 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            let start = if c == 'b' { i + 1 } else { i };
            // A character literal closes within a few characters; a
            // lifetime or label does not.
            let close = if at(start + 1) == '\\' {
                (start + 3..start + 12).find(|&j| at(j) == '\'')
            } else {
                (at(start + 2) == '\'').then_some(start + 2)
            };
            match close {
                Some(end) => i = end + 1,
                None => i = start + 1,
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let mut text: String = chars[start..i].iter().collect();
            if text == "r" && at(i) == '#' {
                let from = i + 1;
                i = from;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                text = chars[from..i].iter().collect();
            }
            tokens.push(Token {
                text,
                ident: true,
                line,
            });
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token {
                text: "::".into(),
                ident: false,
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                text: c.to_string(),
                ident: false,
                line,
            });
            i += 1;
        }
    }
    tokens
}

/// The end of a raw string literal starting at `i` (`r"…"`, `r#"…"#`).
fn raw_string(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempdir::Dir {
        tempdir::Dir::with(files)
    }

    /// A throwaway directory, removed when dropped.
    mod tempdir {
        use std::path::{Path, PathBuf};

        pub struct Dir(PathBuf);

        impl Dir {
            pub fn with(files: &[(&str, &str)]) -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let dir = std::env::temp_dir().join(format!(
                    "delayed-layers-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                for (name, text) in files {
                    let path = dir.join(name);
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(path, text).unwrap();
                }
                Dir(dir)
            }

            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const LIB: &str = "//! | layer | modules | may import |\n\
                       //! |---|---|---|\n\
                       //! | Low | `low`, `error` | nothing |\n\
                       //! | High | `high` | Low |\n\
                       mod error;\nmod high;\nmod low;\npub use error::Error;\n";

    #[test]
    fn a_tree_that_follows_the_table_is_clean() {
        let dir = tree(&[
            ("lib.rs", LIB),
            ("error.rs", "pub struct Error;"),
            (
                "low.rs",
                "use crate::Error; // crate::high::X in a comment\n",
            ),
            (
                "high/mod.rs",
                "mod part;\npub use part::Part;\nuse crate::low::{self, *};\nfn f() { let s = \"crate::high\"; }",
            ),
            (
                "high/part.rs",
                "pub struct Part;\nfn g() -> super::super::Error { todo() }",
            ),
        ]);
        let report = check(dir.path()).unwrap();
        assert!(report.is_clean(), "{report}");
        let edges: Vec<_> = report
            .edges
            .iter()
            .map(|(a, b)| format!("{a}>{b}"))
            .collect();
        // `crate::Error` reaches error.rs through lib.rs's re-export; the
        // module root's `pub use` of its child is no import.
        assert!(edges.contains(&"low.rs>error.rs".to_string()), "{edges:?}");
        assert!(
            edges.contains(&"high/part.rs>error.rs".to_string()),
            "{edges:?}"
        );
        assert!(
            !edges.iter().any(|e| e.starts_with("high/mod.rs>high/part")),
            "{edges:?}"
        );
    }

    #[test]
    fn a_deliberate_bad_import_fails_with_its_file_and_line() {
        let dir = tree(&[
            ("lib.rs", LIB),
            ("error.rs", "pub struct Error;"),
            ("low.rs", "fn f() {}\n\nfn g() { crate::high::h() }\n"),
            ("high/mod.rs", "pub fn h() {}"),
        ]);
        let report = check(dir.path()).unwrap();
        assert!(!report.is_clean());
        assert_eq!(
            report.violations,
            [Violation {
                file: "low.rs".into(),
                line: 3,
                target: "high/mod.rs".into(),
                from_layer: "Low".into(),
                to_layer: "High".into(),
            }]
        );
        assert!(
            report
                .to_string()
                .contains("low.rs:3: low.rs (layer Low) imports high/mod.rs")
        );
    }

    #[test]
    fn a_circle_inside_one_layer_fails() {
        let dir = tree(&[
            ("lib.rs", LIB),
            ("error.rs", "use crate::low::L;"),
            ("low.rs", "pub struct L; use crate::error::Error;"),
            ("high/mod.rs", ""),
        ]);
        let report = check(dir.path()).unwrap();
        assert!(report.violations.is_empty());
        assert_eq!(
            report.cycles,
            [vec!["error.rs".to_string(), "low.rs".to_string()]]
        );
    }

    #[test]
    fn a_module_in_no_layer_fails() {
        let dir = tree(&[
            ("lib.rs", LIB),
            ("error.rs", ""),
            ("low.rs", ""),
            ("high/mod.rs", ""),
            ("stray.rs", ""),
        ]);
        let report = check(dir.path()).unwrap();
        assert_eq!(report.unassigned, ["stray.rs"]);
    }

    #[test]
    fn strings_characters_and_lifetimes_hide_no_paths() {
        let tokens = tokenize(
            "fn f<'a>(x: &'a str) -> char { let _ = r#\"crate::a\"#; let _ = br\"crate::c\"; let _ = b'\\''; '\"' }\n\
             crate::b",
        );
        let idents: Vec<&str> = tokens
            .iter()
            .filter(|t| t.ident)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(
            idents,
            [
                "fn", "f", "a", "x", "a", "str", "char", "let", "_", "let", "_", "let", "_",
                "crate", "b"
            ]
        );
        assert_eq!(tokens.last().unwrap().line, 2);
    }

    #[test]
    fn the_table_must_name_known_layers() {
        let lib = "//! | layer | modules | may import |\n//! |---|---|---|\n//! | A | `a` | B |\n";
        assert!(
            Layers::from_lib(lib)
                .unwrap_err()
                .contains("`B`, which is no layer")
        );
        assert!(Layers::from_lib("//! no table").is_err());
    }
}
