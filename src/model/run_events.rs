//! A run's lifecycle as the original `sw.report` reporter told it: `start`/`stop` of the
//! run, `newChild`/`endChild` at each worker's first and last activity, and per job a
//! `jobStart` and a `jobFinish` (with the time taken) or `jobFail` (with the error).
//! Built from test records or OCT transactions; rendering and delivery live elsewhere.

use super::{Status, TestRecord};

/// The event types, spelled as the original reporter sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    Start,
    NewChild,
    JobStart,
    JobFinish,
    JobFail,
    EndChild,
    Stop,
}

impl EventType {
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

/// One event. `time` is seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub kind: EventType,
    pub time: f64,
    /// The worker (`ChildID`): a subunit `worker-N` tag or route code, an OCT turret.
    pub child: Option<String>,
    /// The job: a test id, or `transaction` for OCT rows.
    pub func: Option<String>,
    /// Seconds, on `jobFinish` and `jobFail` when both ends are known.
    pub timetaken: Option<f64>,
    /// The test's status (`success`, `skip`, `fail`, ...), on job end events.
    pub status: Option<&'static str>,
    /// `jobFail`: the last line of the traceback (or OCT's error text) ...
    pub error: Option<String>,
    /// ... and the whole traceback.
    pub traceback: Option<String>,
    /// OCT custom timers of the transaction (name, seconds), in their order.
    pub timers: Vec<(String, f64)>,
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
            timers: Vec::new(),
        }
    }
}

/// Collects job events and derives the run and worker events around them.
#[derive(Debug, Default)]
pub struct EventLog {
    jobs: Vec<RunEvent>,
    /// Records without any timestamp cannot be placed in time.
    pub untimed: u64,
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
        let child = worker_of(r);
        let secs = |t: super::Timestamp| t.as_nanos() as f64 / 1e9;
        let mut begin = RunEvent::new(EventType::JobStart, secs(start));
        begin.child = Some(child.clone());
        begin.func = Some(r.id.clone());
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
        end.func = Some(r.id.clone());
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
    pub fn add_transaction(
        &mut self,
        time: f64,
        child: &str,
        timetaken: f64,
        error: Option<&str>,
        timers: Vec<(String, f64)>,
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
        e.child = Some(child.to_owned());
        e.func = Some("transaction".to_owned());
        e.timetaken = Some(timetaken);
        e.status = Some(if failed { "fail" } else { "success" });
        e.error = error.filter(|e| !e.is_empty()).map(str::to_owned);
        e.timers = timers;
        self.jobs.push(e);
    }

    /// Every event in time order: `start`, each worker's `newChild` at its first
    /// activity, the jobs, each `endChild` at its last, `stop`.
    pub fn finish(self) -> Vec<RunEvent> {
        let mut jobs = self.jobs;
        let (Some(first), Some(last)) = (
            jobs.iter().map(|e| e.time).min_by(f64::total_cmp),
            jobs.iter().map(|e| e.time).max_by(f64::total_cmp),
        ) else {
            return Vec::new();
        };
        let mut children: Vec<(String, f64, f64)> = Vec::new();
        for e in &jobs {
            let c = e.child.as_deref().unwrap_or("0");
            match children.iter_mut().find(|(n, _, _)| n == c) {
                Some(x) => {
                    x.1 = x.1.min(e.time);
                    x.2 = x.2.max(e.time);
                }
                None => children.push((c.to_owned(), e.time, e.time)),
            }
        }
        let mut out = Vec::with_capacity(jobs.len() + 2 * children.len() + 2);
        out.push(RunEvent::new(EventType::Start, first));
        for (name, a, b) in children {
            let mut n = RunEvent::new(EventType::NewChild, a);
            n.child = Some(name.clone());
            out.push(n);
            let mut e = RunEvent::new(EventType::EndChild, b);
            e.child = Some(name);
            out.push(e);
        }
        out.append(&mut jobs);
        out.push(RunEvent::new(EventType::Stop, last));
        // stable: jobs keep their input order among equal times
        out.sort_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.kind.rank().cmp(&b.kind.rank()))
        });
        out
    }
}
