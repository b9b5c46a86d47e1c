//! Input devices by stable id, microphones and system-audio sources alike.
//!
//! - Linux (PulseAudio / PipeWire-pulse, through cpal's `pulseaudio` host): every source;
//!   `*.monitor` sources are the system audio of a sink. Without a Pulse server, ALSA inputs.
//! - Windows (WASAPI) and macOS (Core Audio process tap): output devices are offered as system
//!   audio; cpal records them in loopback. Compiled there, untested here (no such machines).

use std::fmt;
use std::str::FromStr;

use cpal::traits::{DeviceTrait, HostTrait};
use serde::{Deserialize, Serialize};

use crate::error::{CaptureError, Result};

/// What a source is to the meeting: the user's microphone ("me", left channel) or what the
/// computer plays ("them", right channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Mic,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Mic => "mic",
            Role::System => "system",
        }
    }
    /// The speaker label of this role's channel in transcripts.
    pub fn speaker(self) -> &'static str {
        match self {
            Role::Mic => "me",
            Role::System => "them",
        }
    }
}

/// Which device the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSpec {
    None,
    /// Whatever the system's default is — also after it changes or disappears.
    Default,
    /// A device id as `tingji devices` prints it (or its exact description).
    Named(String),
}

impl FromStr for DeviceSpec {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<DeviceSpec, Self::Err> {
        Ok(match s.trim() {
            "" | "none" => DeviceSpec::None,
            "default" => DeviceSpec::Default,
            other => DeviceSpec::Named(other.to_string()),
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::None => f.write_str("none"),
            DeviceSpec::Default => f.write_str("default"),
            DeviceSpec::Named(n) => f.write_str(n),
        }
    }
}

/// A device that can be recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Stable id (PulseAudio source name, WASAPI endpoint id, Core Audio UID).
    pub id: String,
    /// Human-readable description.
    pub name: String,
    pub role: Role,
    pub is_default: bool,
    /// Audio system: "PulseAudio", "ALSA", "WASAPI", "CoreAudio".
    pub host: String,
}

/// How a device is opened for recording.
pub(crate) enum Direction {
    Input,
    /// Loopback of an output device (WASAPI, Core Audio).
    #[allow(dead_code)]
    Loopback,
}

fn is_pulse(host: &cpal::Host) -> bool {
    format!("{:?}", host.id()).to_ascii_lowercase().contains("pulse")
}

fn id_of(d: &cpal::Device) -> Option<String> {
    d.id().ok().map(|id| id.id().to_string())
}

fn name_of(d: &cpal::Device) -> String {
    d.description().map(|x| x.name().to_string()).unwrap_or_else(|_| id_of(d).unwrap_or_default())
}

fn all(host: &cpal::Host) -> Result<Vec<(cpal::Device, DeviceInfo, Direction)>> {
    let host_name = format!("{:?}", host.id());
    let pulse = is_pulse(host);
    let default_in = host.default_input_device().and_then(|d| id_of(&d));
    let default_out = host.default_output_device().and_then(|d| id_of(&d));
    let default_monitor = default_out.as_ref().map(|s| format!("{s}.monitor"));
    let devices = host.devices().map_err(|e| CaptureError::HostUnavailable(e.to_string()))?;
    let mut out = Vec::new();
    for d in devices {
        let Some(id) = id_of(&d) else { continue };
        let name = name_of(&d);
        if d.supports_input() {
            let monitor = pulse && id.ends_with(".monitor");
            let role = if monitor { Role::System } else { Role::Mic };
            let is_default = if monitor { Some(&id) == default_monitor.as_ref() } else { Some(&id) == default_in.as_ref() };
            out.push((d, DeviceInfo { id, name, role, is_default, host: host_name.clone() }, Direction::Input));
        } else if cfg!(any(target_os = "windows", target_os = "macos")) && d.supports_output() {
            let is_default = Some(&id) == default_out.as_ref();
            out.push((d, DeviceInfo { id, name, role: Role::System, is_default, host: host_name.clone() }, Direction::Loopback));
        }
    }
    Ok(out)
}

/// Every device that can be recorded, microphones first.
pub fn list() -> Result<Vec<DeviceInfo>> {
    let host = cpal::default_host();
    let mut v: Vec<DeviceInfo> = all(&host)?.into_iter().map(|(_, i, _)| i).collect();
    v.sort_by_key(|d| (d.role == Role::System, !d.is_default, d.id.clone()));
    Ok(v)
}

/// The device `spec` names for `role` (`None` for [`DeviceSpec::None`]).
pub(crate) fn find(host: &cpal::Host, spec: &DeviceSpec, role: Role) -> Result<Option<(cpal::Device, DeviceInfo, Direction)>> {
    if *spec == DeviceSpec::None {
        return Ok(None);
    }
    let candidates: Vec<_> = all(host)?.into_iter().filter(|(_, i, _)| i.role == role).collect();
    let kind = match role {
        Role::Mic => "microphone",
        Role::System => "system-audio",
    };
    let found = match spec {
        DeviceSpec::Default => candidates.into_iter().find(|(_, i, _)| i.is_default).ok_or(CaptureError::NoDefault(kind))?,
        DeviceSpec::Named(n) => {
            let available = candidates.iter().map(|(_, i, _)| i.id.clone()).collect::<Vec<_>>();
            let mut it = candidates.into_iter();
            let hit = it.find(|(_, i, _)| &i.id == n || &i.name == n);
            hit.ok_or_else(|| CaptureError::DeviceNotFound {
                kind,
                name: n.clone(),
                available: if available.is_empty() { "none".into() } else { available.join(", ") },
            })?
        }
        DeviceSpec::None => unreachable!(),
    };
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("none".parse::<DeviceSpec>().unwrap(), DeviceSpec::None);
        assert_eq!("default".parse::<DeviceSpec>().unwrap(), DeviceSpec::Default);
        assert_eq!("sys_out.monitor".parse::<DeviceSpec>().unwrap(), DeviceSpec::Named("sys_out.monitor".into()));
        assert_eq!(DeviceSpec::Named("x".into()).to_string(), "x");
    }
}
