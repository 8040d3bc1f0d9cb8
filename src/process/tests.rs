use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use super::*;

#[test]
fn trims_stderr_to_its_end() {
    let many_lines: String = (1..=25).map(|i| format!("line {i}\n")).collect();
    let want_lines: String = (6..=25)
        .map(|i| format!("line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let long_line = format!("{}é{}", "a".repeat(10), "b".repeat(STDERR_MAX_BYTES - 1));
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("empty", Vec::new(), String::new()),
        ("blank lines only", b"\n \n".to_vec(), String::new()),
        (
            "short, trimmed",
            b"\nError: bad chart\n\n".to_vec(),
            "Error: bad chart".to_owned(),
        ),
        (
            "exactly 20 lines",
            (1..=20)
                .map(|i| format!("{i}\n"))
                .collect::<String>()
                .into_bytes(),
            (1..=20)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "last 20 of 25 lines",
            many_lines.into_bytes(),
            format!("…{want_lines}"),
        ),
        // The cut would land inside `é` (2 bytes): it moves forward to the next character.
        (
            "byte limit on a char boundary",
            long_line.clone().into_bytes(),
            format!("…{}", "b".repeat(STDERR_MAX_BYTES - 1)),
        ),
        (
            "invalid UTF-8 replaced",
            b"bad \xff byte".to_vec(),
            "bad \u{fffd} byte".to_owned(),
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(trim_stderr(&input), want, "case {name}");
    }
}

#[test]
fn displays_commands_as_typed() {
    let cases: [(&str, &str, &[&str], &str); 5] = [
        (
            "plain words",
            "helm",
            &["template", "app", ".", "-n", "ns"],
            "helm template app . -n ns",
        ),
        (
            "set value",
            "helm",
            &["--set", "image.tag=1.2,a=b"],
            "helm --set image.tag=1.2,a=b",
        ),
        (
            "space quoted",
            "kustomize",
            &["build", "my app"],
            "kustomize build 'my app'",
        ),
        (
            "quote escaped",
            "helm",
            &["--set", "a=it's"],
            r"helm --set 'a=it'\''s'",
        ),
        ("empty argument", "helm", &[""], "helm ''"),
    ];
    for (name, tool, args, want) in cases {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        assert_eq!(display_command(tool, &args), want, "case {name}");
    }
}

#[test]
fn allows_only_listed_variables() {
    let env: Env = [
        ("PATH", "/usr/bin"),
        ("HOME", "/home/argocd"),
        ("HELM_CACHE_HOME", "/tmp/c"),
        ("HELMFILE", "x"),
        ("REGISTRY_PASSWORD", "hunter2"),
        ("PATHOLOGICAL", "y"),
    ]
    .into_iter()
    .collect();
    let cases: [(&str, &[&str], &[&str]); 4] = [
        ("nothing allowed", &[], &[]),
        ("exact names only", &["PATH", "HOME"], &["HOME", "PATH"]),
        (
            "prefix pattern",
            &["PATH", "HELM_*"],
            &["HELM_CACHE_HOME", "PATH"],
        ),
        ("absent name ignored", &["KUBECONFIG"], &[]),
    ];
    for (name, allow, want) in cases {
        let got = env.allowed(allow);
        let names: Vec<&str> = got.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, want, "case {name}");
    }
}

#[test]
fn env_debug_hides_values() {
    let env: Env = [("REGISTRY_PASSWORD", "hunter2")].into_iter().collect();
    assert_eq!(format!("{env:?}"), r#"{"REGISTRY_PASSWORD"}"#);
}

#[test]
fn describes_exit_statuses() {
    let cases = [
        ("exit code", ExitStatus::from_raw(1 << 8), "exit status 1"),
        ("signal", ExitStatus::from_raw(9), "killed by signal 9"),
    ];
    for (name, status, want) in cases {
        assert_eq!(describe_status(status), want, "case {name}");
    }
}
