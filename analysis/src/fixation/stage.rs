//! How a filter stage is written in TOML: its parameter turns it on, `false` turns it off
//! (`gap_fill_max_ms = false`), since TOML has no null. A missing key keeps the default.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr<T> {
    Off(bool),
    On(T),
}

pub fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Repr::<T>::deserialize(d)? {
        Repr::Off(false) => Ok(None),
        Repr::Off(true) => Err(D::Error::custom(
            "true is not a setting: give the stage's value, or false to turn the stage off",
        )),
        Repr::On(v) => Ok(Some(v)),
    }
}

pub fn serialize<S, T>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
{
    match v {
        Some(v) => v.serialize(s),
        None => s.serialize_bool(false),
    }
}

/// A stage key that may be absent (`None`: the preset's value), off (`Some(None)`, written
/// `false`) or set (`Some(Some(v))`).
pub mod overriding {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        super::deserialize(d).map(Some)
    }

    pub fn serialize<S, T>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        match v {
            Some(stage) => super::serialize(stage, s),
            None => s.serialize_none(),
        }
    }
}
