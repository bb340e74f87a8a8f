//! The deployment files checked against the real binary: deploy/compose.yaml,
//! deploy/k8s/*.yaml, deploy/Dockerfile, the image's deploy/vidflow.toml and its health
//! script deploy/healthcheck.
//!
//! Every command line in them must parse (`vidflow ARGS --help` exits 0 and `SUB --help`
//! lists each flag), every `VIDFLOW_*` variable and config key must be one the binary reads
//! (`vidflow --config FILE config show` accepts them, unknown keys are errors there), ports
//! must agree with the binary's defaults and with each other, and every probe path must be a
//! route the real `vidflow serve` / `vidflow worker` answers 200 on.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_yaml_ng::Value;
use vidflow_redis_test::TestRedis;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(rel: &str) -> PathBuf {
    repo().join("deploy").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every document of a YAML file, with `<<` merge keys applied.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            let mut v = <Value as serde::Deserialize>::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            v.apply_merge()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            v
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn compose() -> Value {
    let mut docs = yaml_docs(&deploy("compose.yaml"));
    assert_eq!(docs.len(), 1, "compose.yaml is one document");
    docs.remove(0)
}

/// Every Kubernetes object in deploy/k8s (not the kustomization), with its file.
fn k8s_objects() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            yaml_docs(f).into_iter().map(move |d| (name.clone(), d))
        })
        .collect()
}

fn object<'a>(objects: &'a [(String, Value)], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} named {name} in deploy/k8s"))
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, found {v:?}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("expected a list, found {v:?}"))
        .iter()
        .map(|x| s(x).to_owned())
        .collect()
}

/// The vidflow containers of a Deployment.
fn vidflow_containers(deployment: &Value) -> Vec<&Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|c| s(&c["image"]).starts_with("vidflow"))
        .collect()
}

/// Every vidflow command line in the deployment files, with where it comes from (the image's
/// entry point is the binary, so they start at the subcommand).
fn command_lines() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let c = compose();
    for (name, svc) in c["services"].as_mapping().unwrap() {
        if s(&svc["image"]).starts_with("vidflow") {
            out.push((
                format!("compose.yaml {}", s(name)),
                strings(&svc["command"]),
            ));
        }
    }
    for (file, o) in k8s_objects() {
        if o["kind"] == "Deployment" {
            for c in vidflow_containers(&o) {
                out.push((format!("k8s/{file} {}", s(&c["name"])), strings(&c["args"])));
            }
        }
    }
    assert!(out.len() >= 5, "found only {out:?}");
    out
}

