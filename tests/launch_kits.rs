//! The launch kits (cluster/local.sh, Slurm, Kubernetes) are valid and run
//! reach as the cluster mode expects.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use reach::job::Format;

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn launch_scripts_are_valid_bash() {
    for script in [
        "cluster/local.sh",
        "cluster/slurm/reach.sbatch",
        "benches/scaling.sh",
    ] {
        let check = Command::new("bash")
            .arg("-n")
            .arg(repo(script))
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "bash -n {script}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let sbatch = std::fs::read_to_string(repo("cluster/slurm/reach.sbatch")).unwrap();
    for needed in [
        "--process \"$SLURM_PROCID\"",
        "scontrol show hostnames \"$SLURM_JOB_NODELIST\"",
        "--kill-on-bad-exit=1",
        "exit \"$status\"",
    ] {
        assert!(sbatch.contains(needed), "reach.sbatch lacks {needed}");
    }
}

#[test]
fn the_kubernetes_manifest_parses_and_its_parts_agree() {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = std::fs::read_to_string(repo("cluster/k8s/reach.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let kind = |k: &str| -> &Yaml {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some(k))
            .unwrap_or_else(|| panic!("no {k} in the manifest"))
    };
    let (service, job, hosts, policy) = (
        kind("Service"),
        kind("Job"),
        kind("ConfigMap"),
        kind("NetworkPolicy"),
    );
    let service_name = service["metadata"]["name"].as_str().unwrap();
    let job_name = job["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        service["spec"]["clusterIP"].as_str(),
        Some("None"),
        "headless"
    );
    let port = service["spec"]["ports"][0]["port"].as_i64().unwrap();
    assert_eq!(
        policy["spec"]["ingress"][0]["ports"][0]["port"].as_i64(),
        Some(port)
    );
    let job_label = Yaml::String("batch.kubernetes.io/job-name".to_string());
    assert_eq!(
        service["spec"]["selector"].as_hash().unwrap()[&job_label].as_str(),
        Some(job_name)
    );

    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let processes = spec["completions"].as_i64().unwrap();
    assert_eq!(spec["parallelism"].as_i64(), Some(processes));
    assert_eq!(spec["backoffLimit"].as_i64(), Some(0));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["subdomain"].as_str(), Some(service_name));
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().expect("string args"))
        .collect();
    let after = |flag: &str| -> &str {
        let at = args
            .iter()
            .position(|a| *a == flag)
            .unwrap_or_else(|| panic!("no {flag}"));
        args[at + 1]
    };
    assert_eq!(after("--processes"), processes.to_string());
    assert_eq!(after("--process"), "$(PROCESS)");
    let env = container["env"].as_vec().unwrap();
    let process_env = env
        .iter()
        .find(|e| e["name"].as_str() == Some("PROCESS"))
        .expect("a PROCESS variable");
    assert_eq!(
        process_env["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
    );

    // The hostfile is mounted where --hostfile points, and reach accepts it.
    let hostfile = after("--hostfile");
    let (dir, file) = hostfile.rsplit_once('/').unwrap();
    let mount = container["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"].as_str() == Some(dir))
        .expect("the hostfile's directory is mounted");
    let volume = pod["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert_eq!(
        volume["configMap"]["name"].as_str(),
        hosts["metadata"]["name"].as_str()
    );
    let hosts_text = hosts["data"][file].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file), hosts_text).unwrap();
    let parsed = reach::cluster::read_hostfile(&dir.path().join(file), processes as usize).unwrap();
    let expected: Vec<String> = (0..processes)
        .map(|i| format!("{job_name}-{i}.{service_name}:{port}"))
        .collect();
    let listed: Vec<String> = parsed.peers.iter().map(|p| p.address.clone()).collect();
    assert_eq!(listed, expected, "pod DNS names in process order");
    assert_eq!(
        hosts_text
            .lines()
            .filter(|l| !l.trim().starts_with('#'))
            .count(),
        processes as usize,
        "exactly one line per process"
    );
}

/// A port `p` such that `p` and `p + 1` are both free now.
fn two_consecutive_ports() -> u16 {
    for _ in 0..100 {
        let port = free_ports(1)[0];
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free ports");
}

#[test]
fn local_sh_exits_with_the_failure_of_a_process() {
    let dir = tempfile::tempdir().unwrap();
    let local = |friendships: &Path| {
        Command::new("bash")
            .arg(repo("cluster/local.sh"))
            .args(["2", "--quiet", "--friendships"])
            .arg(friendships)
            .arg("--output")
            .arg(dir.path().join("out"))
            .env("REACH", env!("CARGO_BIN_EXE_reach"))
            .env("BASE_PORT", two_consecutive_ports().to_string())
            .output()
            .unwrap()
    };
    let ok = local(&shared_data("snap-ego-facebook/facebook_combined.txt"));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(dir.path().join("out/_SUCCESS").exists());
    let failed = local(&dir.path().join("missing.csv"));
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
}

/// Stand-ins for Slurm's `scontrol` and `srun`, enough to run reach.sbatch on
/// this machine: two "nodes" 127.0.0.1 and 127.0.0.2 (both loopback), one
/// task each with SLURM_PROCID, SLURM_NTASKS and SLURMD_NODENAME set as srun
/// sets them; srun exits with the first failing task's code.
fn fake_slurm(dir: &Path) {
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&path, executable).unwrap();
    };
    write(
        "scontrol",
        "#!/usr/bin/env bash\n\
         [[ \"$1 $2\" == 'show hostnames' ]] || exit 1\n\
         printf '127.0.0.1\\n127.0.0.2\\n'\n",
    );
    write(
        "srun",
        r#"#!/usr/bin/env bash
ntasks=
while [[ "$1" == --* ]]; do
    case "$1" in --ntasks=*) ntasks=${1#--ntasks=} ;; esac
    shift
done
mapfile -t nodes < <(scontrol show hostnames x)
pids=()
for ((i = 0; i < ntasks; i++)); do
    SLURM_PROCID=$i SLURM_NTASKS=$ntasks SLURMD_NODENAME=${nodes[$i]} "$@" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    code=0; wait "$pid" || code=$?
    if [[ $code -ne 0 && $status -eq 0 ]]; then status=$code; kill "${pids[@]}" 2>/dev/null || true; fi
done
exit $status
"#,
    );
}

#[test]
fn the_slurm_script_runs_with_stand_in_srun() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    fake_slurm(&bin);
    let input = shared_data("snap-ego-facebook/facebook_combined.txt");
    let single = dir.path().join("single");
    run(&input, &single, 1, &[], Format::Csv).unwrap();
    let sbatch = |friendships: &Path, out: &Path| {
        Command::new("bash")
            .arg(repo("cluster/slurm/reach.sbatch"))
            .arg("--friendships")
            .arg(friendships)
            .arg("--output")
            .arg(out)
            .arg("--quiet")
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("REACH", env!("CARGO_BIN_EXE_reach"))
            .env("REACH_PORT", free_ports(1)[0].to_string())
            .env("SLURM_JOB_ID", "4242")
            .env("SLURM_JOB_NODELIST", "node[1-2]")
            .env("SLURM_SUBMIT_DIR", dir.path())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap()
    };
    let out = dir.path().join("out");
    let ok = sbatch(&input, &out);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert_eq!(ok.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("reach: 2 processes x 1 workers"),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), snapshot(&single));
    assert!(
        !dir.path().join("reach-hosts-4242.txt").exists(),
        "the hostfile is removed"
    );
    let failed = sbatch(&dir.path().join("missing.csv"), &dir.path().join("out2"));
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
}
