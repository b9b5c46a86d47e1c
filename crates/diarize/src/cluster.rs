//! Clustering of voice embeddings into speakers.
//!
//! Measured on the shared AMI and VoxConverse clips (see the crate docs): cosine similarities
//! between *different* speakers' CAM++ centroids are 0.5–0.7 because all embeddings share a
//! large common component, so a plain cosine threshold either merges everyone or splits a voice.
//! Subtracting the recording's mean embedding first makes the speakers' directions distinct;
//! average-linkage agglomerative clustering then finds the count over a wide range of thresholds
//! (0.8–1.0 gave the same result on both clips), and clusters of fewer than `min_size` windows
//! (spurious fragments) join their nearest large cluster.

/// L2-normalises `v` in place (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 1e-12 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Groups of embeddings whose average plain cosine similarity is above 0.6 are one speaker.
/// Measured with the true speakers on the shared clips: the same speaker's windows average
/// 0.77–0.85, different speakers' centroids 0.47–0.71, so this bound alone over-merges
/// (it is only an upper bound on the count), while it keeps a lone voice in one piece.
pub const UNCENTRED_DISTANCE: f32 = 0.4;

/// How many speakers to find.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    /// Estimated from the data (distance threshold), kept within `min..=max`.
    Estimate { min: usize, max: usize },
    /// Exactly this many (fewer if there are fewer embeddings).
    Exact(usize),
}

/// Average-linkage agglomerative clustering of unit vectors on cosine distance, O(n²) with the
/// nearest-neighbour chain. Returns the merges as (a, b, distance) over point indices.
fn average_linkage(x: &[Vec<f32>]) -> Vec<(usize, usize, f32)> {
    let n = x.len();
    let mut d = vec![0f32; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let v = 1.0 - dot(&x[i], &x[j]);
            d[i * n + j] = v;
            d[j * n + i] = v;
        }
    }
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut left = n;
    let mut chain: Vec<usize> = Vec::new();
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    while left > 1 {
        if chain.is_empty() {
            chain.push((0..n).find(|&i| active[i]).expect("an active cluster"));
        }
        let a = *chain.last().expect("chain");
        let prev = chain.len().checked_sub(2).map(|i| chain[i]);
        // Nearest active neighbour; on a tie prefer the chain's previous element.
        let mut best = (f32::INFINITY, usize::MAX);
        for b in (0..n).filter(|&b| active[b] && b != a) {
            let v = d[a * n + b];
            if v < best.0 || (v == best.0 && Some(b) == prev) {
                best = (v, b);
            }
        }
        let b = best.1;
        if Some(b) == prev {
            chain.pop();
            chain.pop();
            merges.push((a, b, best.0));
            // Lance–Williams update for average linkage; `a` becomes the merged cluster.
            let (na, nb) = (size[a] as f32, size[b] as f32);
            for k in (0..n).filter(|&k| active[k] && k != a && k != b) {
                let v = (na * d[a * n + k] + nb * d[b * n + k]) / (na + nb);
                d[a * n + k] = v;
                d[k * n + a] = v;
            }
            size[a] += size[b];
            active[b] = false;
            left -= 1;
        } else {
            chain.push(b);
        }
    }
    merges.sort_by(|p, q| p.2.total_cmp(&q.2));
    merges
}

fn find(p: &mut [usize], mut i: usize) -> usize {
    while p[i] != i {
        p[i] = p[p[i]];
        i = p[i];
    }
    i
}

