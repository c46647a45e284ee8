//! The client's settings: environment first, then a profile.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey as Key};
use object_store::{ClientOptions, RetryConfig};

use crate::{Error, Result, Store, Url};

/// Connects to the bucket of `url` with the settings of the environment
/// and profile.
pub fn connect(url: &Url) -> Result<Store> {
    static TLS: Once = Once::new();
    TLS.call_once(|| {
        // reqwest is built without a default TLS provider; ring is it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let settings = settings(url)?;
    let mut b = AmazonS3Builder::new().with_bucket_name(&url.bucket);
    let endpoint = settings.get("endpoint").cloned();
    for (k, v) in &settings {
        let key = match k.as_str() {
            "endpoint" => Key::Endpoint,
            "region" => Key::Region,
            "access_key_id" => Key::AccessKeyId,
            "secret_access_key" => Key::SecretAccessKey,
            "session_token" => Key::Token,
            _ => continue,
        };
        b = b.with_config(key, v);
    }
    let missing: Vec<&str> = ["access_key_id", "secret_access_key"]
        .into_iter()
        .filter(|k| !settings.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Config {
            url: url.to_string(),
            message: format!(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile \
                 in ~/.aws/credentials (missing: {})",
                missing.join(", ")
            ),
        });
    }
    let plain_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    // A node that is down must not hold a command for minutes: a few quick
    // retries, then the error (another embassy's endpoint is the remedy).
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let client = ClientOptions::new()
        .with_allow_http(plain_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(300));
    let s3 = b
        .with_retry(retry)
        .with_client_options(client)
        .build()
        .map_err(|e| Error::Config {
            url: url.to_string(),
            message: e.to_string(),
        })?;
    Ok(Store { s3: Arc::new(s3) })
}

/// The settings, each from the first place that has it: the variables,
/// then the profile's credentials file, then its config file.
pub(crate) fn settings(url: &Url) -> Result<HashMap<String, String>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut s = HashMap::new();
    for (name, vars) in [
        (
            "endpoint",
            &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"][..],
        ),
        ("region", &["AWS_REGION", "AWS_DEFAULT_REGION"]),
        ("access_key_id", &["AWS_ACCESS_KEY_ID"]),
        ("secret_access_key", &["AWS_SECRET_ACCESS_KEY"]),
        ("session_token", &["AWS_SESSION_TOKEN"]),
    ] {
        if let Some(v) = vars.iter().find_map(|k| env(k)) {
            s.insert(name.to_owned(), v);
        }
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    // In the credentials file a section is the profile's name; in the
    // config file it is `profile NAME` (but `default` stays `default`).
    let config_section = if profile == "default" {
        profile.clone()
    } else {
        format!("profile {profile}")
    };
    for (path, section) in [
        (
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            profile.as_str(),
        ),
        (file("AWS_CONFIG_FILE", "config"), config_section.as_str()),
    ] {
        let Some(path) = path else { continue };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::Config {
                    url: url.to_string(),
                    message: format!("reading {}: {e}", path.display()),
                })
            }
        };
        for (k, v) in ini_section(&text, section) {
            let name = match k.as_str() {
                "aws_access_key_id" => "access_key_id",
                "aws_secret_access_key" => "secret_access_key",
                "aws_session_token" => "session_token",
                "region" => "region",
                "endpoint_url" => "endpoint",
                _ => continue,
            };
            s.entry(name.to_owned()).or_insert(v);
        }
    }
    Ok(s)
}

/// The `key = value` lines of one `[section]` of an INI file.
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_lowercase(), v.trim().to_owned()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ini_section;

    #[test]
    fn profiles() {
        let text = "[default]\naws_access_key_id = A\n\n[profile lux]\n# a comment\nregion=garage\nendpoint_url = http://127.0.0.1:3900\n[other]\nregion = x\n";
        assert_eq!(
            ini_section(text, "default"),
            [("aws_access_key_id".into(), "A".into())]
        );
        assert_eq!(
            ini_section(text, "profile lux"),
            [
                ("region".into(), "garage".into()),
                ("endpoint_url".into(), "http://127.0.0.1:3900".into())
            ]
        );
        assert!(ini_section(text, "missing").is_empty());
    }
}
