use super::text::truncated;
use super::*;
use crate::generate::AppContext;

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
    let tracked = plan.images[0].tracked.as_ref().unwrap();
    let got: Vec<(String, Option<String>, String)> = origins(tracked)
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
