//! The config file parser and `VIDFLOW_*` overrides, layered and validated as every command
//! loads them.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use vidflow_core::config::Config;

use crate::Target;

pub(super) const TARGET: Target = Target {
    name: "config",
    about: "vidflow_core::config::Config::figment + from_figment on a vidflow.toml and VIDFLOW_* variables",
    run,
    tokens: &[
        b"[video]\n",
        b"[video.x264]\n",
        b"[server]\n",
        b"[cache]\n",
        b"[queue]\n",
        b"[[a]]\n",
        b"threads = ",
        b"fps = ",
        b"max_seconds = ",
        b"crf = ",
        b"api_keys = [\"",
        b"addr = \"",
        b"redis_url = \"redis://",
        b"\"\"\"",
        b"'''",
        b"\\u00e9",
        b"\\U0010ffff",
        b"a.b.c = 1\n",
        b"{ a = 1, b = [2] }",
        b"1979-05-27T07:32:00Z",
        b"inf",
        b"nan",
        b"0x7f",
        b"1_000",
        b"\n%%ENV\n",
        b"SERVER__API_KEYS=[\"k\"]\n",
        b"VIDEO__FPS=60\n",
        b"CACHE__DIR=/tmp\n",
        b"THREADS={a=[1]}\n",
        b"# comment\n",
        b"\"quoted key\" = 1\n",
    ],
    nest: &[b"[", b"{a=", b"a.", b"__X", b"[[", b"{ \"k\" = ["],
    max_len: 1 << 20,
    test_inputs: 1000,
};

/// Where the env part of an input starts; before it is the file, after it `KEY=VALUE`
/// lines that become `VIDFLOW_KEY`.
const ENV_MARK: &str = "\n%%ENV\n";

/// The process environment is global: inputs that set it run one at a time.
static ENV_LOCK: Mutex<()> = Mutex::new(());

fn scratch_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("vidflow-fuzz-config")
            .tempdir()
            .expect("a temporary folder for config files");
        dir.keep()
    })
}

fn run(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let (file, env) = text.split_once(ENV_MARK).unwrap_or((&text, ""));
    let vars: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.split_once('='))
        // What a real environment cannot hold, `set_var` refuses with a panic.
        .filter(|(k, v)| !k.is_empty() && !k.contains(['=', '\0']) && !v.contains('\0'))
        .map(|(k, v)| (format!("VIDFLOW_{k}"), v.to_owned()))
        .collect();
    let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = scratch_dir().join(format!("{:?}.toml", std::thread::current().id()));
    std::fs::write(&path, file.as_bytes()).expect("the config file is written");
    for (k, v) in &vars {
        // SAFETY: ENV_LOCK serialises every change to the environment this crate makes, and
        // no other thread of the fuzzer reads it.
        unsafe { std::env::set_var(k, v) };
    }
    let loaded = Config::figment(Some(&path)).and_then(|fig| Config::from_figment(&fig));
    for (k, _) in &vars {
        // SAFETY: as above.
        unsafe { std::env::remove_var(k) };
    }
    if let Ok(config) = loaded {
        config
            .validate()
            .unwrap_or_else(|e| panic!("a loaded config fails validation: {e}"));
        // `vidflow config show` prints this; it must read back as a config.
        let shown = config.to_masked_toml();
        toml::from_str::<Config>(&shown)
            .unwrap_or_else(|e| panic!("the printed config does not parse back: {e}\n{shown}"));
    }
}
