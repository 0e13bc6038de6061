//! The threads a matmul shares its row groups with. rayon parks an idle worker and wakes it
//! with a futex for every parallel section; a decode step runs a hundred and more matmuls, and
//! on the 2-core reference VM those wake-ups and the yields around them took about a fifth of
//! the step. These helpers instead stay awake for a moment after each job, so the next matmul
//! of the same step finds them running; after that they park, so an idle model costs nothing.
//!
//! One caller at a time: a second caller while a job runs (two models generating at once, a
//! training job) is told the team is busy and takes rayon's path instead.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

/// How long a helper stays awake for the next job: longer than the gaps between the matmuls of
/// one step (attention, norms), short enough that an idle model frees its cores at once.
const STAY_AWAKE: Duration = Duration::from_micros(200);
/// While awake, a helper gives its core away this often, in case another thread needs it.
const YIELD_EVERY: Duration = Duration::from_micros(40);

/// `state`: the job's epoch above bit 32, `CLOSED` once the caller stopped taking helpers, and
/// the number of helpers that joined the job in the low bits.
const CLOSED: u64 = 1 << 31;
const JOINED: u64 = CLOSED - 1;

/// A job as the helpers see it; only dereferenced between joining and finishing, while the
/// caller waits.
#[derive(Clone, Copy)]
struct JobRef(*const (dyn Fn() + Sync));

// SAFETY: the pointee is `Sync`, and the caller keeps it alive until every helper that joined
// has finished (`Team::run`).
unsafe impl Send for JobRef {}

pub(super) struct Team {
    helpers: usize,
    caller: Mutex<()>,
    state: AtomicU64,
    job: Mutex<Option<JobRef>>,
    finished: AtomicUsize,
    panicked: AtomicBool,
    parked: AtomicUsize,
    sleep: Mutex<()>,
    wake: Condvar,
}

/// The team for this process's compute threads (`RAYON_NUM_THREADS`, else all cores, as
/// rayon's global pool): one helper fewer than the threads, since the caller works too. `None`
/// with a single thread.
pub(super) fn team() -> Option<&'static Team> {
    static TEAM: OnceLock<Option<&'static Team>> = OnceLock::new();
    *TEAM.get_or_init(|| {
        let threads = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1);
        Team::start(threads - 1)
    })
}

