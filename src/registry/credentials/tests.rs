use std::sync::{Arc, Mutex};

use super::provider::{CredentialProvider, ProviderFuture};
use super::*;

type Log = Arc<Mutex<Vec<String>>>;

/// A provider for fixed hosts that records what it was asked; `answer` is its user name, or `None`.
struct FakeProvider {
    name: &'static str,
    hosts: &'static [&'static str],
    answer: Option<&'static str>,
    log: Log,
}

impl CredentialProvider for FakeProvider {
    fn applies_to(&self, registry: &str) -> bool {
        self.hosts.contains(&registry)
    }

    fn credential<'a>(&'a self, registry: &'a str, _clock: &'a dyn Clock) -> ProviderFuture<'a> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} get {registry}", self.name));
        Box::pin(async move {
            Ok(self.answer.map(|user| ResolvedCredential {
                credential: Credential::Basic {
                    username: user.to_string(),
                    password: Secret::new("pw"),
                },
                source: source("fake", self.name),
                expires_at: None,
            }))
        })
    }

    fn invalidate(&self, registry: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{} invalidate {registry}", self.name));
    }
}

/// `first` serves a.io and shared.io but has nothing; `second` serves shared.io and b.io.
fn store_with_fakes(log: &Log) -> CredentialStore {
    let fake = |name, hosts, answer| -> Box<dyn CredentialProvider> {
        Box::new(FakeProvider {
            name,
            hosts,
            answer,
            log: log.clone(),
        })
    };
    CredentialStore::with_providers(
        CredentialOptions::default(),
        vec![
            fake("first", &["a.io", "shared.io"], None),
            fake("second", &["shared.io", "b.io"], Some("robot")),
        ],
    )
}

#[tokio::test]
async fn providers_are_asked_in_order_for_their_registries_only() {
    let cases: [(&str, &str, Option<&str>, &[&str]); 4] = [
        ("first has none", "a.io", None, &["first get a.io"]),
        (
            "second answers after first",
            "shared.io",
            Some("second"),
            &["first get shared.io", "second get shared.io"],
        ),
        (
            "only second applies",
            "b.io",
            Some("second"),
            &["second get b.io"],
        ),
        ("none applies", "other.io", None, &[]),
    ];
    for (name, registry, want, asked) in cases {
        let log = Log::default();
        let got = store_with_fakes(&log)
            .credential_for(registry, None)
            .await
            .unwrap();
        assert_eq!(
            got.map(|g| g.source.name),
            want.map(str::to_string),
            "{name}"
        );
        assert_eq!(*log.lock().unwrap(), asked, "{name}");
    }
}

#[tokio::test]
async fn invalidate_reaches_the_providers_of_the_registry_only() {
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "both apply",
            "shared.io",
            &["first invalidate shared.io", "second invalidate shared.io"],
        ),
        ("one applies", "b.io", &["second invalidate b.io"]),
        ("none applies", "other.io", &[]),
    ];
    for (name, registry, want) in cases {
        let log = Log::default();
        store_with_fakes(&log).invalidate(registry);
        assert_eq!(*log.lock().unwrap(), want, "{name}");
    }
}

#[test]
fn gcp_is_the_first_provider_when_a_metadata_host_is_set() {
    let cases = [
        ("no metadata host", None, 0),
        ("metadata host", Some("127.0.0.1:1"), 1),
    ];
    for (name, host, want) in cases {
        let providers = provider::providers(&CredentialOptions {
            gcp_metadata_host: host.map(str::to_string),
            ..CredentialOptions::default()
        });
        assert_eq!(providers.len(), want, "{name}");
        assert_eq!(
            providers.first().map(|p| p.applies_to("gcr.io")),
            host.map(|_| true),
            "{name}"
        );
    }
}

#[test]
fn resolved_credentials_hide_their_secret() {
    let cases = [
        (
            "basic",
            Credential::Basic {
                username: "robot".into(),
                password: Secret::new("hunter2"),
            },
        ),
        (
            "identity token",
            Credential::IdentityToken(Secret::new("hunter2")),
        ),
    ];
    for (name, credential) in cases {
        let resolved = ResolvedCredential {
            credential,
            source: source("env", "CREDS"),
            expires_at: None,
        };
        assert!(!format!("{resolved:?}").contains("hunter2"), "{name}");
    }
}
