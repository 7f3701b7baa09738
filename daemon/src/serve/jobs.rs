//! The job queue: bounded concurrency, fair queue positions, the jobs' events (in the daemon's own
//! terms, `events.rs`), and real cancellation through the engine's cancel flag. What a job does
//! is `execute.rs`'s; it runs on a blocking worker thread, never on the async runtime.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use threedgpt_engine::{CancelFlag, EngineError};
use tokio::sync::{Notify, broadcast};

use super::events::{FailureKind, JobEvent, JobState, JobSummary, Update};
use super::execute::{JobWork, execute};
use super::recorder::Recorder;

/// Jobs kept after they end, so clients can still watch them and list their outcome.
const ENDED_JOBS_KEPT: usize = 200;
/// Events buffered per watcher; a slow watcher skips progress events rather than stall the job.
const EVENT_BUFFER: usize = 256;

/// Why a job was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubmitError {
    #[error("the queue is full ({0} jobs waiting); wait for some to finish or cancel some")]
    QueueFull(usize),
    #[error("the daemon is shutting down; start it again and retry")]
    ShuttingDown,
}

/// The queue, shared by every connection.
#[derive(Clone)]
pub(crate) struct JobQueue {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    recorder: Arc<Recorder>,
    /// Where detached jobs are written down while they are queued or running.
    journal: std::sync::OnceLock<PathBuf>,
    workers: usize,
    max_queued: usize,
    idle: Notify,
}

#[derive(Default)]
struct State {
    jobs: HashMap<String, Job>,
    queue: VecDeque<String>,
    ended: VecDeque<String>,
    running: usize,
    /// A GPU job is running (they run one at a time).
    gpu_busy: bool,
    next_id: u64,
    /// When each client last had a job started (a counter), for round-robin between clients.
    last_started: HashMap<String, u64>,
    starts: u64,
    shutting_down: bool,
    last_activity: Option<Instant>,
    /// Detached jobs not yet ended, as written in the journal.
    detached: Vec<JournalEntry>,
}

/// A detached job as the journal keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct JournalEntry {
    job_id: String,
    source: String,
    #[serde(default)]
    output: Option<PathBuf>,
}

/// What the jobs a killed daemon left unfinished are told.
const DAEMON_STOPPED: &str =
    "the daemon stopped before this job finished (it was stopped or killed, or the machine went down); run it again";

struct Job {
    client: String,
    /// The work, until the job starts.
    work: Option<JobWork>,
    source: String,
    state: JobState,
    fraction: f32,
    error: String,
    last_event: JobEvent,
    events: broadcast::Sender<JobEvent>,
    cancel: CancelFlag,
}

impl JobQueue {
    /// A queue running at most `workers` jobs at once and holding at most `max_queued` waiting.
    pub(crate) fn new(workers: usize, max_queued: usize, recorder: Arc<Recorder>) -> Self {
        Self {
            inner: Arc::new(Inner {
                recorder,
                journal: std::sync::OnceLock::new(),
                state: Mutex::new(State { last_activity: Some(Instant::now()), ..State::default() }),
                workers: workers.max(1),
                max_queued,
                idle: Notify::new(),
            }),
        }
    }

    /// Keeps detached jobs in the journal at `path`; the jobs a previous daemon left there
    /// unfinished are listed as failed, with why.
    pub(crate) fn with_journal(self, path: PathBuf) -> Self {
        let left: Vec<JournalEntry> =
            std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
        if self.inner.journal.set(path).is_err() {
            tracing::warn!("the queue already has a journal; keeping the first");
        }
        {
            let mut state = self.state();
            for entry in left {
                tracing::warn!(job = %entry.job_id, source = %entry.source, "a detached job did not finish before the daemon stopped");
                let failed = Update::Failed { kind: FailureKind::DaemonStopped, message: DAEMON_STOPPED.to_owned() };
                let (events, _) = broadcast::channel(EVENT_BUFFER);
                state.jobs.insert(
                    entry.job_id.clone(),
                    Job {
                        client: String::new(),
                        work: None,
                        source: entry.source,
                        state: JobState::Failed,
                        fraction: 0.0,
                        error: DAEMON_STOPPED.to_owned(),
                        last_event: event(&entry.job_id, failed),
                        events,
                        cancel: CancelFlag::new(),
                    },
                );
                // A new daemon with the killed one's process id must not reuse these ids.
                let sequence = entry.job_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                if entry.job_id.starts_with(&format!("job-{}-", std::process::id())) {
                    state.next_id = state.next_id.max(sequence);
                }
                state.ended.push_back(entry.job_id);
            }
            self.write_journal(&state);
        }
        self
    }

