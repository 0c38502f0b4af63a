//! `sagafs-drain-bench [ROUNDS]`: how fast the daemon takes records from
//! the rings into retention, the path every record travels while capture
//! runs.
//!
//! Each round the device double writes 4096 records of the benchmark mix
//! (`mix`) into its two rings (4 MiB each, so none is dropped), then the
//! collector's two steps are timed: the consumer's drain of every ring
//! into one reused item buffer, and the publish of those items into
//! retention (64 MiB, the default: it fills and evicts as in a long run).
//! Filling the rings is not timed.  Prints records per second and
//! nanoseconds per record for the drain, the publish and both, over
//! ROUNDS (default 500) rounds.

use std::time::{Duration, Instant};

use sagafs::daemon::hub::Hub;
use sagafs::device::double::{DeviceDouble, Outcome};
use sagafs::device::Backend;
use sagafs::record::Items;
use sagafs_tests::mix;

const PER_ROUND: u64 = 4096;

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROUNDS: a number"))
        .unwrap_or(500);
    let dev = DeviceDouble::new(2, 4096);
    let hub = Hub::new(64 << 20);
    let mut consumer = dev.map().expect("map the double's rings");
    let mut items = Items::new();
    let (mut t, mut i) = (1_795_300_201_000_000_000u64, 0u64);
    let (mut drain, mut publish, mut n) = (Duration::ZERO, Duration::ZERO, 0u64);
    for _ in 0..rounds {
        for _ in 0..PER_ROUND {
            i += 1;
            t += 1000;
            let o = dev.inject(mix::record(i, t));
            assert!(matches!(o, Outcome::Logged { .. }), "the rings overflowed");
        }
        let start = Instant::now();
        items.clear();
        let got = consumer.drain(&mut items);
        let drained = Instant::now();
        hub.publish(&items);
        publish += drained.elapsed();
        drain += drained - start;
        assert_eq!(got as u64, PER_ROUND, "a drain missed records");
        n += got as u64;
    }
    let r = hub.retention.lock();
    assert_eq!(r.next(), n, "retention did not get every record");
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    println!(
        "{n} records ({} retained, {} evicted)",
        r.len(),
        r.evicted_entries()
    );
    for (what, d) in [
        ("drain", drain),
        ("publish", publish),
        ("drain+publish", drain + publish),
    ] {
        println!(
            "{what:>14}: {:>10.0} records/s  {:>6.0} ns/record",
            rate(d),
            per(d)
        );
    }
    let stats = consumer.stats();
    assert_eq!((stats.records, stats.dropped, stats.resyncs), (n, 0, 0));
}
