//! A model of transaction conflicts on the tenant's counter, to choose [`COUNTER_SHARDS`].
//!
//! moto serialises requests and never answers `TransactionConflict`, so the conflict rate cannot
//! be measured against it; this deterministic, seeded simulation stands in (ARCHITECTURE.md,
//! "Counter shards"). The model:
//! - creates and deletes of one tenant arrive as a Poisson process of `rate` writes/s;
//! - each transaction adds to one shard, chosen uniformly at random when it is built (the same
//!   shard on every send of it, as `send_tx` sends the same items again);
//! - DynamoDB holds the item for the transaction's duration, [`HOLD`] (15 ms: the two-phase
//!   commit of a 5-item transaction, in-region); a send that touches it meanwhile is cancelled
//!   with `TransactionConflict`;
//! - a cancelled send is sent again after [`super::pause`] (full jitter, 10 ms doubling to a
//!   100 ms cap), at most [`CONFLICT_ATTEMPTS`] sends, then the request is answered 503.
//!
//! Only the counter is modelled: the other items of a create (user, guards, audit record) are
//! the request's own, and two writes of one user conflict on the user item whatever the counter.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use super::keys::COUNTER_SHARDS;
use super::{CONFLICT_ATTEMPTS, PAUSE_BASE, PAUSE_CAP};
use crate::retry;

/// How long a transaction holds the items it writes.
const HOLD: Duration = Duration::from_millis(15);

/// What one simulated run gives.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    writes: u64,
    /// Writes whose first send was cancelled by a conflict.
    first_try_conflicts: u64,
    /// Writes cancelled on every send: answered 503.
    unavailable: u64,
}

impl Outcome {
    fn first_try_rate(&self) -> f64 {
        self.first_try_conflicts as f64 / self.writes as f64
    }
    fn unavailable_rate(&self) -> f64 {
        self.unavailable as f64 / self.writes as f64
    }
}

/// splitmix64: a small, seeded, well-mixed generator (the model must be reproducible).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

/// `writes` writes at `rate` per second over `shards` shards.
fn simulate(rate: f64, shards: u32, writes: u64, seed: u64) -> Outcome {
    let mut rng = Rng(seed);
    // Events (time in ns, write, send number, shard), earliest first.
    let mut events = BinaryHeap::new();
    let mut t = 0.0_f64;
    for w in 0..writes {
        t += -rng.unit().ln() / rate; // exponential inter-arrival times
        let shard = (rng.next() % u64::from(shards)) as usize;
        events.push(Reverse(((t * 1e9) as u64, w, 1u32, shard)));
    }
    let hold = HOLD.as_nanos() as u64;
    let mut busy_until = vec![0u64; shards as usize];
    let mut out = Outcome {
        writes,
        first_try_conflicts: 0,
        unavailable: 0,
    };
    while let Some(Reverse((at, w, send, shard))) = events.pop() {
        if at >= busy_until[shard] {
            busy_until[shard] = at + hold;
            continue;
        }
        if send == 1 {
            out.first_try_conflicts += 1;
        }
        if send == CONFLICT_ATTEMPTS {
            out.unavailable += 1;
            continue;
        }
        let pause = retry::delay(send, PAUSE_BASE, PAUSE_CAP, rng.next()).as_nanos() as u64;
        events.push(Reverse((at + pause, w, send + 1, shard)));
    }
    out
}

/// Ten simulated minutes at 100 writes/s: enough events for a rate near 1 % to be read to a
/// tenth of a percent.
const WRITES: u64 = 60_000;

#[test]
fn one_counter_item_reproduces_the_queue_the_issue_describes() {
    // The single item of before: at 25 writes/s (the IPSIE profile's per-tenant rate) about a
    // third of first sends conflict and some requests run out of sends.
    let at25 = simulate(25.0, 1, WRITES, 1);
    let at50 = simulate(50.0, 1, WRITES, 2);
    eprintln!(
        "1 shard: 25/s {at25:?} first {:.3} 503 {:.4}; 50/s {at50:?} first {:.3} 503 {:.4}",
        at25.first_try_rate(),
        at25.unavailable_rate(),
        at50.first_try_rate(),
        at50.unavailable_rate()
    );
    assert!(at25.first_try_rate() > 0.25, "{at25:?}");
    assert!(at25.unavailable_rate() > 0.005, "{at25:?}");
    assert!(
        at50.unavailable_rate() > at25.unavailable_rate(),
        "{at50:?}"
    );
}

#[test]
fn sharded_counter_conflicts_below_one_percent_at_100_writes_per_second() {
    for seed in [7, 8, 9] {
        let o = simulate(100.0, COUNTER_SHARDS, WRITES, seed);
        eprintln!(
            "{COUNTER_SHARDS} shards, 100/s, seed {seed}: {o:?} first {:.4} 503 {:.6}",
            o.first_try_rate(),
            o.unavailable_rate()
        );
        assert!(o.first_try_rate() < 0.01, "{o:?}");
        // A write must conflict on all four sends to be answered 503: at most a few in
        // 100,000 (one in 60,000 for seed 7; the single item gave 4 %).
        assert!(o.unavailable_rate() < 1e-4, "{o:?}");
    }
    // And the margin: still below 1 % at 150 writes/s.
    let o = simulate(150.0, COUNTER_SHARDS, WRITES, 10);
    eprintln!(
        "{COUNTER_SHARDS} shards, 150/s: first {:.4}",
        o.first_try_rate()
    );
    assert!(o.first_try_rate() < 0.01, "{o:?}");
}

#[test]
fn the_simulation_is_deterministic_and_grows_with_the_rate() {
    let a = simulate(100.0, 16, 10_000, 3);
    let b = simulate(100.0, 16, 10_000, 3);
    assert_eq!(
        (a.first_try_conflicts, a.unavailable),
        (b.first_try_conflicts, b.unavailable)
    );
    let slow = simulate(10.0, 16, 10_000, 3);
    assert!(
        slow.first_try_conflicts < a.first_try_conflicts,
        "{slow:?} {a:?}"
    );
    // Poisson arrivals on one of 16 shards held 15 ms: about 1 - exp(-100/16 * 0.015) = 9 %.
    assert!((0.06..0.12).contains(&a.first_try_rate()), "{a:?}");
}
