//! File → speaker turns, streamed: decode → 10 s windows every `step` → segmentation → voice
//! embeddings of each window's local speakers → clustering → overlap-aware reconstruction.
//!
//! Memory: the audio held is one window plus one step; per window only its frame activity (one
//! byte per frame and local speaker) and its embeddings are kept (≈ 2.5 KB per second of audio
//! at the default step, ~60 MB for six hours); clustering uses at most `MAX_CLUSTERED`
//! embeddings (a uniform subsample beyond that) so its O(n²) matrix stays bounded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use tingji_media::{AudioStream, ChannelMode, DecodeOptions, TARGET_RATE, file_identity};

use crate::checkpoint::{Checkpoint, Position, Restored};
use crate::cluster::{self, Count, dot};
use crate::models::{Embedder, ModelPaths, POWERSET, Segmenter};
use crate::{Diarization, DiarizeError, Event, SpeakerProfile, Turn};

/// Everything that shapes a diarization.
#[derive(Debug, Clone)]
pub struct DiarizeOptions {
    pub threads: usize,
    /// Samples between window starts (16 000 = 1 s, pyannote's 10 %).
    pub step: usize,
    /// Embed every n-th window's speakers; the windows between inherit them by activity overlap.
    /// 1 (every window) by default: every 3rd was 2.5× cheaper but estimated the count less
    /// reliably (AMI 11.9 % vs 11.0 %, VoxConverse 14.7 % vs 12.6 % at a 5 s `embed_max`); every
    /// 2nd, 11.9 % on both at 8 s.
    pub embed_every: usize,
    /// Longest stretch of one local speaker's speech that is embedded (samples). 8 s: VoxConverse
    /// DER 13.8 % at 3 s, 12.6 % at 5 s, 12.1 % at 7 s, 11.7 % at 8 s, 12.4 % at 9 and 10 s (AMI
    /// 11.0 % from 5 to 8 s); each second costs about 5 % more time.
    pub embed_max: usize,
    /// Speaker count: estimated (within bounds) or given.
    pub count: Count,
    /// Cosine distance (after centring) under which clusters merge.
    pub threshold: f32,
    /// Clusters of fewer windows than this join the nearest larger one.
    pub min_cluster: usize,
    /// Gaps shorter than this inside one speaker's speech are filled (ms).
    pub fill_gap_ms: u64,
    pub decode: DecodeOptions,
    /// Where a file's progress is kept so a killed or cancelled run resumes
    /// ([`checkpoint_path`](crate::checkpoint_path)); removed once the diarization is done.
    pub checkpoint: Option<PathBuf>,
}

impl Default for DiarizeOptions {
    fn default() -> Self {
        DiarizeOptions {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            step: 16_000,
            embed_every: 1,
            embed_max: 8 * 16_000,
            count: Count::Estimate { min: 1, max: 20 },
            threshold: 0.9,
            min_cluster: 3,
            fill_gap_ms: 500,
            decode: DecodeOptions::default(),
            checkpoint: None,
        }
    }
}

/// Embeddings used for clustering at most (a uniform subsample beyond).
const MAX_CLUSTERED: usize = 3000;
/// A local speaker needs this many single-speaker frames (~1 s) for its embedding to count as
/// reliable enough to shape the clusters (shorter ones are only assigned to them).
const RELIABLE_FRAMES: usize = 60;
/// Fewer active frames than this (~0.17 s) and a local speaker is ignored.
const MIN_FRAMES: usize = 10;
/// Windows segmented per inference call.
const BATCH: usize = 4;
/// A local speaker whose stretch covers this much of the same audio as one the previous window
/// embedded takes that embedding (0.8 let a few stretches pass for their neighbours: VoxConverse
/// 12.1 % instead of 11.7 %; 0.9 computes 17 % fewer embeddings there with the same result).
const SAME_STRETCH: f64 = 0.9;

