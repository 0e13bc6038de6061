use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::*;

fn pool(name: &str, threads: usize, queue: usize) -> CpuPool {
    CpuPool::new(name, CpuPoolLimits { threads, queue }).unwrap()
}

/// A job that occupies one pool thread until `release` is sent; returns once it has started.
async fn occupy(pool: &CpuPool) -> (JoinHandle<Result<(), RuntimeError>>, std_mpsc::Sender<()>) {
    let (started, has_started) = std_mpsc::channel();
    let (release, wait) = std_mpsc::channel::<()>();
    let pool = pool.clone();
    let job = tokio::spawn(async move {
        pool.run(move || {
            started.send(()).unwrap();
            let _ = wait.recv();
        })
        .await
    });
    tokio::task::spawn_blocking(move || has_started.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("the job starts");
    (job, release)
}

/// Lets spawned tasks reach the pool's queue.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_work_on_its_own_threads_not_the_runtimes() {
    let pool = pool("own", 2, 4);
    let (name, in_runtime) = pool
        .run(|| {
            let name = thread::current().name().map(str::to_string);
            (name, tokio::runtime::Handle::try_current().is_ok())
        })
        .await
        .unwrap();
    assert!(name.unwrap().starts_with("own-"));
    assert!(!in_runtime, "the job ran inside the async runtime");
}

#[tokio::test]
async fn runs_as_many_jobs_at_once_as_it_has_threads() {
    let pool = pool("parallel", 3, 3);
    let running = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..3)
        .map(|_| {
            let (pool, running) = (pool.clone(), running.clone());
            tokio::spawn(async move {
                pool.run(move || {
                    running.fetch_add(1, Ordering::SeqCst);
                    // Only true if all three threads hold a job at the same time.
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while running.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
                        thread::yield_now();
                    }
                    running.load(Ordering::SeqCst) >= 3
                })
                .await
            })
        })
        .collect();
    for job in jobs {
        assert!(
            job.await.unwrap().unwrap(),
            "the three jobs did not overlap"
        );
    }
}

#[tokio::test]
async fn a_full_queue_is_refused_and_the_pool_recovers() {
    let pool = pool("full", 2, 1);
    let (first, release_first) = occupy(&pool).await;
    let (second, release_second) = occupy(&pool).await;
    let queued = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.run(|| 1).await })
    };
    settle().await;
    let refused = pool.run(|| 2).await.unwrap_err();
    assert_eq!(
        refused,
        RuntimeError::Overloaded {
            what: "the CPU pool 'full'".into(),
            limit: 3
        }
    );
    assert_eq!(
        refused.to_string(),
        "the CPU pool 'full' is overloaded: 3 requests already in flight, retry later"
    );
    release_first.send(()).unwrap();
    release_second.send(()).unwrap();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(queued.await.unwrap().unwrap(), 1);
    assert_eq!(pool.run(|| 3).await.unwrap(), 3);
}

#[tokio::test]
async fn a_panicking_job_is_an_error_and_every_thread_survives() {
    let pool = pool("panicky", 2, 2);
    for _ in 0..2 {
        let err = pool.run(|| -> u32 { panic!("boom") }).await.unwrap_err();
        assert_eq!(
            err,
            RuntimeError::Inference("a job on the CPU pool 'panicky' panicked".into())
        );
    }
    // Both threads still take jobs: two can run at once.
    let (first, release_first) = occupy(&pool).await;
    let (second, release_second) = occupy(&pool).await;
    release_first.send(()).unwrap();
    release_second.send(()).unwrap();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(pool.run(|| 7).await.unwrap(), 7);
}

#[tokio::test]
async fn a_job_whose_caller_left_is_skipped() {
    let pool = pool("cancel", 1, 2);
    let (busy, release) = occupy(&pool).await;
    let ran = Arc::new(AtomicBool::new(false));
    let abandoned = {
        let (pool, ran) = (pool.clone(), ran.clone());
        tokio::spawn(async move { pool.run(move || ran.store(true, Ordering::SeqCst)).await })
    };
    settle().await;
    abandoned.abort();
    let _ = abandoned.await;
    release.send(()).unwrap();
    busy.await.unwrap().unwrap();
    // Jobs run in order: once this one has run, the abandoned one has had its turn.
    pool.run(|| ()).await.unwrap();
    assert!(!ran.load(Ordering::SeqCst), "the abandoned job ran");
}

#[test]
fn the_machine_sized_pool_has_a_thread_per_core_and_a_bounded_queue() {
    let limits = CpuPoolLimits::for_machine();
    let cores = thread::available_parallelism().map_or(1, NonZero::get);
    assert_eq!(limits.threads, cores);
    assert_eq!(limits.queue, cores * QUEUE_PER_THREAD);
}

#[tokio::test]
async fn offload_runs_on_the_shared_pool() {
    let name = offload("test", || thread::current().name().map(str::to_string))
        .await
        .unwrap()
        .unwrap();
    assert!(name.starts_with("taskgate-cpu-"), "{name}");
    assert_eq!(
        CpuPool::shared().unwrap().limits(),
        CpuPoolLimits::for_machine()
    );
}
