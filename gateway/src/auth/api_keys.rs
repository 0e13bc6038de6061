//! API keys: the `auth` section of the config, and the authorizer that knows them. Keys are
//! stored only as SHA-256 digests (`taskgate hash-key` prints one) and compared in constant
//! time; a client certificate verified over mutual TLS may stand for a key.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::{CertificateDer, ServerName};
use serde::{Deserialize, Serialize};
use taskgate_schemas::FieldError;
use utoipa::ToSchema;

use super::Authorizer;
use super::credentials::{Credentials, PeerCertificate};
use super::principal::{Principal, Scopes};
use super::rate_limit::{KeyLimiter, RateLimits};
use crate::error::ApiError;

/// Who may call. With no keys every caller may do everything, which is allowed only on
/// loopback addresses unless `disabled` says so explicitly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Serve without keys on a non-loopback address (anyone who reaches the port may do
    /// everything). Not allowed together with `keys`.
    pub disabled: bool,
    pub keys: Vec<KeyConfig>,
}

/// One API key: its id (what logs, jobs and errors name), how it is recognized, and its grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9._-]+$",
        example = "app-1"
    )]
    pub id: String,
    /// The key's SHA-256 digest, as 64 hex digits (`taskgate hash-key` prints it).
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: Option<String>,
    /// A file holding the digest instead (a mounted secret, say).
    #[schema(min_length = 1)]
    pub file: Option<String>,
    /// A DNS name in the client certificate's subject alternative names: a client that
    /// presents a certificate for it over mutual TLS calls as this key, without a secret.
    #[schema(min_length = 1, example = "app-1.clients.internal")]
    pub client_certificate: Option<String>,
    pub scopes: Scopes,
    #[serde(default)]
    pub limits: RateLimits,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("auth.keys[{index}] ('{id}'): {message}")]
    Key {
        index: usize,
        id: String,
        message: String,
    },
    #[error("auth: {0}")]
    Auth(String),
}

impl KeysError {
    pub fn field_error(&self) -> FieldError {
        match self {
            Self::Key { index, message, .. } => {
                FieldError::new(format!("/auth/keys/{index}"), message.clone())
            }
            Self::Auth(message) => FieldError::new("/auth", message.clone()),
        }
    }
}