/// `vidflow SUB --help` (or the top level for an empty `sub`).
fn help(sub: &str) -> String {
    let mut c = vidflow();
    if !sub.is_empty() {
        c.arg(sub);
    }
    let out = c.arg("--help").output().unwrap();
    assert!(
        out.status.success(),
        "vidflow {sub} --help: {}",
        stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whether `args` is a command line the binary takes: it parses (`vidflow ARGS --help`
/// exits 0: clap stops at the first unknown flag or bad value before it reaches --help) and
/// every `--flag` is in the subcommand's help.
fn check_args(args: &[String]) -> Result<(), String> {
    let sub = args.first().ok_or("no subcommand")?;
    let out = vidflow().args(args).arg("--help").output().unwrap();
    if !out.status.success() {
        return Err(format!(
            "vidflow {} does not parse: {}",
            args.join(" "),
            stderr(&out)
        ));
    }
    let help = help(sub);
    let listed: BTreeSet<&str> = help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
        .filter(|t| t.starts_with("--"))
        .collect();
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        let flag = flag.split('=').next().unwrap();
        if !listed.contains(flag) {
            return Err(format!("`vidflow {sub} --help` has no {flag}"));
        }
    }
    Ok(())
}

#[test]
fn every_command_line_is_one_the_binary_takes() {
    for (place, args) in command_lines() {
        check_args(&args).unwrap_or_else(|e| panic!("{place}: {e}"));
    }
}

#[test]
fn the_argument_check_rejects_what_the_binary_does_not_take() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(check_args(&args(&["serve", "--addr", "0.0.0.0:8080"])).is_ok());
    assert!(check_args(&args(&["serve", "--listen", "0.0.0.0:8080"])).is_err());
    assert!(check_args(&args(&["worker", "--concurrency", "many"])).is_err());
    assert!(check_args(&args(&["wrker", "--redis", "redis://r:6379/0"])).is_err());
    assert!(
        check_env(&[("VIDFLOW_QUEUE__CONCURENCY".into(), "1".into())], None).is_err(),
        "a misspelt config key"
    );
    assert!(check_env(&[("VIDFLOW_LOGFORMAT".into(), "json".into())], None).is_err());
    assert!(check_env(&[("VIDFLOW_QUEUE__CONCURRENCY".into(), "1".into())], None).is_ok());
}

/// `vidflow [--config FILE] config show` with `env`: its lines as key → (value, source).
fn config_show(
    env: &[(String, String)],
    config: Option<&Path>,
) -> Result<BTreeMap<String, (String, String)>, String> {
    let mut c = vidflow();
    // Only the files and variables given here: no config file found by the default search.
    c.env_remove("XDG_CONFIG_HOME");
    if let Some(f) = config {
        c.arg("--config").arg(f);
    }
    let out = c
        .args(["config", "show"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!("config show: {}", stderr(&out)));
    }
    Ok(String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, rest) = l.split_once(" = ")?;
            let (value, from) = rest.split_once("    # ")?;
            Some((key.to_owned(), (value.to_owned(), from.to_owned())))
        })
        .collect())
}

/// The binary's default value of a config key.
fn default_of(key: &str) -> String {
    let shown = config_show(&[], None).unwrap();
    let (value, _) = &shown[key];
    value.trim_matches('"').to_owned()
}

/// Whether every variable in `env` is one the binary (or the image's health script) reads,
/// and the binary accepts them all together.
fn check_env(env: &[(String, String)], config: Option<&Path>) -> Result<(), String> {
    let top = help("");
    let health_script = read(&deploy("healthcheck"));
    let mut config_vars = Vec::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("VIDFLOW_") else {
            continue;
        };
        if top.contains(&format!("[env: {name}=")) || health_script.contains(name.as_str()) {
            continue;
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        config_vars.push((name.clone(), value.clone(), key));
    }
    let known = config_show(&[], None)?;
    for (name, _, key) in &config_vars {
        if !known.contains_key(key) {
            return Err(format!(
                "{name}: no config key {key} in `vidflow config show`"
            ));
        }
    }
    let shown = config_show(env, config)?;
    for (name, value, key) in &config_vars {
        let (shown_value, from) = &shown[key];
        if shown_value.trim_matches('"') != value || !from.contains("VIDFLOW_") {
            return Err(format!(
                "{name}={value}: config show has {key} = {shown_value} from {from}"
            ));
        }
    }
    Ok(())
}

/// Environment of a compose service, or of a Kubernetes container (plain values only).
fn env_of(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| (s(k).to_owned(), s(v).to_owned()))
            .collect(),
        Value::Sequence(list) => list
            .iter()
            .filter(|e| e["value"].is_string())
            .map(|e| (s(&e["name"]).to_owned(), s(&e["value"]).to_owned()))
            .collect(),
        Value::Null => Vec::new(),
        other => panic!("environment is {other:?}"),
    }
}

#[test]
fn every_variable_and_config_key_is_one_the_binary_reads() {
    let c = compose();
    for (name, svc) in c["services"].as_mapping().unwrap() {
        if s(&svc["image"]).starts_with("vidflow") {
            check_env(&env_of(&svc["environment"]), Some(&deploy("vidflow.toml")))
                .unwrap_or_else(|e| panic!("compose.yaml {}: {e}", s(name)));
        }
    }
    let objects = k8s_objects();
    let dir = tempfile::tempdir().unwrap();
    let configmap = dir.path().join("vidflow.toml");
    std::fs::write(&configmap, configmap_toml(&objects)).unwrap();
    for (file, o) in &objects {
        if o["kind"] == "Deployment" {
            for c in vidflow_containers(o) {
                check_env(&env_of(&c["env"]), Some(&configmap))
                    .unwrap_or_else(|e| panic!("k8s/{file}: {e}"));
            }
        }
    }
}

