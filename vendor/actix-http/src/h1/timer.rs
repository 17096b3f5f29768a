use std::{fmt, future::Future, pin::Pin, task::Context};

use tokio::time::{sleep_until, Instant, Sleep};
use tracing::trace;

/// One of the dispatcher's timers (head, keep-alive, shutdown).
///
/// wikidex patch (timer reuse): upstream boxes a new `Sleep` every time a
/// timer is set and drops it when the timer is cleared, so a keep-alive
/// connection allocated, registered, deregistered and freed a timer entry
/// per request. Here a timer keeps its `Sleep` when cleared and moves it
/// with `Sleep::reset` when set again; tokio only records a later deadline
/// (no timer-wheel work) and re-files the entry when the earlier one comes
/// due. A cleared timer that still comes due merely wakes the connection,
/// which then finds the timer inactive and does nothing.
#[derive(Debug)]
pub(super) struct TimerState {
    enabled: bool,
    active: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl TimerState {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            active: false,
            sleep: None,
        }
    }

    pub(super) fn is_enabled(&self) -> bool {
        self.enabled || self.active
    }

    pub(super) fn is_active(&self) -> bool {
        self.active
    }

    /// The running timer, if it is set.
    pub(super) fn active_mut(&mut self) -> Option<Pin<&mut Sleep>> {
        match &mut self.sleep {
            Some(sleep) if self.active => Some(sleep.as_mut()),
            _ => None,
        }
    }

    /// Sets the timer to `deadline` and registers the task to be woken then.
    pub(super) fn set_and_init(&mut self, cx: &mut Context<'_>, deadline: Instant, line: u32) {
        if !self.enabled {
            trace!("setting disabled timer from line {}", line);
        }

        let sleep = match &mut self.sleep {
            // Deadlines come from actix's coarse clock (the date service,
            // updated every 500 ms), so most requests set the deadline the
            // timer already has; it is still filed, with this task's waker.
            Some(sleep) if sleep.deadline() == deadline => {
                self.active = true;
                return;
            }
            Some(sleep) => {
                sleep.as_mut().reset(deadline);
                sleep
            }
            None => self.sleep.insert(Box::pin(sleep_until(deadline))),
        };
        self.active = true;
        let _ = sleep.as_mut().poll(cx);
    }

    pub(super) fn clear(&mut self, line: u32) {
        if !self.enabled {
            trace!("trying to clear a disabled timer from line {}", line);
        }

        if !self.active {
            trace!("trying to clear an inactive timer from line {}", line);
        }

        self.active = false;
    }
}

impl fmt::Display for TimerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sleep {
            _ if !self.is_enabled() => f.write_str("timer is disabled"),
            Some(timer) if self.active => {
                let deadline = timer.deadline();
                let now = Instant::now();

                if deadline < now {
                    f.write_str("timer is active and has reached deadline")
                } else {
                    write!(
                        f,
                        "timer is active and due to expire in {} milliseconds",
                        ((deadline - now).as_secs_f32() * 1000.0)
                    )
                }
            }
            _ => f.write_str("timer is inactive"),
        }
    }
}
