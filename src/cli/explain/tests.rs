use super::text::truncated;
use super::*;
use crate::generate::AppContext;
use crate::pipeline::trace::tracked_images_in;

fn tracked_images(annotations: &[(&str, &str)]) -> Vec<TrackedImage> {
    tracked_images_in(annotations, &ImageDefaults::default())
}

#[test]
fn list_entry_finds_the_image_by_alias_or_repository() {
    let images = tracked_images(&[(
        "image-list",
        "web=ghcr.io/o/web:~1, nginx:1.x, api=ghcr.io/o/api",
    )]);
    let entries: Vec<Option<String>> = images
        .iter()
        .map(|t| {
            list_entry(
                "web=ghcr.io/o/web:~1, nginx:1.x, api=ghcr.io/o/api",
                t,
                &ImageDefaults::default(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            Some("web=ghcr.io/o/web:~1".to_string()),
            Some("nginx:1.x".to_string()),
            Some("api=ghcr.io/o/api".to_string())
        ]
    );
    assert_eq!(
        list_entry(
            "other=ghcr.io/o/other",
            &images[0],
            &ImageDefaults::default()
        ),
        None,
        "no entry for web"
    );
}

#[test]
fn list_entries_are_read_with_the_registries_defaults() {
    let list = "ghcr.io/x/other:^2, app:^1";
    let corp = ImageDefaults::new("corp.test");
    let images = tracked_images_in(&[("image-list", list)], &corp);
    assert_eq!(images[1].image.name(), "corp.test/app");
    assert_eq!(
        list_entry(list, &images[1], &corp).as_deref(),
        Some("app:^1")
    );
}

#[test]
fn origins_carry_values_from_each_source() {
    let rendered = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/o/web:~1, worker=ghcr.io/o/worker
    argocd-image-updater.argoproj.io/web.ignore-tags: '*-debug'
spec:
  template:
    spec:
      containers:
      - name: web
        image: ghcr.io/o/web:1.0.0
";
    let context = AppContext {
        parameters: crate::policy::source::parse_parameters(
            r#"[{"name": "web.pin", "string": "1.1.0"}]"#,
        )
        .unwrap(),
        plugin_env: vec![("ARGOCD_ENV_WEB_ALLOW_TAGS".into(), "regexp:^1".into())],
        ..AppContext::default()
    };
    let plan = generate::plan(rendered, &context).unwrap();
    let app_wide = context.app_wide_settings().unwrap();
    let tracked = plan.images[0].tracked.as_ref().unwrap();
    let got: Vec<(String, Option<String>, String)> = origins(
        &plan.scan.objects[0],
        &app_wide,
        tracked,
        &ImageDefaults::default(),
    )
    .into_iter()
    .map(|o| (o.key, o.value, o.text))
    .collect();
    let want = [
        (
            "image-list",
            "web=ghcr.io/o/web:~1",
            "annotation on Deployment/web",
        ),
        (
            "web.allow-tags",
            "regexp:^1",
            "env ARGOCD_ENV_WEB_ALLOW_TAGS",
        ),
        ("web.ignore-tags", "*-debug", "annotation on Deployment/web"),
        ("web.pin", "1.1.0", "parameter web.pin"),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let want: Vec<(String, Option<String>, String)> = want
        .iter()
        .map(|(k, v, t)| ((*k).to_string(), Some((*v).to_string()), (*t).to_string()))
        .collect();
    assert_eq!(got_sorted, want, "origins as listed: {got:?}");
}

#[test]
fn long_lists_are_truncated_in_text() {
    let names = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
    for (name, count, want) in [
        ("short", 2, "t0 · t1"),
        (
            "at the limit",
            10,
            "t0 · t1 · t2 · t3 · t4 · t5 · t6 · t7 · t8 · t9",
        ),
        (
            "over",
            13,
            "t0 · t1 · t2 · t3 · t4 · t5 · t6 · t7 · t8 · t9 … and 3 more",
        ),
    ] {
        assert_eq!(truncated(&names(count)), want, "{name}");
    }
}
