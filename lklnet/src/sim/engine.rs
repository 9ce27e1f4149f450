//! Runs a topology's experiments, scheduled events and captures together
//! on the calling thread, the only host thread that calls into the
//! kernel: every socket is non-blocking, each activity does what it can
//! and says what it waits for (descriptors, a time), and the thread
//! waits in the kernel's `ppoll` for the first of them. With one host
//! thread, the order of everything is the kernel's; in virtual time a run
//! is the same, packet for packet, every time.
use std::time::{Duration, Instant};

use lkl::sys::{self, PollFd};
use lkl::virtual_time;

use super::capture::Captures;
use super::experiment::{self, Report};
use super::nodes::Nodes;
use super::topology::{Event, Topology};
use crate::aio::{self, now};

/// Something that goes on during a run.
pub trait Activity {
    /// The descriptors it waits on, and for what (`POLLIN`, `POLLOUT`).
    fn watch(&self, fds: &mut Vec<PollFd>);
    /// When it next has something to do, descriptors aside (the kernel's
    /// clock, in seconds).
    fn deadline(&self) -> Option<f64>;
    /// Does what can be done at `now` without waiting; true once done.
    fn step(&mut self, now: f64) -> Result<bool, String>;
}

/// Waiting on `fd` for something to read.
pub fn readable(fd: i32) -> PollFd {
    PollFd {
        fd,
        events: sys::POLLIN,
        revents: 0,
    }
}

/// An experiment under way; its report once done.
pub trait Running: Activity {
    fn report(self: Box<Self>) -> Report;
}

/// The scheduled events, in order of time.
struct Events<'a> {
    nodes: &'a Nodes,
    topology: &'a Topology,
    events: &'a [Event],
    start: f64,
    next: usize,
}

impl Activity for Events<'_> {
    fn watch(&self, _: &mut Vec<PollFd>) {}

    fn deadline(&self) -> Option<f64> {
        self.events
            .get(self.next)
            .map(|e| self.start + e.at.as_secs_f64())
    }

    fn step(&mut self, now: f64) -> Result<bool, String> {
        while let Some(event) = self.events.get(self.next) {
            if now < self.start + event.at.as_secs_f64() {
                return Ok(false);
            }
            self.nodes.apply(self.topology, event)?;
            self.next += 1;
        }
        Ok(true)
    }
}

/// Waits in the kernel until a descriptor of `activities` is ready or
/// the first deadline has come: which activities have something to do.
fn wait(activities: &[&dyn Activity], extra_deadline: Option<f64>) -> Result<Vec<bool>, String> {
    let mut fds = Vec::new();
    let mut ranges = Vec::with_capacity(activities.len());
    for a in activities {
        let start = fds.len();
        a.watch(&mut fds);
        ranges.push(start..fds.len());
    }
    let deadline = activities
        .iter()
        .filter_map(|a| a.deadline())
        .chain(extra_deadline)
        .reduce(f64::min);
    if fds.is_empty() && deadline.is_none() {
        return Err("the experiments wait for nothing that can come".into());
    }
    aio::ppoll_until(&mut fds, deadline).map_err(|e| format!("waiting: {e}"))?;
    let now = now();
    Ok(activities
        .iter()
        .zip(ranges)
        .map(|(a, range)| {
            fds[range].iter().any(|f| f.revents != 0) || a.deadline().is_some_and(|d| d <= now)
        })
        .collect())
}

/// Wall time the virtual clock may stand still while experiments run.
const STILL_MAX: Duration = Duration::from_secs(10);

/// Watches that the clock moves. In virtual time work takes no time, so
/// a stream over links with neither rate nor delay would never see its
/// end: such a run stops with an error instead.
struct Stillness {
    clock: f64,
    since: Instant,
}

impl Stillness {
    fn new() -> Stillness {
        Stillness {
            clock: now(),
            since: Instant::now(),
        }
    }