/// One window's result, kept until the end.
pub(crate) struct WindowRec {
    pub start: u64,
    /// Per frame, bit k set when local speaker k is active (argmax of the powerset).
    pub active: Vec<u8>,
    /// Per frame and local speaker, the marginal probability of being active, in 1/255.
    pub soft: Vec<[u8; 3]>,
    /// Embedding index of each local speaker (None: inactive or too short).
    pub emb: [Option<usize>; 3],
}

pub(crate) struct Emb {
    /// Unit length; empty until its batch is embedded, and for ever when the stretch was too short.
    pub v: Vec<f32>,
    /// Single-speaker frames it was computed from (0 for an inherited one).
    pub clean: usize,
}

/// Speaker-embedding sessions at most (one per thread).
const MAX_EMBEDDERS: usize = 4;

pub struct Diarizer {
    seg: Segmenter,
    /// One single-threaded CAM++ session per thread: a window batch's embeddings run side by
    /// side. (One session with two intra-op threads kept a 2-core machine 70 % busy: CAM++ on a
    /// few seconds of audio does not split well inside one run.)
    emb: Vec<Embedder>,
    /// The two model files' sizes and times: a checkpoint of other models is not resumed.
    models: String,
}

/// Embeddings made by one thread: (index into `embs`, the embedding if the stretch was long enough).
type Embedded = Vec<(usize, Option<Vec<f32>>)>;

/// A stretch of speech to embed into `embs[index]`.
struct EmbedJob {
    index: usize,
    samples: Vec<f32>,
}

impl Diarizer {
    pub fn load(models: &ModelPaths, threads: usize) -> Result<Diarizer, DiarizeError> {
        let seg = Segmenter::load(&models.segmentation, threads)?;
        let emb = (0..threads.clamp(1, MAX_EMBEDDERS)).map(|_| Embedder::load(&models.embedding, 1)).collect::<Result<_, _>>()?;
        let models = format!("{}|{}", file_identity(&models.segmentation), file_identity(&models.embedding));
        Ok(Diarizer { seg, emb, models })
    }

    /// The embedding of a stretch of speech (unit length), for voiceprints.
    pub fn embed(&mut self, samples: &[f32]) -> Result<Option<Vec<f32>>, DiarizeError> {
        self.emb[0].embed(samples)
    }

