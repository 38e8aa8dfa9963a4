//! Built-in places (issue 8): what the gazetteer costs. Targets: start-up stays under 100 ms with
//! the gazetteer loaded, and a rule that uses a region compiles in ≤ 5 ms.
//!
//! Run: `cargo bench --bench places` (figures in docs/rules.md, "Places"). Measures
//! - parsing the embedded data (what the first place reference in a process pays, once);
//! - compiling one rule with `@region:central-asia`, with the data already parsed (every later
//!   rule and every SIGHUP reload), and with bigger references for scale;
//! - matching items against the region rule;
//! - the wall time of `watchword check` on a config with and without a region rule: the
//!   process start-up a user sees, data parse included.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use watchword::model::Item;
use watchword::places::{Gazetteer, expand};
use watchword::rules::{RuleSet, RuleSpec};

fn compile(query: &str) -> RuleSet {
    let spec = RuleSpec { name: "r", query };
    match RuleSet::compile(&BTreeMap::new(), &[spec]) {
        Ok(set) => set,
        Err(e) => panic!("{query}: {e}"),
    }
}

fn item(i: usize, title: &str) -> Item {
    Item {
        feed: "wire".to_owned(),
        id: format!("item-{i}"),
        link: Some(format!("https://news.example.org/world/{i}")),
        title: title.to_owned(),
        summary: "Officials said talks would continue next week in the capital, where \
                  ministers from several countries met to discuss trade, energy and security."
            .to_owned(),
        content: "The meeting followed months of negotiation. Analysts expect a formal \
                  announcement soon; markets were calm and the currency was little changed. "
            .repeat(6),
        published: None,
        authors: vec!["Staff reporter".to_owned()],
        categories: vec!["World".to_owned()],
    }
}

/// Median wall time of `watchword check` over `runs` runs.
fn startup(config: &str, runs: usize) -> Duration {
    let dir = std::env::temp_dir().join(format!("watchword-places-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("watchword.toml");
    let db = dir.join("state.db");
    let text = config.replace("DB", &db.to_string_lossy());
    if let Err(e) = std::fs::write(&path, text) {
        panic!("write {}: {e}", path.display());
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_watchword"))
                .arg("--config")
                .arg(&path)
                .arg("check")
                .output();
            let elapsed = start.elapsed();
            match status {
                Ok(out) if out.status.success() => elapsed,
                Ok(out) => panic!("check failed: {}", String::from_utf8_lossy(&out.stderr)),
                Err(e) => panic!("cannot run watchword: {e}"),
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    times[times.len() / 2]
}

const CONFIG: &str = r#"
[daemon]
database = "DB"

[[feed]]
name = "wire"
url = "file:///dev/null"

[[rule]]
name = "accords"
query = 'QUERY AND "Abraham Accords"'
notify = ["out"]

[[sink]]
name = "out"
kind = "stdout"
"#;

fn report() {
    let start = Instant::now();
    let loaded = Gazetteer::load();
    let load = start.elapsed();
    let g = match loaded {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    println!(
        "gazetteer: {} countries, {} regions, {} blocs; parsed in {:.1} ms",
        g.countries.len(),
        g.regions.len(),
        g.blocs.len(),
        load.as_secs_f64() * 1e3
    );
    for reference in [
        "country:KZ",
        "region:central-asia",
        "bloc:abraham-accords",
        "region:africa[all]",
    ] {
        let start = Instant::now();
        let expanded = expand(reference);
        let took = start.elapsed();
        match expanded {
            Ok(e) => println!(
                "@{reference}: {} countries, {} forms, expanded in {:.2} ms",
                e.members.len(),
                e.forms.len(),
                took.as_secs_f64() * 1e3
            ),
            Err(e) => panic!("{e}"),
        }
    }
    // The first compile of a reference in a process builds its terms; later ones (other
    // rules, reloads) reuse them. Criterion below measures the later ones.
    for query in [
        r#"@region:central-asia AND "Abraham Accords""#,
        r#"@region:africa AND election"#,
    ] {
        let start = Instant::now();
        black_box(compile(query));
        println!(
            "first compile of `{query}`: {:.2} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let plain = startup(&CONFIG.replace("QUERY", "Kazakhstan"), 21);
    let region = startup(&CONFIG.replace("QUERY", "@region:central-asia"), 21);
    let world = startup(
        &CONFIG.replace(
            "QUERY",
            "(@region:africa[all] OR @region:americas[all] OR @region:asia[all] OR \
             @region:europe[all] OR @region:oceania[all])",
        ),
        11,
    );
    println!(
        "start-up (`watchword check`, median wall): no place {:.1} ms; @region:central-asia \
         {:.1} ms; every region, all kinds {:.1} ms",
        plain.as_secs_f64() * 1e3,
        region.as_secs_f64() * 1e3,
        world.as_secs_f64() * 1e3
    );
}

fn bench(c: &mut Criterion) {
    report();
    let mut group = c.benchmark_group("places");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("parse data", |b| b.iter(|| black_box(Gazetteer::load())));
    for query in [
        r#"@region:central-asia AND "Abraham Accords""#,
        r#"@bloc:abraham-accords AND treaty"#,
        r#"@region:africa AND election"#,
        r#"@region:asia[all] AND election"#,
    ] {
        group.bench_function(format!("compile {query}"), |b| {
            b.iter(|| compile(black_box(query)))
        });
    }
    let set = compile(r#"@region:central-asia AND "Abraham Accords""#);
    let titles = [
        "Kazakhstan will sign the Abraham Accords next week",
        "Президент Казахстана подтвердил присоединение к Abraham Accords",
        "Azerbaijan and Israel discuss the Abraham Accords",
        "Wheat prices rise on drought fears",
    ];
    let items: Vec<Item> = (0..200)
        .map(|i| item(i, titles[i % titles.len()]))
        .collect();
    let matched = items.iter().filter(|i| !set.matches(i).is_empty()).count();
    println!("region rule: {matched} of {} items match", items.len());
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("match region rule", |b| {
        b.iter(|| {
            for item in &items {
                black_box(set.matches(black_box(item)));
            }
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