impl Team {
    /// `helpers` threads, leaked: they live as long as the process. `None` for zero, or when
    /// no thread could be started.
    pub(super) fn start(helpers: usize) -> Option<&'static Team> {
        if helpers == 0 {
            return None;
        }
        let team: &'static Team = Box::leak(Box::new(Team {
            helpers,
            caller: Mutex::new(()),
            state: AtomicU64::new(0),
            job: Mutex::new(None),
            finished: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            parked: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        }));
        for i in 0..helpers {
            std::thread::Builder::new()
                .name(format!("matmul-helper-{i}"))
                .spawn(move || team.serve())
                .ok()?;
        }
        Some(team)
    }

    /// The threads a job runs on, the caller's included.
    pub(super) fn threads(&self) -> usize {
        self.helpers + 1
    }

    /// Runs `work` on the calling thread and on every helper that is ready for it, and returns
    /// once all of them are done; `work` must split itself (a shared cursor), since how many
    /// run it varies. `false`, without running it, when another caller holds the team.
    /// A panic in any of them is raised here.
    pub(super) fn run(&self, work: &(dyn Fn() + Sync)) -> bool {
        let _turn = match self.caller.try_lock() {
            Ok(turn) => turn,
            Err(TryLockError::WouldBlock) => return false,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        // SAFETY: only the lifetime is erased; `work` outlives every use below, since this
        // function waits for each helper that joined before returning.
        let job = unsafe {
            std::mem::transmute::<*const (dyn Fn() + Sync + '_), *const (dyn Fn() + Sync)>(work)
        };
        *lock(&self.job) = Some(JobRef(job));
        self.finished.store(0, Ordering::Relaxed);
        let epoch = (self.state.load(Ordering::Relaxed) >> 32) + 1;
        self.state.store(epoch << 32, Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) > 0 {
            let _sleep = lock(&self.sleep);
            self.wake.notify_all();
        }
        let own = catch_unwind(AssertUnwindSafe(work));
        // Helpers arriving from now on skip this job; those that joined finish it.
        let joined = (self.state.fetch_or(CLOSED, Ordering::AcqRel) & JOINED) as usize;
        // A helper that joined is finishing its last piece; if the OS took its core meanwhile,
        // yielding now and then lets it have this one.
        let mut spins = 0u32;
        while self.finished.load(Ordering::Acquire) < joined {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        *lock(&self.job) = None;
        let helper_panicked = self.panicked.swap(false, Ordering::Relaxed);
        if let Err(panic) = own {
            std::panic::resume_unwind(panic);
        }
        assert!(!helper_panicked, "a matmul helper panicked");
        true
    }

    fn serve(&self) {
        let mut seen = 0;
        loop {
            let state = self.wait_for_job(seen);
            seen = state >> 32;
            if self.join(state) {
                let job = lock(&self.job).expect("a job is set while it is open. This is a bug.");
                // SAFETY: the caller keeps the job alive until this helper reports finishing.
                let ran = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.0)() }));
                if ran.is_err() {
                    self.panicked.store(true, Ordering::Relaxed);
                }
                self.finished.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Joins the job of `state` unless the caller closed it meanwhile.
    fn join(&self, mut state: u64) -> bool {
        loop {
            if state & CLOSED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) if now >> 32 == state >> 32 => state = now,
                // A newer job: this one is over.
                Err(_) => return false,
            }
        }
    }

    /// The state once a job newer than epoch `seen` is posted: spinning for `STAY_AWAKE`,
    /// then parked.
    fn wait_for_job(&self, seen: u64) -> u64 {
        loop {
            let awake = Instant::now();
            let mut yielded = awake;
            loop {
                for _ in 0..64 {
                    let state = self.state.load(Ordering::Acquire);
                    if state >> 32 != seen {
                        return state;
                    }
                    std::hint::spin_loop();
                }
                let now = Instant::now();
                if now - awake > STAY_AWAKE {
                    break;
                }
                if now - yielded > YIELD_EVERY {
                    std::thread::yield_now();
                    yielded = now;
                }
            }
            let mut sleep = lock(&self.sleep);
            self.parked.fetch_add(1, Ordering::SeqCst);
            while self.state.load(Ordering::SeqCst) >> 32 == seen {
                sleep = self
                    .wake
                    .wait(sleep)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            self.parked.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums `0..n` split across the team through a shared cursor, as a matmul splits its rows.
    fn shared_sum(team: &Team, n: u64) -> (u64, bool) {
        let (next, total) = (AtomicU64::new(0), AtomicU64::new(0));
        let ran = team.run(&|| {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                total.fetch_add(i, Ordering::Relaxed);
            }
        });
        (total.into_inner(), ran)
    }

    #[test]
    fn every_job_runs_whole_whether_helpers_spin_park_or_miss_it() {
        let team = Team::start(2).unwrap();
        assert_eq!(team.threads(), 3);
        for n in [0, 1, 7, 1000, 100_000] {
            assert_eq!(shared_sum(team, n), (n * n.saturating_sub(1) / 2, true));
        }
        // Back to back (helpers still spinning), then after they parked.
        for round in 0..200 {
            assert_eq!(shared_sum(team, 5000).0, 5000 * 4999 / 2, "round {round}");
        }
        std::thread::sleep(STAY_AWAKE * 5);
        assert_eq!(shared_sum(team, 5000).0, 5000 * 4999 / 2);
    }

    #[test]
    fn a_second_caller_is_turned_away_and_panics_reach_the_caller() {
        let team = Team::start(1).unwrap();
        let inner = AtomicBool::new(true);
        assert!(team.run(&|| {
            // The team is held by this job: a nested or concurrent caller must not wait.
            if !team.run(&|| {}) {
                inner.store(false, Ordering::Relaxed);
            }
        }));
        assert!(!inner.load(Ordering::Relaxed), "the second caller ran");
        let helper_count = AtomicUsize::new(0);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            team.run(&|| {
                helper_count.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
                panic!("kernel failed");
            })
        }));
        assert!(caught.is_err());
        // The team still works after a panic.
        assert_eq!(shared_sum(team, 100).0, 4950);
    }
}
