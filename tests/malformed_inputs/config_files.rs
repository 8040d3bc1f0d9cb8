//! Files named on the command line or found by convention: tag files, registries.conf, the Docker config.

use crate::{case, check, closed_port, named};

#[test]
fn tag_files() {
    let tags_file = |name: &str, content: &[u8], code: i32, names: &str| {
        named(
            &format!("tags file: {name}"),
            case("", &["resolve", "nginx", "--tags-file", "{dir}/tags.txt"])
                .file("tags.txt", content.to_vec())
                .code(code)
                .names(names),
        )
    };
    let stdin = |name: &str, content: &[u8], code: i32, names: &str| {
        named(
            &format!("tags on stdin: {name}"),
            case("", &["resolve", "nginx", "--tags-file", "-"])
                .stdin(content.to_vec())
                .code(code)
                .names(names),
        )
    };
    let cases = vec![
        named("tags file: missing", case("", &["resolve", "nginx", "--tags-file", "{dir}/none.txt"]).names("none.txt")),
        named("tags file: a directory", case("", &["resolve", "nginx", "--tags-file", "{dir}"]).names("--tags-file")),
        tags_file("not UTF-8", b"1.0.0\n\xff\xfe\n", 2, "tags.txt"),
        tags_file("bad creation time", b"1.0.0 yesterday\n", 2, "yesterday"),
        tags_file("bad digest", b"1.0.0 - sha256:zz\n", 2, "sha256:zz"),
        tags_file("too many fields", b"1.0.0 - sha256:0000000000000000000000000000000000000000000000000000000000000000 extra\n", 2, "extra"),
        tags_file("tag with a slash", b"../../x\n", 2, "../../x"),
        tags_file("tag with a colon", b"zzz:1\n", 2, "zzz:1"),
        tags_file("tag with a control character", b"1.0.\x01\n", 2, r"1.0.\u{1}"),
        tags_file("tag with a bidi override", "1.0.0\u{202e}\n".as_bytes(), 2, r"\u{202e}"),
        tags_file("tag too long", format!("{}\n", "a".repeat(129)).as_bytes(), 2, "aaaa"),
        tags_file("NUL", b"1.0.0\x00\n", 2, r"\0"),
        tags_file("empty", b"", 1, "nginx"),
        tags_file("only blank lines", b"\n\n  \n", 1, "nginx"),
        tags_file("no version", b"latest\nstable\n", 1, "nginx"),
        stdin("not UTF-8", b"\xff\n", 2, "stdin"),
        stdin("bad creation time", b"1.0.0 2024-13-01T00:00:00Z\n", 2, "2024-13-01"),
        stdin("empty", b"", 1, "nginx"),
    ];
    check(cases);
}

