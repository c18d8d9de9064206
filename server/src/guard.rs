//! Bounds on what anonymous clients can make the server do: a per-address
//! throttle on failed sign-ins and a bound on concurrent password hashing.
//!
//! Both are in-process. Several server processes each apply them; the
//! per-account lockout (`store::login_attempts`) is in the database and
//! holds across processes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failed sign-ins per client address in a fixed window; attempts still
/// being checked count as failures until they pass, so parallel attempts
/// cannot get past the limit.
#[derive(Debug)]
pub struct AddressThrottle {
    limit: u32,
    window: i64,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: i64,
    failures: u32,
    in_flight: u32,
}

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

impl AddressThrottle {
    pub fn new(limit: u32, window_seconds: i64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            window: window_seconds.max(1),
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        // A panic while holding the lock leaves only counters behind.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets one attempt from `address` through, or says in how many seconds
    /// to try again.
    pub fn admit(self: &Arc<Self>, address: IpAddr, now: i64) -> Result<Ticket, i64> {
        let mut entries = self.lock();
        if entries.len() >= SWEEP_AT {
            let window = self.window;
            entries.retain(|_, e| e.in_flight > 0 || now - e.window_start < window);
        }
        let entry = entries.entry(address).or_insert(Entry {
            window_start: now,
            failures: 0,
            in_flight: 0,
        });
        if now - entry.window_start >= self.window {
            entry.window_start = now;
            entry.failures = 0;
        }
        if entry.failures + entry.in_flight >= self.limit {
            return Err((entry.window_start + self.window - now).max(1));
        }
        entry.in_flight += 1;
        Ok(Ticket {
            throttle: Arc::clone(self),
            address,
            passed: false,
        })
    }

    fn settle(&self, address: IpAddr, passed: bool) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&address) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if !passed {
                entry.failures = entry.failures.saturating_add(1);
            }
        }
    }
}

/// One admitted attempt: counts as a failure unless [`Ticket::passed`] is
/// called (so an attempt that errors or is cancelled counts too).
#[derive(Debug)]
pub struct Ticket {
    throttle: Arc<AddressThrottle>,
    address: IpAddr,
    passed: bool,
}

impl Ticket {
    pub fn passed(mut self) {
        self.passed = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.throttle.settle(self.address, self.passed);
    }
}

/// How many connections may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From one client address (a shop's or an office's NAT counts once).
    pub per_address: usize,
    /// From all clients together; kept well below the process's file limit.
    pub total: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            per_address: 1024,
            total: 8192,
        }
    }
}

/// The connections open now, per client address.
#[derive(Debug, Clone)]
pub struct OpenConnections {
    limits: ConnectionLimits,
    open: Arc<Mutex<(usize, HashMap<IpAddr, usize>)>>,
}

/// One admitted connection; its place is given back when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    open: Arc<Mutex<(usize, HashMap<IpAddr, usize>)>>,
    address: IpAddr,
}

impl OpenConnections {
    pub fn new(limits: ConnectionLimits) -> Self {
        Self {
            limits,
            open: Arc::new(Mutex::new((0, HashMap::new()))),
        }
    }

    /// A place for a new connection from `address`, if there is one.
    pub fn admit(&self, address: IpAddr) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per) = &mut *open;
        let mine = per.entry(address).or_insert(0);
        if *total >= self.limits.total || *mine >= self.limits.per_address {
            if *mine == 0 {
                per.remove(&address);
            }
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(ConnectionSlot {
            open: Arc::clone(&self.open),
            address,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(mine) = per.get_mut(&self.address) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                per.remove(&self.address);
            }
        }
    }
}

/// Argon2 work, on a few dedicated threads. Each hash takes about 19 MiB
/// and a core for about 50 ms. Unbounded, 200 parallel sign-ins took the
/// process from 3 to 6 GB; bounded to two at a time but run on the
/// runtime's blocking pool, 200 hashes still left 1.7 GB behind, because
/// the allocator keeps a freed 19 MiB block in the arena of whichever
/// thread ran it. On a fixed set of threads each thread reuses its own.
#[derive(Debug, Clone)]
pub struct HashSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// No slot came free in time.
#[derive(Debug)]
pub struct Busy;

impl HashSlots {
    /// Starts `threads` hashing threads; they end when the last clone of
    /// the returned value is dropped.
    pub fn new(threads: usize, wait: Duration) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = {
                        let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
                        queue.recv()
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(threads)),
            wait,
            jobs,
        }
    }

    /// Runs `work` on a hashing thread once a slot is free, waiting at most
    /// the configured time for one.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<anyhow::Result<T>, Busy> {
        let permit: OwnedSemaphorePermit =
            match tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return Err(Busy),
            };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
            drop(permit);
        });
        if self.jobs.send(job).is_err() {
            return Ok(Err(anyhow::anyhow!("the hashing threads have stopped")));
        }
        Ok(result
            .await
            .map_err(|_| anyhow::anyhow!("a hashing thread failed")))
    }

    /// Checks a password against a PHC string in a slot.
    pub async fn verify(
        &self,
        password: String,
        phc: String,
    ) -> Result<anyhow::Result<bool>, Busy> {
        self.run(move || crate::password::verify_blocking(&password, &phc))
            .await
    }

    /// Hashes a password in a slot.
    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        Ok(self
            .run(move || crate::password::hash_blocking(&password))
            .await?
            .and_then(|r| r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_bounded_per_address_and_in_all() {
        let open = OpenConnections::new(ConnectionLimits {
            per_address: 2,
            total: 3,
        });
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let first = open.admit(a).expect("first");
        let _second = open.admit(a).expect("second");
        assert!(open.admit(a).is_none(), "two per address");
        let _third = open.admit(b).expect("another address");
        assert!(open.admit(b).is_none(), "three in all");
        drop(first);
        assert!(
            open.admit(b).is_some(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn parallel_attempts_count_before_they_finish() {
        let throttle = AddressThrottle::new(3, 60);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = throttle.admit(ip, 100).expect("first");
        let b = throttle.admit(ip, 100).expect("second");
        let c = throttle.admit(ip, 100).expect("third");
        assert!(
            throttle.admit(ip, 100).is_err(),
            "three in flight fill the limit"
        );
        a.passed();
        let d = throttle.admit(ip, 100).expect("a success frees its place");
        drop((b, c, d));
        assert_eq!(
            throttle.admit(ip, 101).err(),
            Some(59),
            "three failures: wait out the window"
        );
        assert!(
            throttle.admit(ip, 160).is_ok(),
            "a new window starts afresh"
        );
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(
            throttle.admit(other, 101).is_ok(),
            "addresses are counted apart"
        );
    }
}