    /// Writes the detached jobs not yet ended (temporary file, rename).
    fn write_journal(&self, state: &State) {
        let Some(path) = self.inner.journal.get() else { return };
        let text = serde_json::to_vec(&state.detached).unwrap_or_default();
        if let Err(error) = threedgpt_engine::export::write_atomic(path, &text) {
            tracing::warn!(%error, "could not write down the detached jobs");
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed in a way that matters
        // more than stopping the daemon would, so carry on with it.
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records client activity for the idle timer.
    pub(crate) fn touch(&self) {
        self.state().last_activity = Some(Instant::now());
    }

    /// Time since the last activity, or `None` while jobs are queued or running.
    pub(crate) fn idle_for(&self) -> Option<std::time::Duration> {
        let state = self.state();
        if state.running > 0 || !state.queue.is_empty() {
            return None;
        }
        state.last_activity.map(|at| at.elapsed())
    }

    /// Queues a job; returns its id and a receiver that gets every event from `Queued` on.
    pub(crate) fn submit(&self, work: JobWork) -> Result<(String, broadcast::Receiver<JobEvent>), SubmitError> {
        let mut state = self.state();
        if state.shutting_down {
            return Err(SubmitError::ShuttingDown);
        }
        if state.queue.len() >= self.inner.max_queued {
            return Err(SubmitError::QueueFull(state.queue.len()));
        }
        state.next_id += 1;
        let id = format!("job-{}-{}", std::process::id(), state.next_id);
        if work.detach {
            state.detached.push(JournalEntry {
                job_id: id.clone(),
                source: work.name.clone(),
                output: work.output.clone(),
            });
            self.write_journal(&state);
        }
        let (events, receiver) = broadcast::channel(EVENT_BUFFER);
        state.queue.push_back(id.clone());
        state.jobs.insert(
            id.clone(),
            Job {
                client: work.client.clone(),
                source: work.name.clone(),
                work: Some(work),
                state: JobState::Queued,
                fraction: 0.0,
                error: String::new(),
                last_event: event(&id, Update::Queued { position: 0 }),
                events,
                cancel: CancelFlag::new(),
            },
        );
        state.last_activity = Some(Instant::now());
        announce_positions(&mut state);
        self.dispatch(&mut state);
        Ok((id, receiver))
    }

    /// Starts waiting jobs while workers are free, in the fair order of [`dispatch_order`].
    fn dispatch(&self, state: &mut State) {
        let mut started_any = false;
        while state.running < self.inner.workers {
            // The first in fair order that can start: a GPU job waits while another holds the GPU.
            let gpu_busy = state.gpu_busy;
            let startable = dispatch_order(state).into_iter().find(|id| {
                !gpu_busy || !state.jobs.get(id).and_then(|job| job.work.as_ref()).is_some_and(|work| work.gpu)
            });
            let Some(id) = startable else {
                break;
            };
            state.queue.retain(|queued| queued != &id);
            let Some(job) = state.jobs.get_mut(&id) else {
                continue;
            };
            job.state = JobState::Running;
            let (work, cancel) = (job.work.take(), job.cancel.clone());
            let client = job.client.clone();
            state.running += 1;
            state.starts += 1;
            let starts = state.starts;
            state.last_started.insert(client, starts);
            state.gpu_busy |= work.as_ref().is_some_and(|work| work.gpu);
            let (device, background) = work.as_ref().map_or_else(
                || ("cpu".to_owned(), String::new()),
                |work| (work.device.clone(), work.remover.name.clone()),
            );
            publish(state, &id, Update::Started { device, background });
            started_any = true;
            if let Some(work) = work {
                let queue = self.clone();
                tokio::spawn(async move { queue.run(id, work, cancel).await });
            }
        }
        if started_any {
            announce_positions(state);
        }
    }

    async fn run(self, id: String, work: JobWork, cancel: CancelFlag) {
        let span = tracing::info_span!("job", id = %id, source = %work.name);
        let queue = self.clone();
        let job_id = id.clone();
        let gpu = work.gpu;
        let outcome = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let report = |update: Update| publish(&mut queue.state(), &job_id, update);
            execute(work, &queue.inner.recorder, &cancel, &report)
        })
        .await;
        let mut state = self.state();
        state.running -= 1;
        if gpu {
            state.gpu_busy = false;
        }
        let (job_state, update, error) = match outcome {
            Ok(Ok(finished)) => (JobState::Finished, Update::Finished(finished), String::new()),
            Ok(Err(EngineError::Cancelled)) => (JobState::Cancelled, Update::Cancelled, String::new()),
            Ok(Err(error)) => {
                let message = error.to_string();
                tracing::warn!(%message, "job failed");
                (JobState::Failed, Update::Failed { kind: FailureKind::of(&error), message: message.clone() }, message)
            }
            Err(join_error) => {
                let message = format!("the job stopped unexpectedly ({join_error}); please report this");
                tracing::error!(%message);
                (JobState::Failed, Update::Failed { kind: FailureKind::Internal, message: message.clone() }, message)
            }
        };
        self.end(&mut state, &id, job_state, update, error);
        state.last_activity = Some(Instant::now());
        if !state.shutting_down {
            self.dispatch(&mut state);
        }
        if state.running == 0 {
            self.inner.idle.notify_waiters();
        }
    }

