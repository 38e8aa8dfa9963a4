//! `${…}` references in config strings: where secrets come from.
//!
//! - `${NAME}`: the environment variable NAME.
//! - `${file:PATH}`: the contents of a file (relative to the config's directory).
//! - `${credential:NAME}`: the systemd credential NAME, i.e. `$CREDENTIALS_DIRECTORY/NAME`
//!   (`LoadCredential=NAME:/path` or `LoadCredentialEncrypted=` in the unit).
//! - `$${` is a literal `${`.
//!
//! One trailing newline of a file or credential is dropped: `echo secret > file` adds one, and
//! a newline in a header or URL would break the request. Errors name the reference, never the
//! value it resolved to.

use std::path::Path;

/// The expanded string, and whether any part of it came from a reference (then the whole
/// value is treated as a secret).
pub(super) struct Expanded {
    pub value: String,
    pub from_reference: bool,
}

pub(super) fn expand(value: &str, config_dir: &Path) -> Result<Expanded, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut from_reference = false;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(
                "unterminated ${…} reference; write ${NAME}, ${file:PATH} or \
                        ${credential:NAME}"
                    .into(),
            );
        };
        out.push_str(&resolve(&after[..end], config_dir)?);
        from_reference = true;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Expanded {
        value: out,
        from_reference,
    })
}

fn resolve(reference: &str, config_dir: &Path) -> Result<String, String> {
    if let Some(path) = reference.strip_prefix("file:") {
        let path = config_dir.join(path.trim());
        return read_secret_file(&path)
            .map_err(|e| format!("cannot read ${{{reference}}} ({}): {e}", path.display()));
    }
    if let Some(name) = reference.strip_prefix("credential:") {
        let name = name.trim();
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "${{{reference}}}: a credential name is a plain name like \"webhook-url\""
            ));
        }
        let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
            return Err(format!(
                "${{{reference}}} needs $CREDENTIALS_DIRECTORY, which is not set: run under \
                 systemd with LoadCredential={name}:/path/to/file (or use ${{file:…}})"
            ));
        };
        let path = Path::new(&dir).join(name);
        return read_secret_file(&path).map_err(|e| {
            format!(
                "cannot read credential {name:?} ({}): {e}; is LoadCredential={name} in the unit?",
                path.display()
            )
        });
    }
    match std::env::var(reference) {
        Ok(v) => Ok(v),
        Err(_) => Err(format!(
            "environment variable {reference} is not set (referenced as ${{{reference}}})"
        )),
    }
}

fn read_secret_file(path: &Path) -> std::io::Result<String> {
    let mut text = std::fs::read_to_string(path)?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_credentials_and_escapes() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hook"), "https://h.example/s3cret\n").expect("write");
        let e = expand("${file:hook}", dir.path()).expect("file");
        assert_eq!(e.value, "https://h.example/s3cret");
        assert!(e.from_reference);
        let e = expand("a $${literal}", dir.path()).expect("escape");
        assert_eq!(e.value, "a ${literal}");
        assert!(!e.from_reference);
        let err = expand("${file:missing}", dir.path())
            .err()
            .unwrap_or_default();
        assert!(err.contains("cannot read ${file:missing}"), "{err}");
        let err = expand("${credential:a/b}", dir.path())
            .err()
            .unwrap_or_default();
        assert!(err.contains("plain name"), "{err}");
    }
}
