//! Shell completions and man pages, generated from the command line's definition, and the
//! .deb's assets that hold them.

mod common;

use std::path::Path;

use common::{Workspace, stderr, stdout};

/// Every subcommand, as `watchword --help` lists them (so a new one is checked too).
fn subcommands(ws: &Workspace) -> Vec<String> {
    let help = stdout(&ws.watchword(&["--help"]));
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap_or_else(|| panic!("no Commands: in {help}"));
    let names: Vec<String> = commands
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 10, "{names:?} from {help}");
    names
}

#[test]
fn completion_scripts_offer_every_subcommand() {
    let ws = Workspace::new();
    let names = subcommands(&ws);
    for shell in ["bash", "zsh", "fish"] {
        let out = ws.watchword(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} lacks {name}");
        }
        // Options of a subcommand complete too.
        assert!(script.contains("strict"), "{shell}");
    }
    let out = ws.watchword(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
}

#[test]
fn the_man_page_is_roff_and_names_every_subcommand() {
    let ws = Workspace::new();
    let out = ws.watchword(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH watchword 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for name in subcommands(&ws) {
        // roff escapes the hyphen: watchword\-import\-opml(1)
        let reference = format!("watchword\\-{}(1)", name.replace('-', "\\-"));
        assert!(page.contains(&reference), "no {reference} in {page}");
    }

    // --dir writes the page each reference names.
    let dir = ws.dir.path().join("man");
    let out = ws.watchword(&["man", "--dir", &dir.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in subcommands(&ws) {
        let page = std::fs::read_to_string(dir.join(format!("watchword-{name}.1")))
            .unwrap_or_else(|e| panic!("watchword-{name}.1: {e}"));
        assert!(page.contains(&format!(".TH watchword-{name} 1")), "{page}");
    }
    assert!(dir.join("watchword.1").exists());
}

/// `deploy/assets.sh` writes every file the .deb's assets take from target/assets/.
#[test]
fn the_packaging_script_writes_every_asset_the_deb_installs() {
    let ws = Workspace::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = ws.dir.path().join("assets");
    let run = std::process::Command::new("sh")
        .arg(root.join("deploy/assets.sh"))
        .arg(env!("CARGO_BIN_EXE_watchword"))
        .arg(&out_dir)
        .output()
        .expect("run deploy/assets.sh");
    assert!(run.status.success(), "{}", stderr(&run));

    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml"))
            .expect("Cargo.toml parses");
    let assets = manifest["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .expect("deb assets");
    let mut installed = Vec::new();
    for asset in assets {
        let source = asset[0].as_str().expect("asset source");
        let target = asset[1].as_str().expect("asset target");
        let Some(generated) = source.strip_prefix("target/assets/") else {
            continue;
        };
        installed.push(target.to_owned());
        match generated.strip_suffix("*.1") {
            Some(dir) => {
                let pages = std::fs::read_dir(out_dir.join(dir))
                    .expect("man dir")
                    .count();
                assert!(pages > 10, "{pages} man pages");
            }
            None => assert!(out_dir.join(generated).is_file(), "{source} not written"),
        }
    }
    for expected in [
        "usr/share/bash-completion/completions/watchword",
        "usr/share/zsh/vendor-completions/_watchword",
        "usr/share/fish/vendor_completions.d/watchword.fish",
        "usr/share/man/man1/",
    ] {
        assert!(
            installed.iter().any(|t| t == expected),
            "{expected} not installed: {installed:?}"
        );
    }
}