    /// Runs the queued embeddings, spread over the sessions (one thread each), into `embs`.
    fn run_jobs(&mut self, jobs: &mut Vec<EmbedJob>, embs: &mut [Emb]) -> Result<(), DiarizeError> {
        let n = self.emb.len().min(jobs.len());
        if n == 0 {
            return Ok(());
        }
        // Longest first, each thread taking the next job when it is free: the stretches range
        // from half a second to `embed_max`, and a fixed split left one thread idle.
        jobs.sort_by_key(|j| std::cmp::Reverse(j.samples.len()));
        let jobs_ref: &[EmbedJob] = jobs;
        let next = AtomicUsize::new(0);
        let next = &next;
        let done: Vec<Result<Embedded, DiarizeError>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .emb
                .iter_mut()
                .take(n)
                .map(|e| {
                    s.spawn(move || {
                        let mut out = Vec::new();
                        while let Some(j) = jobs_ref.get(next.fetch_add(1, Ordering::Relaxed)) {
                            out.push((j.index, e.embed(&j.samples)?));
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(DiarizeError::Inference("an embedding thread panicked".into()))))
                .collect()
        });
        for part in done {
            for (i, v) in part? {
                embs[i].v = v.unwrap_or_default();
            }
        }
        jobs.clear();
        Ok(())
    }

    pub fn diarize_file(
        &mut self,
        path: &Path,
        opts: &DiarizeOptions,
        on_event: &mut dyn FnMut(Event),
        cancel: &Arc<AtomicBool>,
    ) -> Result<Diarization, DiarizeError> {
        self.diarize_decoded(path, ChannelMode::Mono, 0, opts, on_event, cancel)
    }

    /// Diarizes one channel of `path` (a recording's system or mic side).
    pub fn diarize_channel(
        &mut self,
        path: &Path,
        channel: usize,
        opts: &DiarizeOptions,
        on_event: &mut dyn FnMut(Event),
        cancel: &Arc<AtomicBool>,
    ) -> Result<Diarization, DiarizeError> {
        self.diarize_decoded(path, ChannelMode::Separate, channel, opts, on_event, cancel)
    }

    /// Decodes `path` as `mode` and diarizes its channel `channel`.
    fn diarize_decoded(
        &mut self,
        path: &Path,
        mode: ChannelMode,
        channel: usize,
        opts: &DiarizeOptions,
        on_event: &mut dyn FnMut(Event),
        cancel: &Arc<AtomicBool>,
    ) -> Result<Diarization, DiarizeError> {
        let mut dopts = opts.decode.clone();
        dopts.channels = mode;
        let mut stream = AudioStream::open(path, &dopts)?;
        let total_ms = stream.info().duration_ms;
        let resume = match &opts.checkpoint {
            Some(cp) => {
                let key = format!(
                    "{}|{}|{mode:?}|{channel}|{}|{}|{}|{}",
                    path.display(),
                    file_identity(path),
                    opts.step,
                    opts.embed_every,
                    opts.embed_max,
                    self.models
                );
                match Checkpoint::open(cp, &key) {
                    Ok((cp, restored)) => {
                        if !restored.recs.is_empty() && !restored.at.all_read() {
                            stream.skip_to(restored.at.next_start)?;
                        }
                        Some((cp, restored))
                    }
                    // Not resumable (a full or read-only disk) is no reason to fail.
                    Err(e) => {
                        tracing::warn!(path = %cp.display(), error = %e, "no diarization checkpoint");
                        None
                    }
                }
            }
            None => None,
        };
        let mut source = StreamSource { stream, channel };
        self.run(&mut source, total_ms, opts, resume, on_event, cancel)
    }

    /// Diarizes 16 kHz audio pulled from `source` (`total_ms` only feeds progress and ETA).
    pub fn diarize(
        &mut self,
        source: &mut dyn AudioSource,
        total_ms: Option<u64>,
        opts: &DiarizeOptions,
        on_event: &mut dyn FnMut(Event),
        cancel: &Arc<AtomicBool>,
    ) -> Result<Diarization, DiarizeError> {
        self.run(source, total_ms, opts, None, on_event, cancel)
    }

    /// [`diarize`](Self::diarize), resuming from and appending to a checkpoint when given (the
    /// source then starts at the checkpoint's next window).
    fn run(
        &mut self,
        source: &mut dyn AudioSource,
        total_ms: Option<u64>,
        opts: &DiarizeOptions,
        resume: Option<(Checkpoint, Restored)>,
        on_event: &mut dyn FnMut(Event),
        cancel: &Arc<AtomicBool>,
    ) -> Result<Diarization, DiarizeError> {
        let started = Instant::now();
        let win = self.seg.window;
        let step = opts.step.clamp(1600, win) as u64;
        let (mut checkpoint, restored) = match resume {
            Some((c, r)) => (Some(c), r),
            None => (None, Restored::default()),
        };
        let at = restored.at;
        let mut recs: Vec<WindowRec> = restored.recs;
        let mut embs: Vec<Emb> = restored.embs;
        if !recs.is_empty() {
            on_event(Event::Resumed { from_ms: at.next_start * 1000 / TARGET_RATE as u64, windows: recs.len() });
        }
        let mut buf: Vec<f32> = Vec::new();
        let mut buf_start: u64 = at.next_start;
        let mut next_start: u64 = at.next_start;
        // A run that had taken every window reads nothing more; otherwise the source starts at
        // `next_start` and `total` counts on from there.
        let mut eof = at.all_read();
        let mut total: u64 = if eof { at.end.unwrap_or(at.next_start) } else { at.next_start };
        let mut batch_audio: Vec<f32> = Vec::with_capacity(BATCH * win);
        let mut batch_starts: Vec<u64> = Vec::new();
        let mut last_embedded: Option<usize> = at.last_embedded;
        let mut jobs: Vec<EmbedJob> = Vec::new();
        let mut frames = at.frames;
        // End of the last window taken: windows start every `step` while they fit; at the end
        // one more (zero-padded) window covers what is left.
        let mut last_end: u64 = at.last_end;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(DiarizeError::Cancelled);
            }
            // Fill the buffer until the next window is complete (or the audio ends).
            while !eof && buf_start + (buf.len() as u64) < next_start + win as u64 {
                match source.next(&mut buf)? {
                    0 => eof = true,
                    n => total += n as u64,
                }
            }
            let have_window = next_start + win as u64 <= total || (eof && last_end < total);
            if have_window {
                let off = (next_start - buf_start) as usize;
                let end = (off + win).min(buf.len());
                batch_audio.extend_from_slice(&buf[off..end]);
                batch_audio.resize(batch_starts.len() * win + win, 0.0);
                batch_starts.push(next_start);
                last_end = next_start + win as u64;
                next_start += step;
            }
            let flush = batch_starts.len() == BATCH || (!have_window && !batch_starts.is_empty());
            if flush {
                let n = batch_starts.len();
                let (logp, t) = self.seg.run(&batch_audio, n)?;
                frames = t;
                let first = recs.len();
                let first_emb = embs.len();
                for (b, &ws) in batch_starts.iter().enumerate() {
                    let rec = self.window_record(ws, &logp[b * t * 7..(b + 1) * t * 7], t);
                    let off = (ws - buf_start) as usize;
                    let audio = &buf[off.min(buf.len())..(off + win).min(buf.len())];
                    let (rec, more) = self.embed_window(rec, audio, &recs, &mut embs, &mut last_embedded, opts);
                    recs.push(rec);
                    jobs.extend(more);
                }
                self.run_jobs(&mut jobs, &mut embs)?;
                // A stretch the embedder found too short leaves its local speaker unembedded.
                for r in &mut recs[first..] {
                    for e in &mut r.emb {
                        if e.is_some_and(|i| embs[i].v.is_empty()) {
                            *e = None;
                        }
                    }
                }
                batch_audio.clear();
                batch_starts.clear();
                if let Some(cp) = checkpoint.as_mut() {
                    let at = Position { next_start, last_end, frames, last_embedded, end: eof.then_some(total) };
                    if let Err(e) = cp.append(&recs[first..], &embs[first_emb..], at) {
                        tracing::warn!(error = %e, "diarization checkpoint not written; going on without it");
                        if let Some(cp) = checkpoint.take() {
                            cp.finish();
                        }
                    }
                }
                let done_ms = (next_start.min(total)) * 1000 / TARGET_RATE as u64;
                let el = started.elapsed().as_millis() as u64;
                let eta_ms = total_ms.filter(|_| done_ms > 0).map(|t| el * t.saturating_sub(done_ms) / done_ms);
                on_event(Event::Progress { done_ms, total_ms, eta_ms });
            }
            // Drop audio no later window needs.
            if next_start > buf_start && batch_starts.is_empty() {
                let drop = ((next_start - buf_start) as usize).min(buf.len());
                buf.drain(..drop);
                buf_start += drop as u64;
            }
            if !have_window && batch_starts.is_empty() && eof {
                break;
            }
        }
        let duration_ms = total * 1000 / TARGET_RATE as u64;
        if recs.is_empty() || embs.is_empty() {
            if let Some(cp) = checkpoint {
                cp.finish();
            }
            return Ok(Diarization { turns: Vec::new(), speakers: Vec::new(), duration_ms });
        }
        // Cluster the reliable embeddings (a bounded, uniform subsample of them).
        let mut rel: Vec<usize> = (0..embs.len()).filter(|&i| !embs[i].v.is_empty() && embs[i].clean >= RELIABLE_FRAMES).collect();
        if rel.len() < 2 {
            rel = (0..embs.len()).filter(|&i| !embs[i].v.is_empty() && embs[i].clean > 0).collect();
        }
        if rel.len() > MAX_CLUSTERED {
            let stride = rel.len() as f64 / MAX_CLUSTERED as f64;
            rel = (0..MAX_CLUSTERED).map(|i| rel[(i as f64 * stride) as usize]).collect();
        }
        let x: Vec<Vec<f32>> = rel.iter().map(|&i| embs[i].v.clone()).collect();
        // Small clusters are merged: 5 % of the clustered windows, at least `min_cluster`, at
        // most ten (~30 s of speech at the default step): VoxConverse's 169 s gave two spurious
        // 3-window clusters of mixed speakers that a fixed minimum of 3 kept.
        let min_size = (x.len() * 5).div_ceil(100).clamp(opts.min_cluster, opts.min_cluster.max(10));
        let labels = cluster::cluster(&x, opts.count, opts.threshold, min_size);
        let k = labels.iter().max().map_or(1, |m| m + 1);
        tracing::debug!(clustered = x.len(), embeddings = embs.len(), windows = recs.len(), speakers = k, "clustered");
        let cents = cluster::centroids(&x, &labels, k);
        // Every window's local speakers → distinct speakers (nearest centroid, Hungarian).
        let assign: Vec<[Option<usize>; 3]> = recs
            .iter()
            .map(|r| {
                let ks: Vec<usize> = (0..3).filter(|&j| r.emb[j].is_some()).collect();
                let w: Vec<Vec<f32>> =
                    ks.iter().map(|&j| cents.iter().map(|c| dot(&embs[r.emb[j].expect("emb")].v, c)).collect()).collect();
                let cols = if ks.len() <= k {
                    cluster::assign_distinct(&w)
                } else {
                    w.iter().map(|row| (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0)).collect()
                };
                let mut a = [None; 3];
                for (j, c) in ks.into_iter().zip(cols) {
                    a[j] = Some(c);
                }
                a
            })
            .collect();
        let turns = crate::reconstruct::turns(&recs_view(&recs), &assign, k, frames, &self.seg, opts.fill_gap_ms, total);
        let mut speakers: Vec<SpeakerProfile> = cents
            .into_iter()
            .enumerate()
            .map(|(i, centroid)| SpeakerProfile {
                id: i,
                speech_ms: turns.iter().filter(|t| t.speaker == i).map(|t| t.end_ms - t.start_ms).sum(),
                centroid,
            })
            .collect();
        // Speakers numbered by first appearance; silent clusters dropped.
        let mut order: Vec<usize> = Vec::new();
        for t in &turns {
            if !order.contains(&t.speaker) {
                order.push(t.speaker);
            }
        }
        let turns = turns.into_iter().map(|t| Turn { speaker: order.iter().position(|&s| s == t.speaker).expect("seen"), ..t }).collect();
        speakers.retain(|s| order.contains(&s.id));
        speakers.sort_by_key(|s| order.iter().position(|&o| o == s.id));
        for (i, s) in speakers.iter_mut().enumerate() {
            s.id = i;
        }
        on_event(Event::Progress { done_ms: duration_ms, total_ms: Some(duration_ms), eta_ms: Some(0) });
        if let Some(cp) = checkpoint {
            cp.finish();
        }
        Ok(Diarization { turns, speakers, duration_ms })
    }

    fn window_record(&self, start: u64, logp: &[f32], t: usize) -> WindowRec {
        let mut active = Vec::with_capacity(t);
        let mut soft = Vec::with_capacity(t);
        for f in 0..t {
            let row = &logp[f * 7..f * 7 + 7];
            let best = (0..7).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
            let mut bits = 0u8;
            for (k, on) in POWERSET[best].iter().enumerate() {
                if *on {
                    bits |= 1 << k;
                }
            }
            active.push(bits);
            let p: Vec<f32> = row.iter().map(|v| v.exp()).collect();
            let sum: f32 = p.iter().sum::<f32>().max(1e-9);
            let mut m = [0u8; 3];
            for (k, mk) in m.iter_mut().enumerate() {
                let v: f32 = (0..7).filter(|&c| POWERSET[c][k]).map(|c| p[c]).sum::<f32>() / sum;
                *mk = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
            soft.push(m);
        }
        WindowRec { start, active, soft, emb: [None; 3] }
    }

    /// Queues the window's local speakers for embedding (returned, to run with the batch), or
    /// (between embedded windows) takes each from the last embedded window's speaker whose
    /// activity matches it on their shared frames.
    fn embed_window(
        &mut self,
        mut rec: WindowRec,
        audio: &[f32],
        recs: &[WindowRec],
        embs: &mut Vec<Emb>,
        last_embedded: &mut Option<usize>,
        opts: &DiarizeOptions,
    ) -> (WindowRec, Vec<EmbedJob>) {
        let mut jobs = Vec::new();
        let idx = recs.len();
        let fresh = last_embedded.is_none_or(|e| idx - e >= opts.embed_every.max(1));
        let link = if fresh { None } else { last_embedded.map(|e| self.match_speakers(&recs[e], &rec)) };
        for k in 0..3 {
            let frames: Vec<usize> = (0..rec.active.len()).filter(|&f| rec.active[f] & (1 << k) != 0).collect();
            if frames.len() < MIN_FRAMES {
                continue;
            }
            if let (Some(link), Some(e)) = (&link, *last_embedded)
                && let Some(j) = link[k]
                && let Some(ei) = recs[e].emb[j]
            {
                rec.emb[k] = Some(ei);
                continue;
            }
            let (picked, clean) = self.stretch(&rec, k, opts.embed_max).expect("active speaker");
            // The previous window embedded (nearly) the same stretch of this voice: a short turn
            // sits whole in several overlapping windows. Its embedding is taken, not recomputed.
            if let Some(ei) = self.same_stretch(recs, rec.start, &picked, opts.embed_max) {
                rec.emb[k] = Some(ei);
                continue;
            }
            let samples = self.gather(audio, &picked);
            if Embedder::long_enough(samples.len()) {
                // Computed with the rest of the batch (`run_jobs`); the index is its place.
                jobs.push(EmbedJob { index: embs.len(), samples });
                embs.push(Emb { v: Vec::new(), clean });
                rec.emb[k] = Some(embs.len() - 1);
            }
        }
        if fresh {
            *last_embedded = Some(idx);
        }
        (rec, jobs)
    }

    /// The frames of local speaker `k` that are embedded: its single-speaker frames (all its
    /// frames when it has too few of those), at most `max` samples' worth from the middle of its
    /// stretch; and how many single-speaker frames it has. `None` when it is (nearly) silent.
    fn stretch(&self, rec: &WindowRec, k: usize, max: usize) -> Option<(Vec<usize>, usize)> {
        let frames: Vec<usize> = (0..rec.active.len()).filter(|&f| rec.active[f] & (1 << k) != 0).collect();
        if frames.len() < MIN_FRAMES {
            return None;
        }
        let clean: Vec<usize> = frames.iter().copied().filter(|&f| rec.active[f] == 1 << k).collect();
        let n_clean = clean.len();
        let mut use_frames = if n_clean >= MIN_FRAMES { clean } else { frames };
        let keep = (max / self.seg.frame_shift).max(1);
        if use_frames.len() > keep {
            let from = (use_frames.len() - keep) / 2;
            use_frames.drain(..from);
            use_frames.truncate(keep);
        }
        Some((use_frames, n_clean))
    }

    /// An embedding of the previous window whose stretch (in the window that computed it)
    /// covers the same audio as `picked` (frames of the window starting at `start`) to at
    /// least [`SAME_STRETCH`] of the longer of the two.
    fn same_stretch(&self, recs: &[WindowRec], start: u64, picked: &[usize], max: usize) -> Option<usize> {
        let sh = self.seg.frame_shift as u64;
        let spans = |s: u64, f: &[usize]| -> Vec<(u64, u64)> { f.iter().map(|&f| (s + f as u64 * sh, s + f as u64 * sh + sh)).collect() };
        let ours = spans(start, picked);
        let prev = recs.last()?;
        prev.emb.iter().flatten().find_map(|&ei| {
            // The window that computed `ei`: the first of the run of windows that share it.
            let n = recs.iter().rev().take_while(|r| r.emb.contains(&Some(ei))).count();
            let origin = &recs[recs.len() - n];
            let j = origin.emb.iter().position(|e| *e == Some(ei))?;
            let (theirs, _) = self.stretch(origin, j, max)?;
            let theirs = spans(origin.start, &theirs);
            let (mut a, mut b, mut inter) = (0, 0, 0u64);
            while a < ours.len() && b < theirs.len() {
                let lo = ours[a].0.max(theirs[b].0);
                let hi = ours[a].1.min(theirs[b].1);
                inter += hi.saturating_sub(lo);
                if ours[a].1 < theirs[b].1 { a += 1 } else { b += 1 }
            }
            let longer = (ours.len().max(theirs.len()) as u64) * sh;
            (inter as f64 >= SAME_STRETCH * longer as f64).then_some(ei)
        })
    }

    /// The samples under `frames` (each frame's central `frame_shift` samples).
    fn gather(&self, audio: &[f32], frames: &[usize]) -> Vec<f32> {
        let sh = self.seg.frame_shift;
        let off = (self.seg.receptive_field.saturating_sub(sh)) / 2;
        let mut out = Vec::with_capacity(frames.len() * sh);
        for &f in frames {
            let a = (f * sh + off).min(audio.len());
            let b = (a + sh).min(audio.len());
            out.extend_from_slice(&audio[a..b]);
        }
        out
    }

    /// For each local speaker of `b`, the local speaker of the earlier window `a` with the
    /// same activity on the frames both cover (intersection over union ≥ 0.3, distinct).
    fn match_speakers(&self, a: &WindowRec, b: &WindowRec) -> [Option<usize>; 3] {
        let d = ((b.start - a.start) as f64 / self.seg.frame_shift as f64).round() as usize;
        let t = a.active.len().min(b.active.len());
        let mut iou = vec![vec![0f32; 3]; 3];
        if d < t {
            for (kb, row) in iou.iter_mut().enumerate() {
                for (ka, cell) in row.iter_mut().enumerate() {
                    let (mut inter, mut uni) = (0u32, 0u32);
                    for f in 0..t - d {
                        let x = a.active[f + d] & (1 << ka) != 0;
                        let y = b.active[f] & (1 << kb) != 0;
                        inter += (x && y) as u32;
                        uni += (x || y) as u32;
                    }
                    *cell = if uni > 0 { inter as f32 / uni as f32 } else { 0.0 };
                }
            }
        }
        let cols = cluster::assign_distinct(&iou);
        let mut out = [None; 3];
        for (kb, ka) in cols.into_iter().enumerate() {
            if iou[kb][ka] >= 0.3 {
                out[kb] = Some(ka);
            }
        }
        out
    }
}