    fn end(&self, state: &mut State, id: &str, job_state: JobState, update: Update, error: String) {
        if let Some(job) = state.jobs.get_mut(id) {
            job.state = job_state;
            job.error = error;
            // A job cancelled while queued still held its picture (and its share of the budget).
            job.work = None;
            if job_state == JobState::Finished {
                job.fraction = 1.0;
            }
        }
        publish(state, id, update);
        // Jobs cancelled because the daemon stops stay written down: the next daemon tells of them.
        if !state.shutting_down && state.detached.iter().any(|entry| entry.job_id == id) {
            state.detached.retain(|entry| entry.job_id != id);
            self.write_journal(state);
        }
        state.ended.push_back(id.to_owned());
        while state.ended.len() > ENDED_JOBS_KEPT {
            if let Some(old) = state.ended.pop_front() {
                state.jobs.remove(&old);
            }
        }
    }

    /// Cancels a job. `None` when the id is unknown; otherwise whether it was still queued or running.
    pub(crate) fn cancel(&self, id: &str) -> Option<bool> {
        let mut state = self.state();
        let job = state.jobs.get(id)?;
        let (job_state, cancel) = (job.state, job.cancel.clone());
        match job_state {
            JobState::Queued => {
                state.queue.retain(|queued| queued != id);
                self.end(&mut state, id, JobState::Cancelled, Update::Cancelled, String::new());
                announce_positions(&mut state);
                Some(true)
            }
            JobState::Running => {
                cancel.cancel();
                Some(true)
            }
            _ => Some(false),
        }
    }

    /// The job's latest event and a receiver for what follows, or `None` for an unknown id.
    pub(crate) fn watch(&self, id: &str) -> Option<(JobEvent, broadcast::Receiver<JobEvent>)> {
        let state = self.state();
        let job = state.jobs.get(id)?;
        Some((job.last_event.clone(), job.events.subscribe()))
    }

    /// Every known job, queued first (in order), then running, then ended (newest last).
    pub(crate) fn list(&self) -> Vec<JobSummary> {
        let state = self.state();
        let order = dispatch_order(&state);
        let mut summaries: Vec<JobSummary> = state
            .jobs
            .iter()
            .map(|(id, job)| JobSummary {
                job_id: id.clone(),
                state: job.state,
                source: job.source.clone(),
                position: order.iter().position(|queued| queued == id).map_or(0, |index| index as u32 + 1),
                fraction: job.fraction,
                error: job.error.clone(),
            })
            .collect();
        summaries.sort_by_key(|summary| {
            let order = match summary.state {
                JobState::Queued => 0,
                JobState::Running => 1,
                _ => 2,
            };
            let sequence: u64 = summary.job_id.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            // Waiting jobs in the order they will start; the others in the order they came.
            (order, summary.position, sequence)
        });
        summaries
    }

    /// Number of jobs waiting and running.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.state();
        (state.queue.len(), state.running)
    }

    /// Refuses new jobs, cancels every queued and running one, and waits until none runs.
    pub(crate) async fn shut_down(&self) {
        let ids: Vec<String> = {
            let mut state = self.state();
            state.shutting_down = true;
            state.jobs.keys().cloned().collect()
        };
        for id in ids {
            self.cancel(&id);
        }
        loop {
            let idle = self.inner.idle.notified();
            if self.state().running == 0 {
                return;
            }
            idle.await;
        }
    }
}

