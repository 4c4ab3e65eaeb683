//! Subscriber key generation on the server, as a server-side pickup makes it
//! (`signet_pki::subscriber_key::generate`, aws-lc-rs), one key at a time: the figure beside
//! which `scripts/bench-browser-keys` puts WebCrypto in Chromium and `openssl genpkey`.
//!
//!   cargo bench -p signet-pki --bench keygen [-- KEYS]
//!
//! Prints one line per key type: `TYPE MEDIAN_MS P90_MS MEAN_MS`.

use std::time::Instant;

use signet_domain::key::SubscriberKeyType;
use signet_pki::subscriber_key::generate;

fn main() {
    let keys: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    for key_type in SubscriberKeyType::ALL {
        let mut millis: Vec<f64> = (0..keys)
            .map(|_| {
                let start = Instant::now();
                generate(key_type).expect("key generation");
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        millis.sort_by(f64::total_cmp);
        let mean = millis.iter().sum::<f64>() / millis.len() as f64;
        println!(
            "{} {:.2} {:.2} {mean:.2}",
            key_type.as_str(),
            millis[millis.len() / 2],
            millis[millis.len() * 9 / 10],
        );
    }
}
