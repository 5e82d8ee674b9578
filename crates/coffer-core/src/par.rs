//! Work over many items on all cores, through rayon (already in the tree
//! through argon2's `parallel` feature), when there are enough items to pay
//! for waking the pool; results in the items' order, or the first error.

use rayon::prelude::*;

/// Below this many items the work runs on the calling thread.
const PARALLEL_FROM: usize = 1_000;

pub(crate) fn map<I: Sync, T: Send, E: Send>(
    items: &[I],
    f: impl Fn(&I) -> Result<T, E> + Sync + Send,
) -> Result<Vec<T>, E> {
    if items.len() < PARALLEL_FROM {
        return items.iter().map(f).collect();
    }
    items.par_iter().map(f).collect()
}

/// [`map`] over owned items.
pub(crate) fn map_owned<I: Send, T: Send, E: Send>(
    items: Vec<I>,
    f: impl Fn(I) -> Result<T, E> + Sync + Send,
) -> Result<Vec<T>, E> {
    if items.len() < PARALLEL_FROM {
        return items.into_iter().map(f).collect();
    }
    items.into_par_iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_and_stops_at_an_error() {
        let items: Vec<u32> = (0..5_000).collect();
        let doubled = map(&items, |i| Ok::<_, ()>(i * 2)).expect("map");
        assert!(doubled.iter().enumerate().all(|(i, d)| *d == 2 * i as u32));
        let failed = map_owned(items, |i| if i == 4_321 { Err(i) } else { Ok(i) });
        assert_eq!(failed, Err(4_321));
    }
}