fn event(id: &str, update: Update) -> JobEvent {
    JobEvent { job_id: id.to_owned(), update }
}

/// Sends an event to the job's watchers and remembers it as the job's latest.
fn publish(state: &mut State, id: &str, update: Update) {
    if let Some(job) = state.jobs.get_mut(id) {
        if let Update::Progress { fraction, .. } = update {
            job.fraction = fraction;
        }
        // A warning is not where the job stands: a client re-attaching gets the last progress.
        let warning = matches!(update, Update::Warning { .. });
        let event = event(id, update);
        let _ = job.events.send(event.clone());
        if !warning {
            job.last_event = event;
        }
    }
}

/// Tells every waiting job its new place in the queue.
fn announce_positions(state: &mut State) {
    for (index, id) in dispatch_order(state).iter().enumerate() {
        publish(state, id, Update::Queued { position: index as u32 + 1 });
    }
}

/// The order waiting jobs will start in: round-robin between clients, so one client's batch of a
/// hundred images does not hold up another's single image. Clients take turns, the one whose last
/// start is oldest first; each client's own jobs keep their order.
fn dispatch_order(state: &State) -> Vec<String> {
    let mut clients: Vec<(u64, usize, &str)> = Vec::new();
    let mut per_client: HashMap<&str, Vec<&String>> = HashMap::new();
    for (arrival, id) in state.queue.iter().enumerate() {
        let Some(job) = state.jobs.get(id) else {
            continue;
        };
        let client = job.client.as_str();
        let jobs = per_client.entry(client).or_default();
        if jobs.is_empty() {
            clients.push((state.last_started.get(client).copied().unwrap_or(0), arrival, client));
        }
        jobs.push(id);
    }
    clients.sort_unstable();
    let mut order = Vec::with_capacity(state.queue.len());
    let mut round = 0;
    while order.len() < state.queue.len() {
        let before = order.len();
        for &(_, _, client) in &clients {
            if let Some(id) = per_client.get(client).and_then(|jobs| jobs.get(round)) {
                order.push((*id).clone());
            }
        }
        if order.len() == before {
            break;
        }
        round += 1;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::budget::Reserved;
    use crate::serve::execute::{CpuFallback, JobModels};
    use threedgpt_engine::{Format, Options};

    fn work(client: &str, gpu: bool) -> JobWork {
        let duck = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/duck.png")).unwrap();
        JobWork {
            client: client.to_owned(),
            name: "duck.png".to_owned(),
            bytes: duck,
            // Seconds of reconstruction: the jobs are still running when the test looks.
            options: Options::default().with_grid_px(2048),
            output: None,
            format: Format::Glb,
            models: JobModels::default(),
            device: if gpu { "gpu".to_owned() } else { "cpu".to_owned() },
            remover: crate::serve::execute::Remover { name: "builtin".to_owned(), ..Default::default() },
            gpu,
            cpu_fallback: None,
            views: Vec::new(),
            sheet: false,
            input_paths: Vec::new(),
            detach: false,
            _reserved: Reserved::default(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn detached_jobs_a_killed_daemon_left_are_listed_as_failed_by_the_next() {
        let folder = tempfile::tempdir().unwrap();
        let journal = folder.path().join("detached-jobs.json");
        let recorder = Arc::new(Recorder::new(None, "no history".to_owned(), folder.path()));
        let queue = JobQueue::new(1, 8, recorder.clone()).with_journal(journal.clone());
        let (running, _) = queue.submit(JobWork { detach: true, ..work("a", false) }).unwrap();
        let (waiting, _) = queue.submit(JobWork { detach: true, ..work("a", false) }).unwrap();
        let (attached, _) = queue.submit(work("a", false)).unwrap();
        // The daemon is killed here: nothing more happens to this queue. A new daemon reads the journal.
        let next = JobQueue::new(1, 8, recorder).with_journal(journal.clone());
        let listed = next.list();
        let ids: Vec<&str> = listed.iter().map(|job| job.job_id.as_str()).collect();
        assert_eq!(ids, [running.as_str(), waiting.as_str()], "only the detached jobs are written down");
        for job in &listed {
            assert_eq!(job.state, JobState::Failed);
            assert!(job.error.contains("the daemon stopped before this job finished"), "{}", job.error);
            assert_eq!(job.source, "duck.png");
        }
        let (latest, _) = next.watch(&waiting).unwrap();
        assert!(matches!(latest.update, Update::Failed { kind: FailureKind::DaemonStopped, .. }), "{latest:?}");
        assert!(next.watch(&attached).is_none());
        // The new daemon has told of them; the journal is empty again.
        assert_eq!(std::fs::read_to_string(&journal).unwrap(), "[]");
        queue.shut_down().await;
    }

    fn states(queue: &JobQueue, ids: &[&String]) -> Vec<JobState> {
        let state = queue.state();
        ids.iter().map(|id| state.jobs[id.as_str()].state).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gpu_jobs_run_one_at_a_time_while_cpu_jobs_use_the_free_workers() {
        let folder = tempfile::tempdir().unwrap();
        let recorder = Arc::new(Recorder::new(None, "no history".to_owned(), folder.path()));
        let queue = JobQueue::new(3, 8, recorder);
        let (first, _) = queue.submit(work("a", true)).unwrap();
        let (second, _) = queue.submit(work("b", true)).unwrap();
        let (cpu, _) = queue.submit(work("c", false)).unwrap();
        assert_eq!(
            states(&queue, &[&first, &second, &cpu]),
            [JobState::Running, JobState::Queued, JobState::Running],
            "the second GPU job waits although a worker is free"
        );
        queue.cancel(&first).unwrap();
        for _ in 0..200 {
            if states(&queue, &[&second])[0] == JobState::Running {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(states(&queue, &[&first, &second]), [JobState::Cancelled, JobState::Running]);
        queue.shut_down().await;
    }

    /// A segmentation model whose GPU is full, as ONNX Runtime's CUDA provider words it.
    #[derive(Debug)]
    struct FullGpu;

    impl threedgpt_engine::Segmenter for FullGpu {
        fn name(&self) -> &str {
            "full-gpu"
        }

        fn segment(&self, _image: &image::RgbaImage) -> Result<threedgpt_engine::SoftMask, String> {
            Err("inference failed: CUDA failure 2: out of memory ; GPU=0".to_owned())
        }
    }

    async fn ending(events: &mut broadcast::Receiver<JobEvent>) -> Vec<Update> {
        let mut seen = Vec::new();
        loop {
            let update = events.recv().await.unwrap().update;
            let terminal = update.is_terminal();
            seen.push(update);
            if terminal {
                return seen;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gpu_out_of_memory_moves_the_job_to_the_cpu_with_a_warning() {
        let folder = tempfile::tempdir().unwrap();
        let recorder = Arc::new(Recorder::new(None, "no history".to_owned(), folder.path()));
        let queue = JobQueue::new(2, 8, recorder);
        // A picture without transparency: the segmenter runs (the duck's alpha would need none).
        let ring = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/ring.jpg")).unwrap();
        let on_gpu = || JobWork {
            name: "ring.jpg".to_owned(),
            bytes: ring.clone(),
            options: Options::default().with_grid_px(96).with_target_faces(2000).with_texture_px(256),
            models: JobModels { segmenter: Some(Arc::new(FullGpu)), ..JobModels::default() },
            ..work("a", true)
        };

        let retried = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = retried.clone();
        let fallback = CpuFallback(Box::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(JobModels::default())
        }));
        let (_, mut events) = queue.submit(JobWork { cpu_fallback: Some(fallback), ..on_gpu() }).unwrap();
        let seen = ending(&mut events).await;
        assert!(matches!(seen.last(), Some(Update::Finished(_))), "{seen:?}");
        let warnings: Vec<&str> = seen
            .iter()
            .filter_map(|update| if let Update::Warning { message } = update { Some(message.as_str()) } else { None })
            .collect();
        assert_eq!(warnings.len(), 1, "{seen:?}");
        assert!(warnings[0].contains("ran out of memory") && warnings[0].contains("CPU"), "{}", warnings[0]);
        assert_eq!(retried.load(std::sync::atomic::Ordering::SeqCst), 1);
        let fractions: Vec<f32> = seen
            .iter()
            .filter_map(|update| if let Update::Progress { fraction, .. } = update { Some(*fraction) } else { None })
            .collect();
        assert!(fractions.windows(2).all(|pair| pair[1] >= pair[0]), "progress never goes back: {fractions:?}");

        // Without a CPU copy to fall back on, the job fails and says why.
        let (_, mut events) = queue.submit(on_gpu()).unwrap();
        let seen = ending(&mut events).await;
        let Some(Update::Failed { message, .. }) = seen.last() else { panic!("{seen:?}") };
        assert!(message.contains("full-gpu") && message.contains("out of memory"), "{message}");
        queue.shut_down().await;
    }
}