fn configmap_toml(objects: &[(String, Value)]) -> String {
    s(&object(objects, "ConfigMap", "vidflow-config")["data"]["vidflow.toml"]).to_owned()
}

/// The dotted keys of a TOML document's leaves.
fn toml_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => toml_keys(t, &key, out),
            _ => out.push(key),
        }
    }
}

#[test]
fn the_config_files_are_ones_the_binary_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let configmap = dir.path().join("configmap.toml");
    std::fs::write(&configmap, configmap_toml(&k8s_objects())).unwrap();
    for file in [deploy("vidflow.toml"), configmap] {
        let shown =
            config_show(&[], Some(&file)).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let table: toml::Table = read(&file).parse().unwrap();
        let mut keys = Vec::new();
        toml_keys(&table, "", &mut keys);
        assert!(!keys.is_empty());
        for key in keys {
            let (_, from) = shown
                .get(&key)
                .unwrap_or_else(|| panic!("{}: {key} is not a config key", file.display()));
            assert!(
                from.contains("TOML"),
                "{}: {key} comes from {from}",
                file.display()
            );
        }
    }
    // The image finds its config file by itself: $XDG_CONFIG_HOME/vidflow/vidflow.toml.
    let dockerfile = read(&deploy("Dockerfile"));
    assert!(dockerfile.contains("COPY deploy/vidflow.toml /etc/vidflow/vidflow.toml"));
    assert!(dockerfile.contains("XDG_CONFIG_HOME=/etc"));
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(xdg.path().join("vidflow")).unwrap();
    std::fs::copy(
        deploy("vidflow.toml"),
        xdg.path().join("vidflow/vidflow.toml"),
    )
    .unwrap();
    let out = vidflow()
        .args(["config", "show"])
        .env("XDG_CONFIG_HOME", xdg.path())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("server.addr = \"0.0.0.0:8080\"") && l.contains("TOML")),
        "the binary did not find the image's config through XDG_CONFIG_HOME:\n{text}"
    );
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr}"))
}

/// The value after `flag` in `args`.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .map(|i| args[i + 1].as_str())
}

