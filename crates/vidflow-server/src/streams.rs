//! Bounds on open event streams (`/v1/jobs/{id}/events`): each holds a connection and a
//! task for as long as a job runs, so their number is capped in all and per client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use crate::auth::Client;
use crate::error::ApiError;

/// Counts open streams; a [`StreamSlot`] is one of them, given back when dropped.
#[derive(Debug, Clone)]
pub struct StreamSlots {
    inner: Arc<Slots>,
}

#[derive(Debug)]
struct Slots {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<(usize, HashMap<Client, usize>)>,
}

/// One open stream, counted until dropped (when the stream ends or its client leaves).
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<Slots>,
    client: Client,
}

impl StreamSlots {
    /// At most `max_total` streams at once, `max_per_client` of them for one client.
    pub fn new(max_total: usize, max_per_client: usize) -> StreamSlots {
        StreamSlots {
            inner: Arc::new(Slots {
                max_total,
                max_per_client,
                open: Mutex::new((0, HashMap::new())),
            }),
        }
    }

    /// A slot for `client`, or a 429 saying which limit it reached.
    pub fn take(&self, client: Client) -> Result<StreamSlot, ApiError> {
        let mut open = self.inner.open.lock().unwrap_or_else(|p| p.into_inner());
        let mine = open.1.get(&client).copied().unwrap_or(0);
        let refuse = |message: String| ApiError {
            retry_after: Some(5),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_streams", message)
        };
        if mine >= self.inner.max_per_client {
            return Err(refuse(format!(
                "this client already follows {mine} event streams (at most {}); close one or poll GET /v1/jobs/{{id}}",
                self.inner.max_per_client
            )));
        }
        if open.0 >= self.inner.max_total {
            return Err(refuse(format!(
                "the server has {} event streams open, its limit; poll GET /v1/jobs/{{id}} or try again later",
                open.0
            )));
        }
        open.0 += 1;
        *open.1.entry(client).or_insert(0) += 1;
        Ok(StreamSlot {
            slots: self.inner.clone(),
            client,
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.inner.open.lock().unwrap_or_else(|p| p.into_inner()).0
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_client_and_in_all_and_come_back() {
        let slots = StreamSlots::new(3, 2);
        let a = Client::Key([1; 8]);
        let b = Client::Key([2; 8]);
        let a1 = slots.take(a).unwrap();
        let _a2 = slots.take(a).unwrap();
        let err = slots.take(a).unwrap_err();
        assert_eq!(err.code, "too_many_streams");
        let _b1 = slots.take(b).unwrap();
        assert!(slots.take(b).is_err(), "3 in all");
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _b2 = slots.take(b).unwrap();
    }
}
