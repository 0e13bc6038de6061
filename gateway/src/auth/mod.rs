//! The call pipeline's front door: who is calling (an API key, or a client certificate over
//! mutual TLS) and what they may do. Authentication runs before validation, so a caller that
//! may not call learns nothing from the schema.

pub mod api_keys;
pub mod credentials;
pub mod principal;
pub mod rate_limit;

pub use api_keys::{ApiKeys, AuthConfig, KeyConfig};
pub use credentials::{Credentials, PeerCertificate};
pub use principal::{Principal, Scopes, TrainingRight};

use crate::error::ApiError;

/// Turns what a call presents into the caller it runs as; a refusal is the call's answer.
pub trait Authorizer: Send + Sync {
    fn authenticate(&self, credentials: &Credentials) -> Result<Principal, ApiError>;
}

/// Every call may do everything: the policy of a gateway without keys (loopback, or
/// `auth.disabled`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authenticate(&self, _credentials: &Credentials) -> Result<Principal, ApiError> {
        Ok(Principal::unrestricted())
    }
}
