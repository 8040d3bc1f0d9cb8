//! Detecting the kind of application, and rendering plain manifest directories.

mod support_render;

use std::path::Path;
use std::time::Instant;

use argocd_image_resolver::render::{AppKind, RenderOptions, SourceFile, detect, render};
use support_render::{generous_deadline, system_env, write_files};

#[test]
fn detects_the_kind_of_application() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], AppKind); 8] = [
        (
            "kustomization.yaml",
            &["kustomization.yaml"],
            AppKind::Kustomize,
        ),
        (
            "kustomization.yml",
            &["kustomization.yml"],
            AppKind::Kustomize,
        ),
        ("Kustomization", &["Kustomization"], AppKind::Kustomize),
        ("Chart.yaml", &["Chart.yaml", "values.yaml"], AppKind::Helm),
        (
            "kustomization wins over a chart",
            &["Chart.yaml", "kustomization.yaml"],
            AppKind::Kustomize,
        ),
        ("manifests only", &["deployment.yaml"], AppKind::Plain),
        (
            "chart below the directory does not count",
            &["sub/Chart.yaml"],
            AppKind::Plain,
        ),
        (
            "wrong case",
            &["chart.yaml", "KUSTOMIZATION.yaml"],
            AppKind::Plain,
        ),
    ];
    for (name, files, want) in cases {
        let dir = tmp.path().join(name.replace(' ', "-"));
        let files: Vec<(&str, &str)> = files.iter().map(|f| (*f, "{}\n")).collect();
        write_files(&dir, &files);
        assert_eq!(detect(&dir), want, "case {name}");
    }
}

fn options(recursive: bool) -> RenderOptions {
    let mut opts = RenderOptions {
        env: system_env(),
        ..RenderOptions::default()
    };
    opts.plain.recursive = recursive;
    opts
}

#[tokio::test]
async fn joins_manifest_files_in_path_order() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            ("b.yaml", "kind: B\n"),
            ("a.yml", "kind: A # no newline at the end"),
            ("c.json", "{\"kind\": \"C\"}\n"),
            ("multi.yaml", "---\nkind: M1\n---\nkind: M2\n"),
            ("README.md", "# not a manifest\n"),
            ("notes.txt", "kind: nope\n"),
            ("empty.yaml", ""),
            ("blank.yaml", "\n  \n"),
            (".hidden.yaml", "kind: Hidden\n"),
            (".git/config.yaml", "kind: Git\n"),
            ("sub/d.yaml", "kind: D\n"),
            ("sub/.cache/e.yaml", "kind: E\n"),
            ("sub/deeper/f.json", "{\"kind\": \"F\"}"),
            ("sub.yaml", "kind: SubFile\n"),
            ("unicode.yaml", "kind: Ü # é\n"),
            // Regression (issue 12): the lock file is no manifest, and went into the stream as a document.
            ("image-resolver.lock.yaml", "version: 1\nimages: {}\n"),
            ("sub/image-resolver.lock.yaml", "version: 1\nimages: {}\n"),
        ],
    );
    let top = "kind: A # no newline at the end\n---\nkind: B\n---\n{\"kind\": \"C\"}\n---\n---\nkind: M1\n---\nkind: M2\n";
    let cases = [
        (
            "flat",
            false,
            format!("{top}---\nkind: SubFile\n---\nkind: Ü # é\n"),
        ),
        // Depth-first by name: `sub/` sorts before `sub.yaml`, as in Argo CD's directory walk.
        (
            "recursive",
            true,
            format!(
                "{top}---\nkind: D\n---\n{{\"kind\": \"F\"}}\n---\nkind: SubFile\n---\nkind: Ü # é\n"
            ),
        ),
    ];
    for (name, recursive, want) in cases {
        let rendered = render(&app, &options(recursive), generous_deadline())
            .await
            .unwrap();
        assert_eq!(rendered.kind, AppKind::Plain, "case {name}");
        assert_eq!(rendered.command, None, "case {name}");
        assert_eq!(rendered.output, want, "case {name}");
    }
}

