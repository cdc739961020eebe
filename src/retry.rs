//! The one pause between retries: exponential backoff with full jitter.
//!
//! Bottom layer: depends on no other module of the crate, so every layer may use it. A loop that
//! retries after a lost race or a throttled call waits [`backoff`]`(attempt, base, cap)`: a
//! uniformly random time in `[0, min(cap, base * 2^attempt)]`. The randomness spreads competing
//! writers apart (retries at the same moment would collide again); the exponent backs off when
//! the contention lasts; the cap bounds one pause. Each call site chooses `base` and `cap` for
//! its own retry budget (ARCHITECTURE.md, "Retries").

use std::time::Duration;

/// The longest pause before retry `attempt`: `min(cap, base * 2^attempt)` (no overflow: a
/// product past `cap` is `cap`).
pub fn ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    2u32.checked_pow(attempt)
        .and_then(|factor| base.checked_mul(factor))
        .map_or(cap, |d| d.min(cap))
}

/// The pause before retry `attempt` for the random number `random` (any `u64`): uniform in
/// `[0, ceiling(attempt, base, cap)]` at nanosecond resolution. Pure, so its bounds are tested
/// without sleeping.
pub fn delay(attempt: u32, base: Duration, cap: Duration, random: u64) -> Duration {
    let ceiling = ceiling(attempt, base, cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(match nanos.checked_add(1) {
        Some(span) => random % span,
        None => random,
    })
}

/// Sleep before retry `attempt` (the first retry is attempt 1): a uniformly random time in
/// `[0, min(cap, base * 2^attempt)]`, from the OS random source. Should that source fail, the
/// pause is half the ceiling (still bounded, only not spread).
pub async fn backoff(attempt: u32, base: Duration, cap: Duration) {
    let pause = match getrandom::u64() {
        Ok(random) => delay(attempt, base, cap, random),
        Err(_) => ceiling(attempt, base, cap) / 2,
    };
    tokio::time::sleep(pause).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_cap() {
        let cap = 100 * MS;
        assert_eq!(ceiling(0, 10 * MS, cap), 10 * MS);
        assert_eq!(ceiling(1, 10 * MS, cap), 20 * MS);
        assert_eq!(ceiling(3, 10 * MS, cap), 80 * MS);
        assert_eq!(ceiling(4, 10 * MS, cap), cap);
        // No overflow, however large the attempt or the base.
        assert_eq!(ceiling(31, 10 * MS, cap), cap);
        assert_eq!(ceiling(32, 10 * MS, cap), cap);
        assert_eq!(ceiling(u32::MAX, 10 * MS, cap), cap);
        assert_eq!(ceiling(2, Duration::MAX, cap), cap);
        assert_eq!(ceiling(3, Duration::ZERO, cap), Duration::ZERO);
    }

    #[test]
    fn the_delay_covers_zero_to_the_ceiling_and_never_more() {
        let (base, cap) = (20 * MS, 640 * MS);
        for attempt in 0..40 {
            let top = ceiling(attempt, base, cap);
            let top_nanos = u64::try_from(top.as_nanos()).unwrap();
            assert_eq!(delay(attempt, base, cap, 0), Duration::ZERO);
            assert_eq!(
                delay(attempt, base, cap, top_nanos),
                top,
                "the ceiling is reachable"
            );
            assert_eq!(delay(attempt, base, cap, top_nanos + 1), Duration::ZERO);
            for random in [1, 12_345, u64::MAX / 3, u64::MAX - 1, u64::MAX] {
                assert!(
                    delay(attempt, base, cap, random) <= top,
                    "{attempt} {random}"
                );
            }
        }
    }

    #[test]
    fn a_uniform_random_number_gives_a_uniform_delay() {
        // Below the span the random number is the delay itself (in nanoseconds), and the span
        // repeats above it: every value of [0, ceiling] is equally likely, up to a bias of at
        // most one part in 2^64 / span (under 10^-9 for any pause shorter than 10 s).
        let (base, cap) = (5 * MS, 50 * MS);
        let top = u64::try_from(ceiling(2, base, cap).as_nanos()).unwrap();
        for r in [0, 1, top / 3, top / 2, top - 1, top] {
            assert_eq!(delay(2, base, cap, r), Duration::from_nanos(r));
            assert_eq!(delay(2, base, cap, r + top + 1), Duration::from_nanos(r));
        }
    }

    #[test]
    fn a_zero_ceiling_is_no_pause_and_a_huge_one_does_not_overflow() {
        assert_eq!(delay(5, Duration::ZERO, MS, u64::MAX), Duration::ZERO);
        let huge = Duration::MAX;
        assert!(delay(0, huge, huge, u64::MAX) <= huge);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_sleeps_at_most_the_ceiling() {
        for attempt in 1..6 {
            let start = tokio::time::Instant::now();
            backoff(attempt, 10 * MS, 100 * MS).await;
            assert!(start.elapsed() <= ceiling(attempt, 10 * MS, 100 * MS));
        }
    }
}
