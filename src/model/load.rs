//! Load-test runs (OCT): transactions as time series of response times, one for all
//! transactions and one per custom timer, plus the workload (turret) table. Values are
//! kept in epoch order with OCT's tie order (rowid order among equal epochs).

/// The name OCT gives the series of every transaction's `scriptrun_time`.
pub const ALL_TRANSACTIONS: &str = "All transactions";

/// One series: response times (seconds) at instants (nanoseconds since the Unix epoch,
/// UTC), sorted by time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The series' name (a timer, or `All transactions`).
    pub name: String,
    /// When each value was taken.
    pub times_ns: Vec<i64>,
    /// The values, in seconds.
    pub values: Vec<f64>,
}

/// One row of OCT's `turret` table, as the report shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Turret {
    /// The turret's name.
    pub name: String,
    /// Its uuid.
    pub uuid: String,
    /// Its number of cannons.
    pub cannons: String,
    /// Its script.
    pub script: String,
    /// Its ramp-up.
    pub rampup: String,
    /// Its status as OCT kept it (the first one seen).
    pub status: String,
    /// When it last reported.
    pub updated_at: String,
}

/// What a results database holds, ready for the statistics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadRun {
    /// Rows in the `result` table (each one a transaction, failed or not).
    pub transactions: u64,
    /// Rows whose `error` is neither NULL nor empty.
    pub errors: u64,
    /// (row, timer) entries over all rows.
    pub timer_points: u64,
    /// `All transactions` first, then one per custom timer in order of first appearance.
    pub series: Vec<Series>,
    /// The `turret` table.
    pub turrets: Vec<Turret>,
    /// Rows left out of every series because their epoch or `scriptrun_time` is not a
    /// usable number (counted in `transactions` all the same).
    pub bad_rows: u64,
    /// Timer entries left out because their value is not a number.
    pub bad_timer_values: u64,
    /// Rows whose `custom_timers` is NULL or not a JSON object (kept without timers).
    pub bad_timer_rows: u64,
    /// The first few problems, for the log and the report.
    pub problems: Vec<String>,
}

impl LoadRun {
    /// First and last instant over all transactions.
    pub fn span_ns(&self) -> Option<(i64, i64)> {
        let all = self.series.first()?;
        Some((*all.times_ns.first()?, *all.times_ns.last()?))
    }
}

/// Seconds since the epoch (as OCT stores them, possibly fractional) to nanoseconds the
/// way pandas converts them: whole seconds, plus the fraction rounded to nanoseconds.
/// `None` when the value is not finite or out of range.
pub fn epoch_to_ns(epoch: f64) -> Option<i64> {
    if !epoch.is_finite() || epoch.abs() >= 9.2e9 {
        return None;
    }
    let secs = epoch.trunc();
    let frac = ((epoch - secs) * 1e9).round() as i64;
    Some(secs as i64 * 1_000_000_000 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_convert_to_nanoseconds() {
        assert_eq!(epoch_to_ns(1795355496.0), Some(1_795_355_496_000_000_000));
        assert_eq!(epoch_to_ns(1700000000.25), Some(1_700_000_000_250_000_000));
        // 1700000000.1 is not exact in binary: within the double's spacing (238 ns)
        assert!((epoch_to_ns(1700000000.1).unwrap() - 1_700_000_000_100_000_000).abs() < 240);
        assert_eq!(epoch_to_ns(f64::NAN), None);
        assert_eq!(epoch_to_ns(1e300), None);
    }
}
