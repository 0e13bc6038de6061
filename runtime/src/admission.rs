use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::RuntimeError;

/// Admission control at the door: a request either gets a permit at once or is refused, so load
/// beyond capacity becomes a fast "retry later" instead of an unbounded queue.
#[derive(Debug, Clone)]
pub struct Admission {
    what: Arc<str>,
    limit: usize,
    slots: Arc<Semaphore>,
}

/// Held for as long as a request is in flight (including a whole stream).
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
}

impl Admission {
    /// `what` names the guarded resource in the overload message, e.g. `model 'pii-rules'`.
    pub fn new(what: impl Into<Arc<str>>, limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            what: what.into(),
            limit,
            slots: Arc::new(Semaphore::new(limit)),
        }
    }

    pub fn try_admit(&self) -> Result<Permit, RuntimeError> {
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => Ok(Permit { _permit: permit }),
            Err(_) => Err(RuntimeError::Overloaded {
                what: self.what.to_string(),
                limit: self.limit,
            }),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn in_flight(&self) -> usize {
        self.limit - self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_limit_and_recovers() {
        let admission = Admission::new("model 'm'", 2);
        let a = admission.try_admit().unwrap();
        let _b = admission.try_admit().unwrap();
        let err = admission.try_admit().unwrap_err();
        assert_eq!(
            err.to_string(),
            "model 'm' is overloaded: 2 requests already in flight, retry later"
        );
        assert_eq!(admission.in_flight(), 2);
        drop(a);
        assert!(admission.try_admit().is_ok());
    }
}