    fn check(&mut self, now: f64) -> Result<(), String> {
        if now != self.clock {
            self.clock = now;
            self.since = Instant::now();
        } else if virtual_time::active() && self.since.elapsed() > STILL_MAX {
            return Err(format!(
                "in virtual time the clock stood still for {} s of wall time at {now:.6} s: \
                 work takes no virtual time, so a stream over links without a rate or a \
                 delay never ends; give its links one",
                STILL_MAX.as_secs()
            ));
        }
        Ok(())
    }
}

/// Runs the experiments (those with a start time at that time, the others
/// one after another), the events and the captures; the reports, in the
/// topology's order.
pub fn run(
    topology: &Topology,
    nodes: &Nodes,
    mut captures: Option<&mut Captures>,
) -> Result<Vec<Report>, String> {
    let start = now();
    let mut events = Events {
        nodes,
        topology,
        events: &topology.events,
        start,
        next: 0,
    };
    let mut events_done = topology.events.is_empty();
    let count = topology.experiments.len();
    let mut reports: Vec<Option<Report>> = vec![None; count];
    let mut started = vec![false; count];
    let mut running: Vec<(usize, Box<dyn Running + '_>)> = Vec::new();
    // What has something to do: each experiment, the events, the captures.
    let mut due = vec![true; count];
    let (mut events_due, mut captures_due) = (true, true);
    // The experiment without a start time that is under way, if any.
    let mut in_sequence: Option<usize> = None;
    let mut still = Stillness::new();
    loop {
        let now = now();
        still.check(now)?;
        for (i, scheduled) in topology.experiments.iter().enumerate() {
            if started[i] {
                continue;
            }
            let due = match scheduled.start {
                Some(at) => now >= start + at.as_secs_f64(),
                None => {
                    in_sequence.is_none()
                        && !(0..i).any(|j| topology.experiments[j].start.is_none() && !started[j])
                }
            };
            if due {
                started[i] = true;
                if scheduled.start.is_none() {
                    in_sequence = Some(i);
                }
                running.push((i, experiment::start(nodes, &scheduled.experiment, now)?));
            }
        }
        let mut finished = false;
        let mut k = 0;
        while k < running.len() {
            let i = running[k].0;
            if !std::mem::take(&mut due[i]) {
                k += 1;
                continue;
            }
            if running[k].1.step(now)? {
                let (i, done) = running.remove(k);
                reports[i] = Some(done.report());
                if in_sequence == Some(i) {
                    in_sequence = None;
                }
                finished = true;
            } else {
                k += 1;
            }
        }
        if !events_done && std::mem::take(&mut events_due) {
            events_done = events.step(now)?;
        }
        if let Some(captures) = captures.as_deref_mut().filter(|_| captures_due) {
            captures_due = false;
            captures.step(now)?;
        }
        if reports.iter().all(Option::is_some) && events_done {
            break;
        }
        if finished {
            // The next in sequence may start now.
            continue;
        }
        let next_start = topology
            .experiments
            .iter()
            .zip(&started)
            .filter(|(_, s)| !**s)
            .filter_map(|(e, _)| e.start.map(|at| start + at.as_secs_f64()))
            .reduce(f64::min);
        let mut waiting: Vec<&dyn Activity> = running
            .iter()
            .map(|(_, r)| r.as_ref() as &dyn Activity)
            .collect();
        if !events_done {
            waiting.push(&events);
        }
        if let Some(captures) = captures.as_deref() {
            waiting.push(captures);
        }
        let ready = wait(&waiting, next_start)?;
        for ((i, _), ready) in running.iter().zip(&ready) {
            due[*i] = *ready;
        }
        let mut rest = ready[running.len()..].iter();
        if !events_done {
            events_due = *rest.next().unwrap_or(&true);
        }
        captures_due = *rest.next().unwrap_or(&true);
    }
    Ok(reports
        .into_iter()
        .map(|r| r.expect("every experiment ran"))
        .collect())
}

/// Lets the captures go on for `seconds` more, then takes what they
/// hold.
pub fn linger(captures: &mut Captures, seconds: f64) -> Result<(), String> {
    let end = now() + seconds;
    loop {
        let now = now();
        captures.step(now)?;
        if now >= end {
            return Ok(());
        }
        wait(&[&*captures], Some(end))?;
    }
}
