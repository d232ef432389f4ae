//! Event markers to external equipment (EEG amplifiers, physiological recorders) over a serial
//! port: one configurable byte per event kind, written the moment the event happens, with the
//! write's duration measured so the recording can hold when the byte left.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarkerConfig {
    /// Serial device, e.g. /dev/ttyUSB0.
    pub port: String,
    pub baud: u32,
    /// Event kind (`stimulus_onset`, `stimulus_offset`, `trial_start`, …) → byte code.
    pub codes: BTreeMap<String, u8>,
}

impl Default for MarkerConfig {
    fn default() -> Self {
        let codes = [
            ("stimulus_onset".to_string(), 1u8),
            ("stimulus_offset".to_string(), 2u8),
        ]
        .into();
        MarkerConfig {
            port: String::new(),
            baud: 115_200,
            codes,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("serial port {port}: {message}")]
    Open { port: String, message: String },
    #[error("serial port {port}: writing marker {code}: {message}")]
    Write {
        port: String,
        code: u8,
        message: String,
    },
}

/// A marker that was sent: when the write started and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentMarker {
    pub ts_us: i64,
    pub code: u8,
    pub write_us: i64,
}

pub struct MarkerPort {
    name: String,
    port: Box<dyn serialport::SerialPort>,
    codes: BTreeMap<String, u8>,
}

impl MarkerPort {
    pub fn open(cfg: &MarkerConfig) -> Result<MarkerPort, MarkerError> {
        let port = serialport::new(&cfg.port, cfg.baud)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| MarkerError::Open {
                port: cfg.port.clone(),
                message: e.to_string(),
            })?;
        Ok(MarkerPort {
            name: cfg.port.clone(),
            port,
            codes: cfg.codes.clone(),
        })
    }

    /// The code configured for an event kind, if any.
    pub fn code_for(&self, kind: &str) -> Option<u8> {
        self.codes.get(kind).copied()
    }

    /// Sends the marker for `kind` (if one is configured), time-stamped on `clock`.
    pub fn send(
        &mut self,
        kind: &str,
        clock: &dyn Clock,
    ) -> Result<Option<SentMarker>, MarkerError> {
        let Some(code) = self.code_for(kind) else {
            return Ok(None);
        };
        let t0 = clock.now_us();
        let r = self
            .port
            .write_all(&[code])
            .and_then(|()| self.port.flush());
        let t1 = clock.now_us();
        r.map_err(|e| MarkerError::Write {
            port: self.name.clone(),
            code,
            message: e.to_string(),
        })?;
        Ok(Some(SentMarker {
            ts_us: t0,
            code,
            write_us: t1 - t0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MonotonicClock;
    use serialport::{SerialPort, TTYPort};
    use std::io::Read;

    #[test]
    fn markers_arrive_on_the_other_end_of_a_pty_and_the_latency_is_measured() {
        let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal pair");
        let name = slave.name().expect("the slave's path");
        let cfg = MarkerConfig {
            port: name,
            ..MarkerConfig::default()
        };
        let mut port = MarkerPort::open(&cfg).unwrap();
        let clock = MonotonicClock;
        let mut lat = Vec::new();
        for k in 0..50 {
            let kind = if k % 2 == 0 {
                "stimulus_onset"
            } else {
                "stimulus_offset"
            };
            let m = port.send(kind, &clock).unwrap().unwrap();
            lat.push(m.write_us);
            let mut b = [0u8; 1];
            master.set_timeout(Duration::from_secs(1)).unwrap();
            master.read_exact(&mut b).unwrap();
            assert_eq!(b[0], if k % 2 == 0 { 1 } else { 2 });
        }
        assert_eq!(
            port.send("note", &clock).unwrap(),
            None,
            "unconfigured kinds send nothing"
        );
        lat.sort_unstable();
        eprintln!(
            "marker write latency µs: median {}, max {}",
            lat[lat.len() / 2],
            lat[lat.len() - 1]
        );
        assert!(lat[lat.len() / 2] < 5_000);
    }

    #[test]
    fn a_missing_port_is_a_clear_error() {
        let cfg = MarkerConfig {
            port: "/dev/does-not-exist".into(),
            ..MarkerConfig::default()
        };
        let e = MarkerPort::open(&cfg).err().unwrap().to_string();
        assert!(e.starts_with("serial port /dev/does-not-exist:"), "{e}");
    }
}