/// Cluster labels `0..k` for unit vectors `x`.
pub fn cluster(x: &[Vec<f32>], count: Count, threshold: f32, min_size: usize) -> Vec<usize> {
    let n = x.len();
    if n <= 1 {
        return vec![0; n];
    }
    // Centre on the recording's mean voice, then back to unit length.
    let dim = x[0].len();
    let mut mean = vec![0f32; dim];
    for v in x {
        mean.iter_mut().zip(v).for_each(|(m, a)| *m += a / n as f32);
    }
    let centred: Vec<Vec<f32>> = x
        .iter()
        .map(|v| {
            let mut c: Vec<f32> = v.iter().zip(&mean).map(|(a, m)| a - m).collect();
            normalize(&mut c);
            c
        })
        .collect();
    let merges = average_linkage(&centred);
    let target = match count {
        Count::Exact(k) => k.clamp(1, n),
        Count::Estimate { min, max } => {
            let by_threshold = n - merges.iter().filter(|m| m.2 <= threshold).count();
            // Centring needs several voices to mean anything: with one voice (or a few windows)
            // it turns noise into directions, and two windows of one speaker become antipodal
            // (JFK's 11 s came out as two speakers). So never find more speakers than plain
            // cosine distance does at UNCENTRED_DISTANCE.
            let plain = average_linkage(x);
            let by_plain = n - plain.iter().filter(|m| m.2 <= UNCENTRED_DISTANCE).count();
            by_threshold.min(by_plain).clamp(min.max(1), max.max(min).max(1).min(n))
        }
    };
    let mut parent: Vec<usize> = (0..n).collect();
    for &(a, b, _) in merges.iter().take(n - target) {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        parent[rb] = ra;
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut labels = relabel(&roots);
    if matches!(count, Count::Estimate { .. }) {
        let k = labels.iter().max().map_or(0, |m| m + 1);
        let mut sizes = vec![0usize; k];
        labels.iter().for_each(|&l| sizes[l] += 1);
        let large: Vec<usize> = (0..k).filter(|&c| sizes[c] >= min_size).collect();
        let min_k = match count {
            Count::Estimate { min, .. } => min,
            Count::Exact(_) => 0,
        };
        if !large.is_empty() && large.len() < k && large.len() >= min_k {
            let cents = centroids(&centred, &labels, k);
            for l in labels.iter_mut() {
                if sizes[*l] < min_size {
                    *l = *large.iter().max_by(|&&a, &&b| dot(&cents[a], &cents[*l]).total_cmp(&dot(&cents[b], &cents[*l]))).expect("large");
                }
            }
            labels = relabel(&labels);
        }
    }
    labels
}

fn relabel(ids: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    ids.iter()
        .map(|i| {
            let next = map.len();
            *map.entry(*i).or_insert(next)
        })
        .collect()
}

/// Unit-length mean of each label's vectors.
pub fn centroids(x: &[Vec<f32>], labels: &[usize], k: usize) -> Vec<Vec<f32>> {
    let dim = x.first().map_or(0, Vec::len);
    let mut c = vec![vec![0f32; dim]; k];
    for (v, &l) in x.iter().zip(labels) {
        c[l].iter_mut().zip(v).for_each(|(s, a)| *s += a);
    }
    c.iter_mut().for_each(|v| normalize(v));
    c
}

/// Maximum-weight assignment of rows to distinct columns (rows ≤ columns), by the Hungarian
/// method on costs `-w`. Returns each row's column.
pub fn assign_distinct(w: &[Vec<f32>]) -> Vec<usize> {
    let n = w.len();
    let m = w.first().map_or(0, Vec::len);
    if n == 0 || m == 0 {
        return vec![0; n];
    }
    assert!(n <= m, "more rows than columns");
    // Potentials-based O(n² m) Hungarian algorithm (1-indexed helper arrays).
    let cost = |i: usize, j: usize| -(w[i - 1][j - 1] as f64);
    let (mut u, mut v) = (vec![0f64; n + 1], vec![0f64; m + 1]);
    let (mut p, mut way) = (vec![0usize; m + 1], vec![0usize; m + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost(i0, j) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0; n];
    for j in 1..=m {
        if p[j] > 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalize(&mut v);
        v
    }

    #[test]
    fn hungarian_finds_the_best_distinct_assignment() {
        let w = vec![vec![0.9, 0.8, 0.1], vec![0.85, 0.2, 0.1]];
        // Greedy would give both rows column 0; the best distinct pairing is 1 → 0, 0 → 1.
        assert_eq!(assign_distinct(&w), vec![1, 0]);
        assert_eq!(assign_distinct(&[vec![0.1, 0.5]]), vec![1]);
    }

    #[test]
    fn three_voices_around_a_common_component_are_three_clusters() {
        // A shared component (as CAM++ has: different voices 0.5–0.7 similar) plus one
        // direction per speaker, with noise.
        let mut x = Vec::new();
        let mut truth = Vec::new();
        let mut seed = 7u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for s in 0..3 {
            for _ in 0..12 {
                let mut v = vec![0f32; 8];
                v[0] = 1.2;
                v[1 + s] = 1.0;
                v.iter_mut().for_each(|a| *a += 0.2 * noise());
                x.push(unit(&v));
                truth.push(s);
            }
        }
        let l = cluster(&x, Count::Estimate { min: 1, max: 10 }, 0.9, 3);
        assert_eq!(l.iter().max(), Some(&2), "{l:?}");
        for s in 0..3 {
            let first = l[s * 12];
            assert!(l[s * 12..(s + 1) * 12].iter().all(|&v| v == first), "{l:?}");
        }
        assert_eq!(cluster(&x, Count::Exact(2), 0.9, 3).iter().max(), Some(&1));
        assert_eq!(cluster(&x[..1], Count::Estimate { min: 1, max: 10 }, 0.9, 3), vec![0]);
        // One voice in a few windows stays one speaker (centring alone splits two windows).
        let one: Vec<Vec<f32>> = (0..3).map(|i| unit(&[3.0, 1.0 + 0.05 * i as f32, 0.2, 0.1])).collect();
        assert_eq!(cluster(&one, Count::Estimate { min: 1, max: 10 }, 0.9, 3), vec![0, 0, 0]);
        assert_eq!(cluster(&one[..2], Count::Estimate { min: 1, max: 10 }, 0.9, 3), vec![0, 0]);
    }
}