#[test]
fn ports_agree_with_the_binary_and_each_other() {
    let http = port_of(&default_of("server.addr"));
    let metrics = port_of(&default_of("queue.worker_metrics_addr"));
    assert_eq!((http, metrics), (8080, 9464));

    // The image: its config, EXPOSE and health script.
    let image_cfg: toml::Table = read(&deploy("vidflow.toml")).parse().unwrap();
    assert_eq!(
        image_cfg["server"]["addr"].as_str(),
        Some(format!("0.0.0.0:{http}").as_str())
    );
    assert_eq!(
        image_cfg["queue"]["worker_metrics_addr"].as_str(),
        Some(format!("0.0.0.0:{metrics}").as_str())
    );
    let dockerfile = read(&deploy("Dockerfile"));
    assert!(dockerfile.contains(&format!("EXPOSE {http} {metrics}")));
    assert!(
        read(&deploy("healthcheck"))
            .contains(&format!("${{VIDFLOW_HEALTH_PORTS:-{http} {metrics}}}"))
    );

    // Compose: flags, published ports (loopback only), health script ports.
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    for (name, svc) in services {
        let name = s(name);
        for p in svc["ports"].as_sequence().into_iter().flatten() {
            assert!(
                s(p).starts_with("127.0.0.1:"),
                "compose.yaml {name}: port {p:?} is not published on 127.0.0.1 only"
            );
        }
        if !s(&svc["image"]).starts_with("vidflow") {
            continue;
        }
        let args = strings(&svc["command"]);
        let container_ports: Vec<u16> = svc["ports"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| s(p).rsplit(':').next().unwrap().parse().unwrap())
            .collect();
        let port = match args[0].as_str() {
            "serve" => port_of(flag_value(&args, "--addr").unwrap()),
            "worker" => port_of(flag_value(&args, "--metrics-addr").unwrap()),
            other => panic!("compose.yaml {name}: runs {other}"),
        };
        assert_eq!(
            port,
            if args[0] == "serve" { http } else { metrics },
            "{name}"
        );
        assert_eq!(
            container_ports,
            vec![port],
            "compose.yaml {name}: published ports"
        );
        if let Some(health_ports) = env_of(&svc["environment"])
            .iter()
            .find(|(k, _)| k == "VIDFLOW_HEALTH_PORTS")
        {
            assert_eq!(health_ports.1, port.to_string(), "compose.yaml {name}");
        }
    }

    // Kubernetes: container ports, named probe ports, Service, scrape annotations.
    let objects = k8s_objects();
    let cm: toml::Table = configmap_toml(&objects).parse().unwrap();
    assert_eq!(port_of(cm["server"]["addr"].as_str().unwrap()), http);
    assert_eq!(
        port_of(cm["queue"]["worker_metrics_addr"].as_str().unwrap()),
        metrics
    );
    for (name, sub, flag, want) in [
        ("vidflow-server", "serve", "--addr", http),
        ("vidflow-worker", "worker", "--metrics-addr", metrics),
    ] {
        let d = object(&objects, "Deployment", name);
        let c = vidflow_containers(d)[0];
        let args = strings(&c["args"]);
        assert_eq!(args[0], sub);
        assert_eq!(
            port_of(flag_value(&args, flag).unwrap()),
            want,
            "{name} {flag}"
        );
        let ports = c["ports"].as_sequence().unwrap();
        assert_eq!(ports.len(), 1, "{name}");
        assert_eq!(ports[0]["containerPort"].as_u64(), Some(u64::from(want)));
        let port_name = s(&ports[0]["name"]);
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if !c[probe].is_null() {
                assert_eq!(s(&c[probe]["httpGet"]["port"]), port_name, "{name} {probe}");
            }
        }
        let ann = &d["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(s(&ann["prometheus.io/port"]), want.to_string(), "{name}");
    }
    let svc = object(&objects, "Service", "vidflow-server");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(
        svc["spec"]["ports"][0]["port"].as_u64(),
        Some(u64::from(http))
    );

    // Prometheus's scrape targets (deploy/prometheus/, when it is there) are compose's.
    let prom = deploy("prometheus/prometheus.yml");
    if prom.exists() {
        let cfg = &yaml_docs(&prom)[0];
        let mut targets = BTreeSet::new();
        for job in cfg["scrape_configs"].as_sequence().unwrap() {
            for sc in job["static_configs"].as_sequence().into_iter().flatten() {
                targets.extend(strings(&sc["targets"]));
            }
        }
        let want: BTreeSet<String> = [
            format!("server:{http}"),
            format!("worker-1:{metrics}"),
            format!("worker-2:{metrics}"),
        ]
        .into();
        assert!(
            targets.is_superset(&want),
            "prometheus.yml targets {targets:?}"
        );
    }
}