/// The SHA-256 digest of a key as 64 lowercase hex digits.
pub fn digest_hex(key: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, key.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new key: `tg-` and 32 random bytes as hex, from the system's random source.
pub fn generate_key() -> Result<String, ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut bytes)?;
    Ok(format!(
        "tg-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Equal without an early exit, so the time taken says nothing about where digests differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

struct Key {
    id: Arc<str>,
    digest: Option<[u8; 32]>,
    client_certificate: Option<ServerName<'static>>,
    scopes: Arc<Scopes>,
    limiter: Option<Arc<KeyLimiter>>,
}

impl Key {
    fn principal(&self) -> Principal {
        Principal::for_key(self.id.clone(), self.scopes.clone(), self.limiter.clone())
    }
}

/// The authorizer of a gateway with keys.
pub struct ApiKeys {
    keys: Vec<Key>,
}

impl ApiKeys {
    /// Reads every key (digest files relative to `base`), refusing duplicates and keys that
    /// nothing could present.
    pub fn new(config: &AuthConfig, base: &Path) -> Result<Self, KeysError> {
        if config.disabled && !config.keys.is_empty() {
            return Err(KeysError::Auth(
                "auth.disabled is true but keys are configured; remove one of them".into(),
            ));
        }
        let mut ids = HashSet::new();
        let mut digests = HashSet::new();
        let mut keys = Vec::new();
        for (index, key) in config.keys.iter().enumerate() {
            let fail = |message: String| KeysError::Key {
                index,
                id: key.id.clone(),
                message,
            };
            if !ids.insert(key.id.as_str()) {
                return Err(fail("another key has the same id".into()));
            }
            let digest = match (&key.sha256, &key.file) {
                (Some(_), Some(_)) => return Err(fail("set sha256 or file, not both".into())),
                (Some(hex), None) => Some(
                    parse_digest(hex).ok_or_else(|| fail("sha256 must be 64 hex digits".into()))?,
                ),
                (None, Some(file)) => {
                    let path = base.join(file);
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                    Some(parse_digest(&text).ok_or_else(|| {
                        fail(format!(
                            "{} must hold a SHA-256 digest as 64 hex digits (taskgate hash-key prints one)",
                            path.display()
                        ))
                    })?)
                }
                (None, None) => None,
            };
            if let Some(digest) = digest
                && !digests.insert(digest)
            {
                return Err(fail("another key has the same digest".into()));
            }
            let client_certificate = match &key.client_certificate {
                Some(name) => Some(
                    ServerName::try_from(name.clone())
                        .map_err(|e| fail(format!("client_certificate '{name}': {e}")))?,
                ),
                None => None,
            };
            if digest.is_none() && client_certificate.is_none() {
                return Err(fail(
                    "set sha256, file or client_certificate: nothing could present this key".into(),
                ));
            }
            let id: Arc<str> = key.id.as_str().into();
            keys.push(Key {
                limiter: KeyLimiter::new(id.clone(), &key.limits).map(Arc::new),
                id,
                digest,
                client_certificate,
                scopes: Arc::new(key.scopes.clone()),
            });
        }
        Ok(Self { keys })
    }

    fn by_secret(&self, secret: &str) -> Option<&Key> {
        let presented = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
        let presented: &[u8; 32] = presented.as_ref().try_into().ok()?;
        // Every key is compared, so the time taken does not depend on which one matched.
        let mut found = None;
        for key in &self.keys {
            if let Some(digest) = &key.digest
                && same_digest(digest, presented)
            {
                found = Some(key);
            }
        }
        found
    }

    fn by_certificate(&self, peer: &PeerCertificate) -> Option<&Key> {
        let der = CertificateDer::from(peer.0.as_slice());
        let cert = webpki::EndEntityCert::try_from(&der).ok()?;
        self.keys.iter().find(|key| {
            key.client_certificate
                .as_ref()
                .is_some_and(|name| cert.verify_is_valid_for_subject_name(name).is_ok())
        })
    }
}

impl Authorizer for ApiKeys {
    fn authenticate(&self, credentials: &Credentials) -> Result<Principal, ApiError> {
        match &credentials.key {
            Some(Err(reason)) => Err(ApiError::Unauthenticated(reason.clone())),
            Some(Ok(secret)) => self
                .by_secret(secret.expose())
                .map(Key::principal)
                .ok_or_else(|| ApiError::Unauthenticated("the API key is not recognized".into())),
            None => credentials
                .peer
                .as_ref()
                .and_then(|peer| self.by_certificate(peer))
                .map(Key::principal)
                .ok_or_else(|| {
                    ApiError::Unauthenticated(
                        "an API key is required: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
                            .into(),
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, secret: &str) -> KeyConfig {
        KeyConfig {
            id: id.into(),
            sha256: Some(digest_hex(secret)),
            file: None,
            client_certificate: None,
            scopes: Scopes {
                tasks: vec!["*".into()],
                models: vec!["*".into()],
                ..Scopes::default()
            },
            limits: RateLimits::default(),
        }
    }

    fn presenting(secret: &str) -> Credentials {
        Credentials::read(|name| (name == "x-api-key").then_some(secret), |_| false)
    }

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(
            digest_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn keys_are_recognized_by_their_digest_only() {
        let config = AuthConfig {
            disabled: false,
            keys: vec![key("a", "secret-a"), key("b", "secret-b")],
        };
        let keys = ApiKeys::new(&config, Path::new(".")).unwrap();
        let principal = keys.authenticate(&presenting("secret-b")).unwrap();
        assert_eq!(principal.key_id(), Some("b"));
        let unknown = keys.authenticate(&presenting("secret-c")).unwrap_err();
        assert_eq!(
            unknown,
            ApiError::Unauthenticated("the API key is not recognized".into())
        );
        let missing = keys.authenticate(&Credentials::default()).unwrap_err();
        assert!(missing.to_string().contains("Authorization: Bearer"));
        let bad = Credentials {
            key: Some(Err("the x-api-key header is empty".into())),
            peer: None,
        };
        assert!(keys.authenticate(&bad).is_err());
    }

    #[test]
    fn bad_key_entries_name_the_key() {
        let mut duplicate = AuthConfig {
            disabled: false,
            keys: vec![key("a", "x"), key("a", "y")],
        };
        let error = ApiKeys::new(&duplicate, Path::new(".")).err().unwrap();
        assert_eq!(error.field_error().path, "/auth/keys/1");
        duplicate.keys[1].id = "b".into();
        duplicate.keys[1].sha256 = Some(digest_hex("x"));
        assert!(ApiKeys::new(&duplicate, Path::new(".")).is_err());
        let mut nothing = key("c", "z");
        nothing.sha256 = None;
        let error = ApiKeys::new(
            &AuthConfig {
                disabled: false,
                keys: vec![nothing],
            },
            Path::new("."),
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("nothing could present"));
        let both = AuthConfig {
            disabled: true,
            keys: vec![key("a", "x")],
        };
        assert!(ApiKeys::new(&both, Path::new(".")).is_err());
    }

    #[test]
    fn digest_files_are_read_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("taskgate-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("app.sha256"),
            format!("{}\n", digest_hex("from-file")),
        )
        .unwrap();
        let mut entry = key("f", "unused");
        entry.sha256 = None;
        entry.file = Some("app.sha256".into());
        let keys = ApiKeys::new(
            &AuthConfig {
                disabled: false,
                keys: vec![entry],
            },
            &dir,
        )
        .unwrap();
        assert!(keys.authenticate(&presenting("from-file")).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
