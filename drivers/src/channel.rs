//! The bounded channel from a tracker's producing thread to the recorder.
//!
//! A real-time producer must never block (for Tobii it runs on the SDK's callback thread), so
//! when the channel is full the sample is counted as dropped and the recorder writes a
//! `samples_dropped` event. A virtual-time producer is never late, so it waits instead and
//! loses nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::sample::GazeSample;

/// Something the tracker reports besides samples.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerEvent {
    pub ts_us: i64,
    /// One of the recording format's event kinds (`tracker_lost`, `tracker_back`, `note`, ...).
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub enum TrackerMessage {
    Sample(GazeSample),
    Event(TrackerEvent),
}

/// The receiving side has gone away; the producer should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

#[derive(Debug, Clone)]
pub struct SampleSender {
    tx: Sender<TrackerMessage>,
    dropped: Arc<AtomicU64>,
}

#[derive(Debug, Clone)]
pub struct SampleReceiver {
    rx: Receiver<TrackerMessage>,
    dropped: Arc<AtomicU64>,
}

/// A channel holding at most `capacity` messages.
pub fn sample_channel(capacity: usize) -> (SampleSender, SampleReceiver) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    (
        SampleSender {
            tx,
            dropped: Arc::clone(&dropped),
        },
        SampleReceiver { rx, dropped },
    )
}

impl SampleSender {
    /// Real-time send: never blocks; a full channel drops the sample and counts it.
    pub fn try_push(&self, sample: GazeSample) -> Result<(), Disconnected> {
        match self.tx.try_send(TrackerMessage::Sample(sample)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Disconnected(_)) => Err(Disconnected),
        }
    }

    /// Virtual-time send: waits for room, so nothing is lost.
    pub fn push_wait(&self, sample: GazeSample) -> Result<(), Disconnected> {
        self.tx
            .send(TrackerMessage::Sample(sample))
            .map_err(|_| Disconnected)
    }

    /// Sends by the pacing of the producer's clock: waits on virtual clocks, drops on real ones.
    pub fn push(&self, sample: GazeSample, virtual_time: bool) -> Result<(), Disconnected> {
        if virtual_time {
            self.push_wait(sample)
        } else {
            self.try_push(sample)
        }
    }

    /// Events are rare and must not be lost; this waits for room.
    pub fn event(&self, event: TrackerEvent) -> Result<(), Disconnected> {
        self.tx
            .send(TrackerMessage::Event(event))
            .map_err(|_| Disconnected)
    }
}

impl SampleReceiver {
    pub fn inner(&self) -> &Receiver<TrackerMessage> {
        &self.rx
    }

    /// Samples dropped so far because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::EyeSample;

    fn sample(ts: i64) -> GazeSample {
        GazeSample {
            system_ts_us: ts,
            device_ts_us: ts,
            left: EyeSample::INVALID,
            right: EyeSample::INVALID,
        }
    }

    #[test]
    fn full_channel_counts_drops_without_blocking() {
        let (tx, rx) = sample_channel(2);
        for t in 0..5 {
            tx.try_push(sample(t)).unwrap();
        }
        assert_eq!(rx.dropped(), 3);
        assert_eq!(rx.inner().len(), 2);
    }

    #[test]
    fn disconnected_receiver_is_reported() {
        let (tx, rx) = sample_channel(2);
        drop(rx);
        assert_eq!(tx.try_push(sample(0)), Err(Disconnected));
        assert_eq!(tx.push_wait(sample(0)), Err(Disconnected));
    }
}