/// Each file's stretch of the joined stream, so that `explain` can say which file and line an image is on.
#[tokio::test]
async fn says_where_each_file_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            ("a.yaml", "kind: A # no newline at the end"),
            ("b.yaml", "---\nkind: B\nspec:\n  image: b:1\n"),
            ("sub/c.yaml", "kind: C\n"),
        ],
    );
    let rendered = render(&app, &options(true), generous_deadline())
        .await
        .unwrap();
    let starts: Vec<(&str, usize)> = rendered
        .sources
        .iter()
        .map(|s| (s.path.as_str(), s.first_line))
        .collect();
    assert_eq!(starts, [("a.yaml", 1), ("b.yaml", 3), ("sub/c.yaml", 8)]);
    assert!(rendered.sources.iter().all(|s| s.verbatim));

    let image_line = rendered
        .output
        .lines()
        .position(|l| l.contains("b:1"))
        .unwrap()
        + 1;
    let (file, line) = SourceFile::locate(&rendered.sources, image_line).unwrap();
    assert_eq!(
        (file.path.as_str(), line),
        ("b.yaml", Some(4)),
        "the image's own line in b.yaml"
    );
}

/// Regression (issue 9, item 6): lines were counted by `\n` alone, so after a CR-only file every later file started
/// too early (YAML, and so the scanner's line numbers, count a lone `\r` as a line break).
#[tokio::test]
async fn counts_every_line_break_style() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(
        &app,
        &[
            ("a.yaml", "kind: A\rspec: {}\r"),
            ("b.yaml", "kind: B\r\nx: 1\r\n"),
            ("c.yaml", "kind: C\n"),
        ],
    );
    let rendered = render(&app, &options(false), generous_deadline())
        .await
        .unwrap();
    let starts: Vec<(&str, usize)> = rendered
        .sources
        .iter()
        .map(|s| (s.path.as_str(), s.first_line))
        .collect();
    assert_eq!(starts, [("a.yaml", 1), ("b.yaml", 4), ("c.yaml", 7)]);
}

#[tokio::test]
async fn plain_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_files(
        root,
        &[
            ("secret.yaml", "password: hunter2\n"),
            ("empty/notes.txt", "x\n"),
            ("only-nested/sub/a.yaml", "kind: A\n"),
            ("only-blank/a.yaml", "\n"),
            ("only-hidden/.git/a.yaml", "kind: A\n"),
            ("escape/a.yaml", "kind: A\n"),
            ("dangling/a.yaml", "kind: A\n"),
            ("latin1/a.yaml", "kind: A\n"),
        ],
    );
    std::os::unix::fs::symlink(root.join("secret.yaml"), root.join("escape/z.yaml")).unwrap();
    std::os::unix::fs::symlink(
        root.join("dangling/nowhere.yaml"),
        root.join("dangling/z.yaml"),
    )
    .unwrap();
    std::fs::write(root.join("latin1/b.yaml"), b"kind: \xdc\n").unwrap();
    let d = |p: &str| root.join(p).display().to_string();

    let no_files = |dir: &str| {
        format!(
            "no manifests found in {}: no non-empty *.yaml, *.yml or *.json file in it (subdirectories are not searched)",
            d(dir)
        )
    };
    let none_below = |dir: &str| {
        format!(
            "no manifests found in {}: no non-empty *.yaml, *.yml or *.json file in it or below it",
            d(dir)
        )
    };
    let cases: [(&str, &str, bool, Result<&str, String>); 7] = [
        ("no manifest files", "empty", false, Err(no_files("empty"))),
        (
            "manifests only below, not recursive",
            "only-nested",
            false,
            Err(no_files("only-nested")),
        ),
        (
            "blank files only",
            "only-blank",
            true,
            Err(none_below("only-blank")),
        ),
        (
            "hidden directory only",
            "only-hidden",
            true,
            Err(none_below("only-hidden")),
        ),
        (
            "symlink out of the directory",
            "escape",
            false,
            Err(format!(
                "symlink z.yaml points outside {}: an application may only use files of its own repository; \
                 replace the link with a copy of what it points to",
                d("escape")
            )),
        ),
        (
            "dangling symlink skipped",
            "dangling",
            false,
            Ok("kind: A\n"),
        ),
        (
            "not UTF-8",
            "latin1",
            false,
            Err(format!("{} is not UTF-8 text", d("latin1/b.yaml"))),
        ),
    ];
    for (name, dir, recursive, want) in cases {
        let got = render(&root.join(dir), &options(recursive), generous_deadline())
            .await
            .map(|r| r.output)
            .map_err(|e| e.to_string());
        assert_eq!(got, want.map(str::to_owned), "case {name}");
    }
}

