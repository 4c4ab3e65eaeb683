//! CPU-bound work (signing, linting) spread over the machine's cores.
//!
//! It runs on scoped threads and blocks the calling worker until all are done: callers hand it
//! batches worth a few milliseconds to tens of milliseconds, where a thread pool's queueing
//! would cost more than it saves.

use crate::AppError;

/// `f` applied to every item, the items split over the cores; the results keep the items'
/// order. One item runs on the calling thread.
pub(crate) fn on_every_core<T, R, F>(items: Vec<T>, f: F) -> Result<Vec<R>, AppError>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() <= 1 || threads == 1 {
        return Ok(items.into_iter().map(f).collect());
    }
    let chunk = items.len().div_ceil(threads);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let part: Vec<T> = items.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        parts.push(part);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        // Every thread is joined before a panic is reported: the scope would panic otherwise.
        let joined: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        let mut out = Vec::new();
        for part in joined {
            out.extend(part.map_err(|_| AppError::Internal("a signing thread panicked".into()))?);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::on_every_core;

    #[test]
    fn results_keep_the_order_of_the_items() {
        for n in [0, 1, 2, 3, 7, 100] {
            let items: Vec<u32> = (0..n).collect();
            let out = on_every_core(items, |i| i * 2).expect("runs");
            assert_eq!(out, (0..n).map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
