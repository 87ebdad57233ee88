//! A run's lifecycle as the original `sw.report` reporter told it: `start`/`stop` of the
//! run, `newChild`/`endChild` at each worker's first and last activity, and per job a
//! `jobStart` and a `jobFinish` (with the time taken) or `jobFail` (with the error).
//! Built from test records or OCT transactions; rendering and delivery live elsewhere.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Status, TestRecord};

/// The event types, spelled as the original reporter sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// The run starts.
    Start,
    /// A worker starts.
    NewChild,
    /// A test starts.
    JobStart,
    /// A test (or transaction) passes.
    JobFinish,
    /// A test (or transaction) fails.
    JobFail,
    /// A worker ends.
    EndChild,
    /// The run ends.
    Stop,
}

impl EventType {
    /// The type as the events spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Start => "start",
            EventType::Stop => "stop",
            EventType::NewChild => "newChild",
            EventType::EndChild => "endChild",
            EventType::JobStart => "jobStart",
            EventType::JobFinish => "jobFinish",
            EventType::JobFail => "jobFail",
        }
    }

    /// Among events at the same instant: the run opens before a worker, a worker before
    /// its jobs, a job's start before its end, and the closing ones in reverse.
    fn rank(self) -> u8 {
        match self {
            EventType::Start => 0,
            EventType::NewChild => 1,
            EventType::JobStart => 2,
            EventType::JobFinish | EventType::JobFail => 3,
            EventType::EndChild => 4,
            EventType::Stop => 5,
        }
    }
}

/// One event. `time` is seconds since the Unix epoch. Names that repeat (workers,
/// `transaction`, timer names, a test id on its start and end) are shared, not copied:
/// a million-row run stays small.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    /// What happened.
    pub kind: EventType,
    /// When (seconds since the Unix epoch).
    pub time: f64,
    /// The worker (`ChildID`): a subunit `worker-N` tag or route code, an OCT turret.
    pub child: Option<Arc<str>>,
    /// The job: a test id, or `transaction` for OCT rows.
    pub func: Option<Arc<str>>,
    /// Seconds, on `jobFinish` and `jobFail` when both ends are known.
    pub timetaken: Option<f64>,
    /// The test's status (`success`, `skip`, `fail`, ...), on job end events.
    pub status: Option<&'static str>,
    /// `jobFail`: the last line of the traceback (or OCT's error text) ...
    pub error: Option<String>,
    /// ... and the whole traceback.
    pub traceback: Option<String>,
    /// OCT custom timers of the transaction (name, seconds), in their order.
    pub timers: Box<[(Arc<str>, f64)]>,
}

impl RunEvent {
    fn new(kind: EventType, time: f64) -> RunEvent {
        RunEvent {
            kind,
            time,
            child: None,
            func: None,
            timetaken: None,
            status: None,
            error: None,
            traceback: None,
            timers: Box::default(),
        }
    }
}

/// Collects job events and derives the run and worker events around them.
#[derive(Debug, Default)]
pub struct EventLog {
    jobs: Vec<RunEvent>,
    /// Records without any timestamp cannot be placed in time.
    pub untimed: u64,
    /// Worker, job and timer names seen so far, each kept once.
    names: HashMap<Box<str>, Arc<str>>,
}

/// The worker of a test record: its `worker-N` tag, else its route code, else `0`.
pub fn worker_of(r: &TestRecord) -> String {
    r.tags
        .iter()
        .find(|t| t.starts_with("worker-"))
        .cloned()
        .or_else(|| r.route_code.clone())
        .unwrap_or_else(|| "0".to_owned())
}

impl EventLog {
    /// The shared copy of a name that repeats.
    fn name(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.names.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.names.insert(s.into(), a.clone());
        a
    }

    /// A test record: `jobStart` at its first timestamp, then `jobFinish` or `jobFail`
    /// at its last. `error`: the last traceback line and the whole traceback, for
    /// failures (the caller decodes attachments).
    pub fn add_record(&mut self, r: &TestRecord, error: Option<(String, String)>) {
        if !r.runnable && r.status != Status::Fail {
            return;
        }
        let (Some(start), stop) = (r.start.or(r.stop), r.stop.or(r.start)) else {
            self.untimed += 1;
            return;
        };
        let stop = stop.unwrap_or(start);
        let child = self.name(&worker_of(r));
        let func: Arc<str> = Arc::from(r.id.as_str());
        let secs = |t: super::Timestamp| t.as_nanos() as f64 / 1e9;
        let mut begin = RunEvent::new(EventType::JobStart, secs(start));
        begin.child = Some(child.clone());
        begin.func = Some(func.clone());
        let failed = r.status.is_failure();
        let mut end = RunEvent::new(
            if failed {
                EventType::JobFail
            } else {
                EventType::JobFinish
            },
            secs(stop),
        );
        end.child = Some(child);
        end.func = Some(func);
        end.timetaken = r.duration_secs();
        end.status = Some(r.status.as_str());
        if failed {
            let (last, full) = error.unwrap_or_default();
            end.error = Some(if last.is_empty() {
                r.status.as_str().to_owned()
            } else {
                last
            });
            end.traceback = (!full.is_empty()).then_some(full);
        }
        self.jobs.push(begin);
        self.jobs.push(end);
    }

