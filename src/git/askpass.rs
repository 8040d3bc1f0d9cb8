//! This binary as git's `GIT_ASKPASS` program: how an HTTP password reaches git without entering an argument
//! vector, an environment, a URL or a config file.
//!
//! Git runs `$GIT_ASKPASS '<What> for '\''<url>'\'': '` (no shell) when a server asks for credentials, and reads
//! the answer's first line from its stdout. The wrapper sets `GIT_ASKPASS` to this binary and three variables:
//! the origin the credentials belong to, the user name and the *path* of the password file. In that mode
//! ([`serve_if_asked`], called first thing by `main`) the binary answers a prompt only when it names that origin —
//! a redirect to another host, port or scheme gets nothing — and reads the password from its file just then.
//!
//! Chosen over a credential helper (`credential.helper` is a shell command line, run through `sh`) and over
//! `http.extraHeader` (the header would sit in git's environment or argv, and go to any host git is redirected to).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::credentials::{SecretLine, read_secret_file};
use super::remote::prompt_origin;

/// Set (to the origin, `scheme://host:port`) when git runs this binary as its askpass program.
pub const ORIGIN_VAR: &str = "IMAGE_RESOLVER_GIT_ASKPASS_ORIGIN";
/// The user name to answer (not a secret).
pub const USERNAME_VAR: &str = "IMAGE_RESOLVER_GIT_ASKPASS_USERNAME";
/// The path of the file holding the password or token.
pub const PASSWORD_FILE_VAR: &str = "IMAGE_RESOLVER_GIT_ASKPASS_PASSWORD_FILE";

/// What a prompt asks for.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Username,
    Password,
}

/// Reads git's prompt: what it asks for, for which origin. Refuses a prompt naming another origin than
/// `origin`, or one it cannot read (an SSH passphrase prompt, a prompt naming no URL).
fn read_prompt(prompt: &str, origin: &str) -> Result<Asked, String> {
    let (what, rest) = prompt
        .split_once(" for '")
        .ok_or_else(|| format!("not a credential prompt git writes: {prompt:?}"))?;
    let asked = match what {
        "Username" => Asked::Username,
        "Password" => Asked::Password,
        _ => return Err(format!("not a credential prompt git writes: {prompt:?}")),
    };
    let description = rest
        .strip_suffix("': ")
        .ok_or_else(|| format!("not a credential prompt git writes: {prompt:?}"))?;
    match prompt_origin(description) {
        Some(asking) if asking == origin => Ok(asked),
        Some(asking) => Err(format!(
            "refusing to send the credentials of {origin} to {asking} (the server redirected there)"
        )),
        None => Err(format!("the prompt names no http(s) origin: {prompt:?}")),
    }
}

/// When this process was started by git as the askpass program (see the module's doc): answers the prompt in
/// the first argument on stdout and returns the exit code; otherwise `None`, and `main` goes on as usual.
pub fn serve_if_asked() -> Option<ExitCode> {
    let origin = std::env::var(ORIGIN_VAR).ok()?;
    let prompt = std::env::args_os().nth(1).unwrap_or_default();
    let username = std::env::var_os(USERNAME_VAR).unwrap_or_default();
    let password_file = std::env::var_os(PASSWORD_FILE_VAR).unwrap_or_default();
    let answer = answer(&prompt, &origin, &username, Path::new(&password_file));
    Some(match answer {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            match out
                .write_all(line.0.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Err(reason) => {
            // Git shows this in its own error; it names origins and files, never a secret.
            let _ = writeln!(std::io::stderr(), "argocd-image-resolver askpass: {reason}");
            ExitCode::FAILURE
        }
    })
}

fn answer(
    prompt: &OsString,
    origin: &str,
    username: &OsString,
    password_file: &Path,
) -> Result<SecretLine, String> {
    let prompt = prompt.to_string_lossy();
    match read_prompt(&prompt, origin)? {
        Asked::Username => username
            .to_str()
            .filter(|u| !u.is_empty())
            .map(|u| SecretLine(u.to_owned()))
            .ok_or_else(|| "no user name was configured".to_owned()),
        Asked::Password => read_secret_file(password_file)
            .map(SecretLine)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:8080";

    #[test]
    fn answers_only_prompts_for_its_origin() {
        let cases = [
            (
                "user",
                "Username for 'http://127.0.0.1:8080': ",
                Ok(Asked::Username),
            ),
            (
                "password",
                "Password for 'http://alice@127.0.0.1:8080': ",
                Ok(Asked::Password),
            ),
            (
                "with a path",
                "Password for 'http://alice@127.0.0.1:8080/r.git': ",
                Ok(Asked::Password),
            ),
            (
                "other port",
                "Password for 'http://alice@127.0.0.1:8081': ",
                Err("refusing to send"),
            ),
            (
                "other host",
                "Username for 'http://evil.example': ",
                Err("to http://evil.example:80"),
            ),
            (
                "downgrade",
                "Password for 'https://127.0.0.1:8080': ",
                Err("refusing"),
            ),
            (
                "ssh passphrase",
                "Enter passphrase for key '/k': ",
                Err("not a credential prompt"),
            ),
            ("bare", "Password: ", Err("not a credential prompt")),
            (
                "not a url",
                "Password for 'nothing': ",
                Err("names no http(s) origin"),
            ),
        ];
        for (name, prompt, want) in cases {
            match (read_prompt(prompt, ORIGIN), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "case {name}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "case {name}: {got}"),
                (got, want) => panic!("case {name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn reads_the_password_file_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "hunter2\n").unwrap();
        let user = OsString::from("alice");
        let ask = |prompt: &str| answer(&prompt.into(), ORIGIN, &user, &file).map(|s| s.0);
        assert_eq!(
            ask("Username for 'http://127.0.0.1:8080': ").unwrap(),
            "alice"
        );
        assert_eq!(
            ask("Password for 'http://alice@127.0.0.1:8080': ").unwrap(),
            "hunter2"
        );
        let refused = ask("Password for 'http://alice@127.0.0.2:8080': ").unwrap_err();
        assert!(!refused.contains("hunter2"), "{refused}");
        let missing = answer(
            &"Password for 'http://127.0.0.1:8080': ".into(),
            ORIGIN,
            &user,
            &dir.path().join("missing"),
        )
        .unwrap_err();
        assert!(missing.contains("cannot be read"), "{missing}");
    }
}