#[test]
fn one_image_name_everywhere() {
    let c = compose();
    let mut names = BTreeSet::new();
    for (name, svc) in c["services"].as_mapping().unwrap() {
        let image = s(&svc["image"]);
        if image.starts_with("vidflow") {
            names.insert(image.to_owned());
            assert_eq!(
                s(&svc["build"]["dockerfile"]),
                "deploy/Dockerfile",
                "{name:?}"
            );
            let context = deploy(s(&svc["build"]["context"]));
            assert!(
                context.join("deploy/Dockerfile").is_file(),
                "{name:?}: build context"
            );
        }
    }
    assert_eq!(names.len(), 1, "compose.yaml names {names:?}");
    let compose_image = names.pop_first().unwrap();
    assert_eq!(
        ["server", "worker-1", "worker-2"]
            .iter()
            .filter(|n| s(&c["services"][**n]["image"]) == compose_image)
            .count(),
        3
    );

    let kust = &yaml_docs(&deploy("k8s/kustomization.yaml"))[0];
    let objects = k8s_objects();
    let mut k8s_images = BTreeSet::new();
    for (_, o) in &objects {
        if o["kind"] == "Deployment" {
            for c in vidflow_containers(o) {
                k8s_images.insert(s(&c["image"]).to_owned());
            }
        }
    }
    assert_eq!(k8s_images.len(), 1, "{k8s_images:?}");
    let base = k8s_images.pop_first().unwrap();
    let entry = kust["images"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|i| i["name"] == base.as_str())
        .expect("kustomization.yaml sets the vidflow image");
    let effective = format!(
        "{}:{}",
        entry["newName"].as_str().unwrap_or(&base),
        s(&entry["newTag"])
    );
    assert_eq!(effective, compose_image);
    // What scripts/container-test builds and what the docs tell operators to build.
    assert!(
        read(&repo().join("scripts/container-test")).contains(&format!("-t {compose_image} ."))
    );
    assert!(read(&deploy("DEPLOY.md")).contains(&format!("-t {compose_image} .")));
}

