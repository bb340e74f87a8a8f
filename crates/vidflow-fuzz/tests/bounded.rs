//! A short fixed run of every target: the corpus, then a fixed number of mutations from a
//! fixed seed, so the suite does the same work on every machine and every run.

use vidflow_fuzz::{Budget, Campaign, all_targets, target};

/// The seed of the suite's runs (any fixed number; changed only to explore).
const SEED: u64 = 16;

fn bounded(name: &str) {
    let t = target(name).unwrap_or_else(|| panic!("no target {name}"));
    let outcome = Campaign::new(t, SEED, Budget::Inputs(t.test_inputs))
        .run(t)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!(
        "{name}: {} inputs ({} from the corpus) in {:.2} s, slowest {:.0} ms",
        outcome.inputs,
        outcome.corpus,
        outcome.elapsed.as_secs_f64(),
        outcome.slowest.as_secs_f64() * 1e3
    );
    assert_eq!(outcome.inputs, t.test_inputs);
    let report: Vec<String> = outcome
        .crashes
        .iter()
        .map(|c| format!("{} (saved as {:?})", c.message, c.saved))
        .collect();
    assert!(report.is_empty(), "{name} crashed:\n{}", report.join("\n"));
}

#[test]
fn extract() {
    bounded("extract");
}

#[test]
fn config() {
    bounded("config");
}

#[test]
fn api_json() {
    bounded("api_json");
}

#[test]
fn script() {
    bounded("script");
}

#[test]
fn avatar() {
    bounded("avatar");
}

#[test]
fn cache() {
    bounded("cache");
}

#[test]
fn every_target_has_a_test_and_a_corpus() {
    let tested = ["extract", "config", "api_json", "script", "avatar", "cache"];
    for t in all_targets() {
        assert!(tested.contains(&t.name), "{} has no bounded test", t.name);
        let corpus = vidflow_fuzz::campaign::load_corpus(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("corpus")
                .join(t.name),
        )
        .unwrap();
        assert!(!corpus.is_empty());
    }
}