/// What reconstruction needs of a window.
pub(crate) struct WindowView<'a> {
    pub start: u64,
    pub soft: &'a [[u8; 3]],
}

fn recs_view(recs: &[WindowRec]) -> Vec<WindowView<'_>> {
    recs.iter().map(|r| WindowView { start: r.start, soft: &r.soft }).collect()
}

/// Where 16 kHz mono audio comes from: a decoded file, or one channel of a recording.
pub trait AudioSource {
    /// Appends the next samples to `buf`; returns how many (0 = the end).
    fn next(&mut self, buf: &mut Vec<f32>) -> Result<usize, DiarizeError>;
}

/// A decoded file's channel `channel` (0 for a mono decode).
pub struct StreamSource {
    pub stream: AudioStream,
    pub channel: usize,
}

impl AudioSource for StreamSource {
    fn next(&mut self, buf: &mut Vec<f32>) -> Result<usize, DiarizeError> {
        loop {
            match self.stream.next_chunk()? {
                None => return Ok(0),
                Some(c) => {
                    let Some(s) = c.channels.get(self.channel) else {
                        return Ok(0);
                    };
                    if s.is_empty() {
                        continue;
                    }
                    buf.extend_from_slice(s);
                    return Ok(s.len());
                }
            }
        }
    }
}