#[test]
fn kubernetes_objects_are_wired_together() {
    let objects = k8s_objects();
    // The kustomization lists exactly the files there.
    let kust = &yaml_docs(&deploy("k8s/kustomization.yaml"))[0];
    let listed: BTreeSet<String> = strings(&kust["resources"]).into_iter().collect();
    let files: BTreeSet<String> = objects.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(listed, files, "kustomization.yaml resources");

    let secret = object(&objects, "Secret", "vidflow-redis");
    let secret_keys: BTreeSet<&str> = secret["stringData"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(s)
        .collect();
    let dockerfile = read(&deploy("Dockerfile"));
    let user: u64 = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .and_then(|u| u.split(':').next())
        .and_then(|u| u.parse().ok())
        .expect("the Dockerfile has a numeric USER");
    let cm = configmap_toml(&objects);
    let cm: toml::Table = cm.parse().unwrap();
    let mut redis_hosts = BTreeSet::new();
    for name in ["vidflow-server", "vidflow-worker"] {
        let d = object(&objects, "Deployment", name);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(
            d["spec"]["selector"]["matchLabels"], d["spec"]["template"]["metadata"]["labels"],
            "{name}"
        );
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"].as_bool(),
            Some(true),
            "{name}"
        );
        assert_eq!(
            pod["securityContext"]["runAsUser"].as_u64(),
            Some(user),
            "{name}"
        );
        let c = vidflow_containers(d)[0];
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true), "{name}");
        assert_eq!(
            sc["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{name}"
        );
        assert!(!c["resources"]["requests"].is_null(), "{name}: resources");
        assert!(
            !c["livenessProbe"].is_null() && !c["readinessProbe"].is_null(),
            "{name}"
        );

        // Secrets it reads exist; every $(VAR) in its args is set.
        let env = c["env"].as_sequence().unwrap();
        let mut defined = BTreeSet::new();
        for e in env {
            defined.insert(s(&e["name"]));
            let r = &e["valueFrom"]["secretKeyRef"];
            if !r.is_null() {
                assert_eq!(s(&r["name"]), "vidflow-redis", "{name}");
                assert!(
                    secret_keys.contains(s(&r["key"])),
                    "{name}: secret key {:?}",
                    r["key"]
                );
            }
        }
        let args = strings(&c["args"]);
        for a in &args {
            for var in a.split("$(").skip(1) {
                let var = var.split(')').next().unwrap();
                assert!(defined.contains(var), "{name}: $({var}) is not in env");
            }
        }
        let url = flag_value(&args, "--redis").expect("--redis");
        let host_port = url
            .rsplit('@')
            .next()
            .unwrap()
            .trim_start_matches("redis://");
        redis_hosts.insert(host_port.split('/').next().unwrap().to_owned());

        // The read-only root: every folder it writes is a volume, the config is the ConfigMap.
        let mounts: BTreeMap<&str, &str> = c["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| (s(&m["mountPath"]), s(&m["name"])))
            .collect();
        let mut writable = vec!["/tmp", cm["cache"]["dir"].as_str().unwrap()];
        if args[0] == "serve" {
            writable.push(flag_value(&args, "--data-dir").unwrap());
        }
        let volumes = pod["volumes"].as_sequence().unwrap();
        for dir in writable {
            let vol = mounts
                .get(dir)
                .unwrap_or_else(|| panic!("{name}: {dir} is not a volume (read-only root)"));
            assert!(
                volumes
                    .iter()
                    .any(|v| v["name"] == *vol && !v["emptyDir"].is_null()),
                "{name}: {dir}"
            );
        }
        let config_vol = mounts
            .get("/etc/vidflow")
            .expect("config mounted at /etc/vidflow");
        assert!(
            volumes
                .iter()
                .any(|v| v["name"] == *config_vol && v["configMap"]["name"] == "vidflow-config")
        );
    }
    assert_eq!(
        redis_hosts.len(),
        1,
        "server and workers share one Redis: {redis_hosts:?}"
    );
    let redis = redis_hosts.pop_first().unwrap();
    let (redis_host, redis_port) = redis.split_once(':').unwrap();

    // KEDA scales the worker Deployment on the stream and group the workers really use.
    let so = object(&objects, "ScaledObject", "vidflow-worker");
    assert_eq!(s(&so["spec"]["scaleTargetRef"]["name"]), "vidflow-worker");
    let trigger = &so["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "redis-streams");
    let meta = &trigger["metadata"];
    let stream = vidflow_dist::QueueKeys::new(default_of("queue.prefix")).tasks();
    assert_eq!(s(&meta["stream"]), stream);
    assert_eq!(s(&meta["consumerGroup"]), vidflow_dist::GROUP);
    let address = s(&meta["address"]);
    assert!(
        address == redis
            || (address.starts_with(&format!("{redis_host}."))
                && address.ends_with(&format!(".svc.cluster.local:{redis_port}"))),
        "KEDA reads {address}, the workers {redis}"
    );
    let auth = object(
        &objects,
        "TriggerAuthentication",
        s(&trigger["authenticationRef"]["name"]),
    );
    for r in auth["spec"]["secretTargetRef"].as_sequence().unwrap() {
        assert_eq!(s(&r["name"]), "vidflow-redis");
        assert!(secret_keys.contains(s(&r["key"])));
    }
    // The Redis it ships answers at that name.
    let redis_svc = object(&objects, "Service", redis_host);
    assert_eq!(
        redis_svc["spec"]["ports"][0]["port"].as_u64(),
        redis_port.parse().ok()
    );
}

#[test]
fn compose_services_are_wired_together() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    let mut redis_urls = BTreeSet::new();
    for (name, svc) in services {
        let name = s(name);
        for (dep, cond) in svc["depends_on"].as_mapping().into_iter().flatten() {
            let dep_svc = &c["services"][s(dep)];
            assert!(!dep_svc.is_null(), "{name} depends on unknown {dep:?}");
            if cond["condition"] == "service_healthy" {
                assert!(
                    !dep_svc["healthcheck"].is_null(),
                    "{name}: {dep:?} has no healthcheck"
                );
            }
        }
        if s(&svc["image"]).starts_with("vidflow") {
            let args = strings(&svc["command"]);
            redis_urls.insert(flag_value(&args, "--redis").unwrap().to_owned());
            assert_eq!(
                strings(&svc["healthcheck"]["test"]),
                ["CMD", "/usr/local/bin/vidflow-healthcheck"],
                "{name}"
            );
        }
        // Mounted files exist (deploy/prometheus and deploy/grafana when they are there).
        for v in svc["volumes"].as_sequence().into_iter().flatten() {
            let src = s(v).split(':').next().unwrap();
            if let Some(rel) = src.strip_prefix("./") {
                let top = rel.split('/').next().unwrap();
                if deploy(top).exists() {
                    assert!(deploy(rel).exists(), "{name}: mounts missing {src}");
                }
            }
        }
    }
    assert_eq!(
        redis_urls.len(),
        1,
        "one queue for server and workers: {redis_urls:?}"
    );
    let url = redis_urls.pop_first().unwrap();
    let host = url
        .trim_start_matches("redis://")
        .split(':')
        .next()
        .unwrap();
    assert!(!c["services"][host].is_null(), "{url}: no service {host}");
    assert!(
        read(&deploy("Dockerfile"))
            .contains("deploy/healthcheck /usr/local/bin/vidflow-healthcheck")
    );
}

