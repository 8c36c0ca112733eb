//! Health metrics: one sample, and the one-minute rollups kept for a day.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::inventory::BatteryStatus;

/// One health sample of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricSample {
    /// When the sample was taken.
    pub timestamp: DateTime<Utc>,
    /// Seconds since the previous sample: the window that rates and CPU
    /// usage are averaged over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<f64>,
    /// CPU usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUsage>,
    /// Load average (Unix only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<LoadAverage>,
    /// Memory and swap use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryUsage>,
    /// Space on each volume.
    #[serde(default)]
    pub volumes: Vec<VolumeUsage>,
    /// Throughput of each network interface.
    #[serde(default)]
    pub network: Vec<NetworkThroughput>,
    /// Number of processes (threads not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_count: Option<u32>,
    /// The processes using the most CPU, highest first (processes that
    /// used none in the window are not listed).
    #[serde(default)]
    pub top_cpu: Vec<ProcessUsage>,
    /// The processes using the most memory, highest first.
    #[serde(default)]
    pub top_memory: Vec<ProcessUsage>,
    /// Temperature sensors.
    #[serde(default)]
    pub temperatures: Vec<Temperature>,
    /// Battery charge.
    #[serde(default)]
    pub batteries: Vec<BatteryCharge>,
}

/// CPU usage over the sample window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CpuUsage {
    /// All cores together, 0–100.
    pub usage_percent: f32,
    /// Each logical core, 0–100.
    #[serde(default)]
    pub per_core_percent: Vec<f32>,
}

/// Unix load average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoadAverage {
    /// Over one minute.
    pub one: f64,
    /// Over five minutes.
    pub five: f64,
    /// Over fifteen minutes.
    pub fifteen: f64,
}

/// Memory and swap use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryUsage {
    /// Physical memory in bytes.
    pub total_bytes: u64,
    /// Memory in use in bytes.
    pub used_bytes: u64,
    /// Memory available to new programs without swapping, in bytes.
    pub available_bytes: u64,
    /// Swap in bytes.
    pub swap_total_bytes: u64,
    /// Swap in use in bytes.
    pub swap_used_bytes: u64,
}

/// Space on one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VolumeUsage {
    /// Mount point.
    pub mount_point: String,
    /// Size in bytes.
    pub total_bytes: u64,
    /// Space available to unprivileged users, in bytes.
    pub free_bytes: u64,
}

/// Throughput of one network interface over the sample window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkThroughput {
    /// Interface name.
    pub interface: String,
    /// Bytes received per second.
    pub rx_bytes_per_sec: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_sec: f64,
}

/// Resource use of one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcessUsage {
    /// Process id.
    pub pid: u32,
    /// Process name.
    pub name: String,
    /// CPU use over the sample window, in percent of one core.
    pub cpu_percent: f32,
    /// Resident memory in bytes.
    pub memory_bytes: u64,
}

/// One temperature sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Temperature {
    /// Sensor label.
    pub label: String,
    /// Current temperature in °C.
    pub celsius: f32,
    /// Temperature the hardware considers critical, in °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_celsius: Option<f32>,
}

/// Charge of one battery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BatteryCharge {
    /// Battery name.
    pub name: String,
    /// Charge in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f32>,
    /// Charging state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BatteryStatus>,
}

/// One minute of samples, condensed: what the device did, kept for a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricRollup {
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    /// Number of samples condensed into this minute.
    pub samples: u32,
    /// Average CPU usage, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_avg_percent: Option<f32>,
    /// Highest CPU usage seen, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_max_percent: Option<f32>,
    /// Average one-minute load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_one_avg: Option<f64>,
    /// Average memory in use, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_avg_bytes: Option<u64>,
    /// Highest memory in use, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_max_bytes: Option<u64>,
    /// Highest swap in use, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_used_max_bytes: Option<u64>,
    /// Lowest free space on any volume, percent of that volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_volume_free_percent: Option<f32>,
    /// Average bytes received per second, all interfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_rx_avg_bytes_per_sec: Option<f64>,
    /// Average bytes sent per second, all interfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_tx_avg_bytes_per_sec: Option<f64>,
    /// Highest temperature seen on any sensor, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_max_celsius: Option<f32>,
    /// Lowest battery charge seen, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_min_percent: Option<f32>,
}
