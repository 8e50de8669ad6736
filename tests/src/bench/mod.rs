//! The instruments behind the benchmark programs in `src/bin/bench-*.rs`.
//!
//! - [`stats`]: latency statistics and the median of repeated runs (this machine is
//!   noisy and shared, so every reported number is the median of several runs).
//! - [`tcp`]: a closed-loop TCP load generator on one thread (epoll through a
//!   single-threaded tokio runtime), comparable to `redis-benchmark`: on a 2-core machine
//!   a thread per connection would make the client itself the bottleneck.
//! - [`peers`]: the programs labsocket is compared with (`redis-server`,
//!   `redis-benchmark`), found or reported missing with the command that installs them.
//! - [`process`]: file-descriptor limits and a process's resident memory.
//! - [`mqtt`]: federated labsocket hosts and a raw MQTT 5 client, for `bench-federation`
//!   and `sim-federation`.

pub mod mqtt;
pub mod peers;
pub mod process;
pub mod stats;
pub mod tcp;

pub use stats::{median_of, micros, RunStats};