    /// One `jobFinish` (or `jobFail` when its error is set) per OCT transaction, at its
    /// epoch, with `timetaken` = `scriptrun_time` and its timers.
    pub fn add_transaction<S: AsRef<str>>(
        &mut self,
        time: f64,
        child: &str,
        timetaken: f64,
        error: Option<&str>,
        timers: impl IntoIterator<Item = (S, f64)>,
    ) {
        let failed = error.is_some_and(|e| !e.is_empty());
        let mut e = RunEvent::new(
            if failed {
                EventType::JobFail
            } else {
                EventType::JobFinish
            },
            time,
        );
        e.child = Some(self.name(child));
        e.func = Some(self.name("transaction"));
        e.timetaken = Some(timetaken);
        e.status = Some(if failed { "fail" } else { "success" });
        e.error = error.filter(|e| !e.is_empty()).map(str::to_owned);
        e.timers = timers
            .into_iter()
            .map(|(n, v)| (self.name(n.as_ref()), v))
            .collect();
        self.jobs.push(e);
    }

    /// Every event in time order: `start`, each worker's `newChild` at its first
    /// activity, the jobs, each `endChild` at its last, `stop`.
    pub fn finish(self) -> Vec<RunEvent> {
        assert!(
            self.jobs.len() < (u32::MAX / 2) as usize,
            "more than two billion events cannot be held in memory anyway"
        );
        let mut events = self.jobs;
        let (Some(first), Some(last)) = (
            events.iter().map(|e| e.time).min_by(f64::total_cmp),
            events.iter().map(|e| e.time).max_by(f64::total_cmp),
        ) else {
            return Vec::new();
        };
        let mut children: Vec<(Arc<str>, f64, f64)> = Vec::new();
        let mut at: HashMap<Arc<str>, usize> = HashMap::new();
        let unnamed: Arc<str> = Arc::from("0");
        for e in &events {
            let c = e.child.as_ref().unwrap_or(&unnamed);
            match at.get(c) {
                Some(&i) => {
                    let x = &mut children[i];
                    x.1 = x.1.min(e.time);
                    x.2 = x.2.max(e.time);
                }
                None => {
                    at.insert(c.clone(), children.len());
                    children.push((c.clone(), e.time, e.time));
                }
            }
        }
        events.reserve_exact(2 * children.len() + 2);
        // the run and worker events first: at equal rank and time they come first
        let derived = std::iter::once(RunEvent::new(EventType::Start, first))
            .chain(children.into_iter().flat_map(|(name, a, b)| {
                let mut n = RunEvent::new(EventType::NewChild, a);
                n.child = Some(name.clone());
                let mut e = RunEvent::new(EventType::EndChild, b);
                e.child = Some(name);
                [n, e]
            }))
            .chain(std::iter::once(RunEvent::new(EventType::Stop, last)));
        let jobs = events.len();
        events.extend(derived);
        let n = events.len();
        // sorted as (time, rank, position) keys: a stable sort of the events themselves
        // would need half their size again as scratch; the order is then applied in
        // place. Derived events (stored after the jobs) come first at equal rank.
        let position = |i: usize| if i >= jobs { i - jobs } else { i + (n - jobs) };
        let mut keys: Vec<(u64, u64)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    total_order_bits(e.time),
                    (u64::from(e.kind.rank()) << 32) | position(i) as u64,
                )
            })
            .collect();
        keys.sort_unstable();
        let mut order: Vec<u32> = keys
            .into_iter()
            .map(|(_, k)| {
                let p = (k & u64::from(u32::MAX)) as usize;
                (if p >= n - jobs {
                    p - (n - jobs)
                } else {
                    p + jobs
                }) as u32
            })
            .collect();
        permute(&mut events, &mut order);
        events
    }
}

/// `f64::total_cmp`'s order as unsigned integers.
fn total_order_bits(x: f64) -> u64 {
    let b = x.to_bits() as i64;
    ((b ^ ((((b >> 63) as u64) >> 1) as i64)) as u64) ^ (1 << 63)
}

/// Reorders `v` in place so that `v[i]` becomes the old `v[order[i]]`; `order` is
/// used up.
fn permute<T>(v: &mut [T], order: &mut [u32]) {
    for i in 0..v.len() {
        let mut cur = i;
        while order[cur] as usize != i {
            let next = order[cur] as usize;
            v.swap(cur, next);
            order[cur] = cur as u32;
            cur = next;
        }
        order[cur] = cur as u32;
    }
}