#[tokio::test]
async fn symlinks_inside_the_repository_are_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    write_files(
        repo,
        &[
            ("shared/common.yaml", "kind: Common\n"),
            ("app/a.yaml", "kind: A\n"),
        ],
    );
    std::os::unix::fs::symlink(
        repo.join("shared/common.yaml"),
        repo.join("app/common.yaml"),
    )
    .unwrap();
    // A symlinked directory is not descended into (no loops, no duplicates).
    std::os::unix::fs::symlink(repo.join("shared"), repo.join("app/linked-dir")).unwrap();
    let app = repo.join("app");

    let mut opts = options(true);
    let err = render(&app, &opts, generous_deadline()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "symlink common.yaml points outside {}: an application may only use files of its own repository; \
             replace the link with a copy of what it points to",
            app.display()
        )
    );
    opts.repo_root = Some(repo.to_path_buf());
    let rendered = render(&app, &opts, generous_deadline()).await.unwrap();
    assert_eq!(rendered.output, "kind: A\n---\nkind: Common\n");
}

#[tokio::test]
async fn plain_reading_respects_the_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(tmp.path(), &[("a.yaml", "kind: A\n")]);
    let err = render(Path::new(tmp.path()), &options(false), Instant::now())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "checking the symlinks in {} did not finish within the deadline",
            tmp.path().display()
        )
    );
}

/// Issue 9, item 8: a byte order mark starts a file, not the joined stream: every file's is dropped, and a file
/// holding nothing else is empty. Line numbers stay those of the files.
#[tokio::test]
async fn byte_order_marks_are_dropped_from_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    let bom = "\u{feff}";
    type Case<'a> = (&'a str, &'a [(&'a str, String)], &'a str);
    let cases: [Case; 4] = [
        (
            "first file only",
            &[
                ("a.yaml", format!("{bom}kind: A\n")),
                ("b.yaml", "kind: B\n".into()),
            ],
            "kind: A\n---\nkind: B\n",
        ),
        (
            "later file",
            &[
                ("a.yaml", "kind: A\n".into()),
                ("b.yaml", format!("{bom}kind: B\n")),
            ],
            "kind: A\n---\nkind: B\n",
        ),
        (
            "every file, one only a mark",
            &[
                ("a.yaml", format!("{bom}kind: A\n")),
                ("b.yaml", format!("{bom}\n")),
                ("c.json", format!("{bom}{{\"kind\": \"C\"}}")),
            ],
            "kind: A\n---\n{\"kind\": \"C\"}",
        ),
        (
            "a mark inside a file is the file's text",
            &[("a.yaml", format!("kind: A\n---\n{bom}kind: B\n"))],
            "kind: A\n---\n\u{feff}kind: B\n",
        ),
    ];
    for (name, files, want) in cases {
        let _ = std::fs::remove_dir_all(&app);
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        write_files(&app, &files);
        let rendered = render(&app, &options(false), generous_deadline())
            .await
            .unwrap();
        assert_eq!(rendered.output, want, "case {name}");
        let starts: Vec<usize> = rendered.sources.iter().map(|s| s.first_line).collect();
        assert_eq!(starts[0], 1, "case {name}");
    }
}

/// Issue 9, item 10: the files of a plain directory are added up from their metadata before any is read, and
/// refused past the limit (64Mi unless the operator says otherwise).
#[tokio::test]
async fn plain_manifests_past_the_size_limit_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    write_files(&app, &[("a.yaml", "kind: A\n")]);
    // Sparse: 65 MiB long, nothing on disk.
    let big = std::fs::File::create(app.join("b.yaml")).unwrap();
    big.set_len(65 << 20).unwrap();
    let err = render(&app, &options(false), generous_deadline())
        .await
        .map(|r| r.output.len())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the manifests in {} add up to {} bytes, more than the limit of 64Mi: raise --max-manifest-size \
             (IMAGE_RESOLVER_MAX_MANIFEST_SIZE) if the application really is that large",
            app.display(),
            (65 << 20) + 8
        )
    );
}
