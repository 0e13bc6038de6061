//! What a call presents to prove who it is: an API key (`Authorization: Bearer`, `x-api-key`,
//! or gRPC `authorization` metadata) and, over mutual TLS, the client's verified certificate.

use std::sync::Arc;

pub const AUTHORIZATION: &str = "authorization";
pub const API_KEY: &str = "x-api-key";

/// An API key as presented; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The leaf certificate (DER) a client proved it holds during the TLS handshake; the TLS
/// acceptor puts it into each request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate(pub Arc<Vec<u8>>);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Present but unreadable (`Authorization: Basic …`, two keys that differ) is an error
    /// the authorizer reports rather than a missing key.
    pub key: Option<Result<Secret, String>>,
    pub peer: Option<PeerCertificate>,
}

impl Credentials {
    /// From a header lookup (`get(name)` → value as text; a value that is not text counts as
    /// present but unreadable through `raw_present`).
    pub fn read<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        raw_present: impl Fn(&str) -> bool,
    ) -> Self {
        let bearer = get(AUTHORIZATION).map(bearer_token);
        let api_key = get(API_KEY).map(|v| {
            let v = v.trim();
            if v.is_empty() {
                Err("the x-api-key header is empty".to_string())
            } else {
                Ok(Secret(v.to_string()))
            }
        });
        let unreadable = |name: &str| {
            (get(name).is_none() && raw_present(name))
                .then(|| Err(format!("the {name} header is not valid text")))
        };
        let bearer = bearer.or_else(|| unreadable(AUTHORIZATION));
        let api_key = api_key.or_else(|| unreadable(API_KEY));
        let key = match (bearer, api_key) {
            (Some(Ok(a)), Some(Ok(b))) if a != b => Some(Err(
                "the Authorization and x-api-key headers carry different keys".to_string(),
            )),
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
            (Some(a), _) => Some(a),
            (None, b) => b,
        };
        Self { key, peer: None }
    }

    pub fn with_peer(mut self, peer: Option<PeerCertificate>) -> Self {
        self.peer = peer;
        self
    }
}

fn bearer_token(value: &str) -> Result<Secret, String> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("the Authorization header must be 'Bearer <API key>'".to_string());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err("the Authorization header carries no key after 'Bearer'".to_string());
    }
    Ok(Secret(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Credentials {
        Credentials::read(
            |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v),
            |_| false,
        )
    }

    #[test]
    fn keys_come_from_bearer_or_x_api_key() {
        let bearer = read(&[("authorization", "Bearer abc")]);
        assert_eq!(bearer.key.unwrap().unwrap().expose(), "abc");
        let lower = read(&[("authorization", "bearer  abc ")]);
        assert_eq!(lower.key.unwrap().unwrap().expose(), "abc");
        let header = read(&[("x-api-key", "xyz")]);
        assert_eq!(header.key.unwrap().unwrap().expose(), "xyz");
        let same = read(&[("authorization", "Bearer k"), ("x-api-key", "k")]);
        assert!(same.key.unwrap().is_ok());
        assert!(read(&[]).key.is_none());
    }

    #[test]
    fn unreadable_keys_are_errors_not_absences() {
        for pairs in [
            vec![("authorization", "Basic dXNlcjpwdw==")],
            vec![("authorization", "Bearer")],
            vec![("x-api-key", " ")],
            vec![("authorization", "Bearer a"), ("x-api-key", "b")],
        ] {
            assert!(read(&pairs).key.unwrap().is_err(), "{pairs:?}");
        }
        let binary = Credentials::read(|_| None, |name| name == API_KEY);
        assert!(binary.key.unwrap().is_err());
    }

    #[test]
    fn secrets_never_print() {
        let key = read(&[("x-api-key", "hunter2")]);
        assert!(!format!("{key:?}").contains("hunter2"));
    }
}
