//! The house keeps its shape: every room (a top-level module of `src/`) imports only rooms on
//! a lower floor, so no module imports one above it and there are no import circles between
//! rooms. The floors are the map in docs/architecture.md; a new room must be given one here.
//!
//! Read from the code itself: every `crate::room` path outside comments and test code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rooms from the ground floor up. A room may import any room on a lower floor.
const FLOORS: &[&[&str]] = &[
    &["text"],
    &["model"],
    &["config"],
    &["places", "story", "feed"],
    &["rules", "alert", "store"],
    &["runtime", "entities"],
    &["service"],
    &["poll", "web"],
    &["daemon"],
    &["cli"],
];

fn floor_of(room: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&room))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its unit tests: test modules are in files of
/// their own (`tests.rs`, `proptests.rs`) or at the end of the file behind `#[cfg(test)]`.
fn production_lines(path: &Path) -> Vec<(usize, String)> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "tests.rs" || name == "proptests.rs" {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).expect("read source");
    let mut lines = Vec::new();
    let mut previous_was_cfg_test = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.trim();
        if previous_was_cfg_test && code.starts_with("mod ") && code.ends_with('{') {
            break;
        }
        previous_was_cfg_test = code == "#[cfg(test)]";
        if code.starts_with("//") {
            continue;
        }
        let code = match code.find("//") {
            Some(at) => code[..at].trim_end(),
            None => code,
        };
        lines.push((n + 1, code.to_string()));
    }
    lines
}

#[test]
fn no_room_imports_a_room_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let path_re = regex::Regex::new(r"\bcrate::([a-z_]+)").expect("regex");
    let mut problems = Vec::new();
    let mut edges: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut rooms_seen = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let room = first.trim_end_matches(".rs");
        if room == "lib" || room == "main" {
            continue;
        }
        let Some(floor) = floor_of(room) else {
            problems.push(format!(
                "src/{first}: room `{room}` has no floor in tests/architecture.rs (and docs/architecture.md)"
            ));
            continue;
        };
        rooms_seen += 1;
        for (line, code) in production_lines(file) {
            for capture in path_re.captures_iter(&code) {
                let target = &capture[1];
                if target == room {
                    continue;
                }
                edges.entry(room.into()).or_default().insert(target.into());
                match floor_of(target) {
                    Some(target_floor) if target_floor < floor => {}
                    Some(_) => problems.push(format!(
                        "src/{}:{line}: `{room}` imports `{target}`, which is not on a lower floor",
                        relative.display()
                    )),
                    None => problems.push(format!(
                        "src/{}:{line}: `{room}` imports unknown room `{target}`",
                        relative.display()
                    )),
                }
            }
        }
    }
    assert!(rooms_seen > 50, "the walk found only {rooms_seen} files");
    // The check must see the known downward edges, or it is reading nothing.
    for (room, target) in [("rules", "places"), ("poll", "store"), ("daemon", "poll")] {
        assert!(
            edges.get(room).is_some_and(|t| t.contains(target)),
            "expected `{room}` to import `{target}`; edges seen: {edges:?}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn comments_and_unit_tests_are_not_imports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.rs");
    std::fs::write(
        &file,
        "use crate::text::normalize; // crate::cli\n/// see crate::daemon\nfn f() {}\n\
         #[cfg(test)]\nmod tests {\n    use crate::cli;\n}\n",
    )
    .expect("write");
    let lines = production_lines(&file);
    let code: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        code,
        ["use crate::text::normalize;", "fn f() {}", "#[cfg(test)]"]
    );
}
