//! The one retry policy: exponential backoff with jitter, capped delay and attempts (for
//! fetching inputs and for every destination).

use std::time::Duration;

/// How often and how far apart to try again.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Tries in all, the first included.
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(5),
            attempts: 6,
        }
    }
}

impl Backoff {
    /// The wait before retry number `n` (1-based): doubling from `first`, capped at
    /// `max`, with up to 25 % jitter so that many clients do not retry in step.
    pub fn delay(&self, n: u32) -> Duration {
        let base = self
            .first
            .saturating_mul(1u32 << n.saturating_sub(1).min(16))
            .min(self.max);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jitter = base.mul_f64(f64::from(nanos % 1000) / 4000.0);
        base + jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_secs(1),
            attempts: 5,
        };
        let d1 = b.delay(1);
        assert!(
            d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(125),
            "{d1:?}"
        );
        let d3 = b.delay(3);
        assert!(
            d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(500),
            "{d3:?}"
        );
        let d10 = b.delay(10);
        assert!(
            d10 >= Duration::from_secs(1) && d10 <= Duration::from_millis(1250),
            "{d10:?}"
        );
    }
}