#[test]
fn registries_conf() {
    let port = closed_port();
    let image = format!("127.0.0.1:{port}/app");
    let conf = |name: &str, text: &[u8], names: &str| {
        named(
            &format!("registries.conf: {name}"),
            case(
                "",
                &["tags", &image, "--registries-conf", "{dir}/registries.conf"],
            )
            .file("registries.conf", text.to_vec())
            .names(names),
        )
    };
    let cases = vec![
        conf("not YAML", b"registries: [", "registries.conf"),
        conf("a list at the top", b"- name: x\n", "registries.conf"),
        conf("unknown top-level key", b"registry:\n- name: x\n", "registry"),
        conf("unknown entry key", b"registries:\n- name: x\n  prefix: a.test\n  prefx: b\n", "prefx"),
        conf("entry without name", b"registries:\n- prefix: a.test\n", "entry 1"),
        conf("empty entry", b"registries:\n- {}\n", "entry 1"),
        conf("entry without prefix or api_url", b"registries:\n- name: corp\n", "corp"),
        conf("prefix without a registry host", b"registries:\n- name: team\n  prefix: team/apps\n", "entry 1 ('team')"),
        conf("api_url not a URL", b"registries:\n- name: x\n  api_url: not a url\n  prefix: a.test\n", "not a url"),
        conf("api_url ftp", b"registries:\n- name: x\n  api_url: ftp://a.test\n  prefix: a.test\n", "ftp://a.test"),
        conf("api_url with a password", b"registries:\n- name: x\n  api_url: https://u:p@a.test\n  prefix: a.test\n", "api_url must not carry"),
        conf("api_url with a query", b"registries:\n- name: x\n  api_url: https://a.test/?q=1\n  prefix: a.test\n", "https://a.test/?q=1"),
        conf("ping not a boolean", b"registries:\n- name: x\n  prefix: a.test\n  ping: often\n", "often"),
        conf("insecure not a boolean", b"registries:\n- name: x\n  prefix: a.test\n  insecure: 2\n", "insecure"),
        conf("credsexpire words", b"registries:\n- name: x\n  prefix: a.test\n  credsexpire: 5 hours\n", "5 hours"),
        conf("credsexpire number", b"registries:\n- name: x\n  prefix: a.test\n  credsexpire: 5\n", "credsexpire"),
        conf("tagsortmode unknown", b"registries:\n- name: x\n  prefix: a.test\n  tagsortmode: random\n", "random"),
        conf("pagesize zero", b"registries:\n- name: x\n  prefix: a.test\n  pagesize: 0\n", "pagesize"),
        conf("pagesize negative", b"registries:\n- name: x\n  prefix: a.test\n  pagesize: -1\n", "registries.conf"),
        conf("limit not a number", b"registries:\n- name: x\n  prefix: a.test\n  limit: fast\n", "registries.conf"),
        conf("two defaults", b"registries:\n- name: a\n  prefix: a.test\n  default: true\n- name: b\n  prefix: b.test\n  default: true\n", "default"),
        conf("duplicate prefix", b"registries:\n- name: a\n  prefix: a.test\n- name: b\n  prefix: a.test\n", "a.test"),
        conf("two without prefix", b"registries:\n- name: a\n  api_url: https://registry-1.docker.io\n- name: b\n  api_url: https://registry-1.docker.io\n", "'b'"),
        conf("default prefix not a host", b"registries:\n- name: a\n  prefix: org\n  default: true\n", "'org'"),
        conf("prefix not a host", b"registries:\n- name: a\n  prefix: a b/c\n", "a b"),
        conf("not UTF-8", b"registries:\n- name: \xff\n", "registries.conf"),
        conf("control character in a name", b"registries:\n- name: \"a\\u202e\"\n", r"a\u{202e}"),
        conf("deeply nested", format!("registries: {}{}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes(), "registries.conf"),
        named(
            "registries.conf: missing file",
            case("", &["tags", &image, "--registries-conf", "{dir}/none.conf"]).names("none.conf"),
        ),
        named(
            "registries.conf: a directory",
            case("", &["tags", &image, "--registries-conf", "{dir}"]).names("registries.conf"),
        ),
        named(
            "registries.conf variable: missing file",
            case("", &["tags", &image]).env("IMAGE_RESOLVER_REGISTRIES_CONF", "{dir}/none.conf").names("none.conf"),
        ),
    ];
    check(cases);
}

#[test]
fn docker_config() {
    let port = closed_port();
    let image = format!("127.0.0.1:{port}/app");
    let host = format!("127.0.0.1:{port}");
    let config = |name: &str, text: String, names: &str| {
        named(
            &format!("docker config: {name}"),
            case("", &["tags", &image, "--docker-config", "{dir}/docker"])
                .file("docker/config.json", text)
                .names(names),
        )
    };
    let cases = vec![
        config("not JSON", "{".to_string(), "config.json"),
        config("an array", "[]".to_string(), "config.json"),
        config("an array of objects", "[{}, {}]".to_string(), "config.json"),
        config(
            "auths a list",
            r#"{"auths": []}"#.to_string(),
            "config.json",
        ),
        config(
            "auth not base64",
            format!(r#"{{"auths": {{"{host}": {{"auth": "%%%"}}}}}}"#),
            "config.json",
        ),
        config(
            "auth without a colon",
            format!(r#"{{"auths": {{"{host}": {{"auth": "dXNlcg=="}}}}}}"#),
            "config.json",
        ),
        config(
            "auth a number",
            format!(r#"{{"auths": {{"{host}": {{"auth": 1}}}}}}"#),
            "config.json",
        ),
        config(
            "credential helper name with a slash",
            format!(r#"{{"credHelpers": {{"{host}": "../evil"}}}}"#),
            "../evil",
        ),
        config(
            "credential store name with a slash",
            r#"{"credsStore": "a/b"}"#.to_string(),
            "a/b",
        ),
        config(
            "credential helper not found",
            format!(r#"{{"credHelpers": {{"{host}": "nothere"}}}}"#),
            "nothere",
        ),
        config(
            "control characters in an auth",
            format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"\\u202e\\u0001\"}}}}}}"),
            "config.json",
        ),
    ];
    check(cases);
}