/// GET `path` on 127.0.0.1:`port`: the status.
fn get_status(port: u16, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// deploy/healthcheck against `ports`: whether it passed.
fn health_script(ports: &str) -> bool {
    Command::new("bash")
        .arg(deploy("healthcheck"))
        .env("VIDFLOW_HEALTH_PORTS", ports)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Every probe path of a Deployment's vidflow container.
fn probe_paths(objects: &[(String, Value)], deployment: &str) -> BTreeSet<String> {
    let c = vidflow_containers(object(objects, "Deployment", deployment))[0];
    ["livenessProbe", "readinessProbe", "startupProbe"]
        .iter()
        .filter(|p| !c[**p].is_null())
        .map(|p| s(&c[*p]["httpGet"]["path"]).to_owned())
        .collect()
}

#[test]
fn probes_and_the_health_script_hit_routes_the_binary_serves() {
    let objects = k8s_objects();
    let server_paths = probe_paths(&objects, "vidflow-server");
    let worker_paths = probe_paths(&objects, "vidflow-worker");
    assert!(server_paths.contains("/health/ready"), "{server_paths:?}");
    assert!(worker_paths.contains("/health/ready"), "{worker_paths:?}");
    assert!(read(&deploy("healthcheck")).contains("GET /health/live HTTP/1.0"));
    assert!(read(&deploy("Dockerfile")).contains("HEALTHCHECK"));

    let data = tempfile::tempdir().unwrap();
    let server = Service::start(data.path());
    for path in &server_paths {
        assert_eq!(get_status(server.port, path), 200, "serve {path}");
    }
    assert_eq!(get_status(server.port, "/health/nonexistent"), 404);

    let redis = TestRedis::start().expect("a redis-server for the worker");
    let cache = tempfile::tempdir().unwrap();
    let mut worker = vidflow()
        .args([
            "worker",
            "--redis",
            redis.url(),
            "--metrics-addr",
            "127.0.0.1:0",
            "--cache-dir",
        ])
        .arg(cache.path())
        .env(
            "VIDFLOW_QUEUE__PREFIX",
            vidflow_redis_test::unique_prefix("manifests"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let metrics_port = read_port(&mut worker, "metrics on http://127.0.0.1:");
    let mut results = Vec::new();
    for path in worker_paths
        .iter()
        .chain(std::iter::once(&"/metrics".to_owned()))
    {
        results.push((path.clone(), get_status(metrics_port, path)));
    }
    // The image's health check, against the real processes and against nothing.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let health = (
        health_script(&server.port.to_string()),
        health_script(&metrics_port.to_string()),
        health_script(&format!("{closed_port} {metrics_port}")),
        health_script(&closed_port.to_string()),
    );
    let _ = worker.kill();
    let _ = worker.wait();
    for (path, status) in results {
        assert_eq!(status, 200, "worker {path}");
    }
    assert_eq!(health, (true, true, true, false), "deploy/healthcheck");
}
