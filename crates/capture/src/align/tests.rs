use super::*;

/// A simulated device and the writer around one aligner, on a simulated wall clock.
struct Sim {
    a: Aligner,
    rate: u32,
    /// The device's clock runs this much fast (> 0) or slow.
    skew: f64,
    /// Device frames captured so far that were delivered or lost (the device's own count).
    device_frames: u64,
    /// Device frames never delivered at all (an overrun), so far.
    missing: u64,
    written: u64,
    dst: Vec<f32>,
    block: Vec<f32>,
    /// Position error (ms) right after placement, and the worst change from it since.
    err0: Option<f64>,
    worst: f64,
    max_trim_ppm: f64,
}

impl Sim {
    /// A source following a reference source whose clock is the wall clock.
    fn new(rate: u32, skew: f64) -> Sim {
        let mut a = Aligner::new(rate).unwrap();
        a.follow(false, Some(Drift { skew: 0.0, offset_ms: 0.0 }));
        Sim::with(a, rate, skew)
    }

    fn with(a: Aligner, rate: u32, skew: f64) -> Sim {
        let chunk = rate as usize / 50;
        Sim {
            a,
            rate,
            skew,
            device_frames: 0,
            missing: 0,
            written: 0,
            dst: Vec::new(),
            block: (0..chunk).map(|i| (i as f32 * 0.05).sin() * 0.3).collect(),
            err0: None,
            worst: 0.0,
            max_trim_ppm: 0.0,
        }
    }

    fn chunk(&self) -> u64 {
        self.block.len() as u64
    }

    /// When the device finished capturing frame `f` (ms).
    fn captured_at(&self, f: u64) -> f64 {
        f as f64 * 1000.0 / (self.rate as f64 * (1.0 + self.skew))
    }

    /// Delivers, in whole 20 ms blocks, every block whose callback is due by `t_ms`: a block
    /// arrives `latency_ms` after the device captured its last frame, or at `t_ms` itself
    /// when the source delivers in bursts.
    fn deliver(&mut self, t_ms: f64, latency_ms: f64, burst: bool) {
        loop {
            let end = self.device_frames + self.chunk();
            let due = self.captured_at(end) + latency_ms;
            if due > t_ms {
                break;
            }
            let block = std::mem::take(&mut self.block);
            self.a.feed(&block);
            self.block = block;
            self.device_frames = end;
            self.a.observe(self.device_frames - self.missing, if burst { t_ms } else { due });
        }
    }

    /// The writer's tick at `t_ms`: place when due, write what every source has.
    fn tick(&mut self, t_ms: f64) {
        if self.a.wants_placing(t_ms) {
            self.a.place(false);
        }
        if !self.a.is_placed() {
            return;
        }
        let wall = (t_ms * RATE as f64 / 1000.0) as u64;
        let target = self.a.available_upto().min(wall);
        if target > self.written {
            self.a.take((target - self.written) as usize, &mut self.dst);
            self.written = target;
        }
        // Where the last delivered frame sits in the file versus when it was captured.
        let pos_ms = self.a.available_upto() as f64 * 1000.0 / RATE as f64;
        let cap_ms = self.captured_at(self.device_frames);
        let err = pos_ms - cap_ms;
        let e0 = *self.err0.get_or_insert(err);
        self.worst = self.worst.max((err - e0).abs());
        self.max_trim_ppm = self.max_trim_ppm.max(self.a.trim_ppm().abs());
    }

    /// Runs `secs` seconds with 20 ms callbacks and the given latency at each moment.
    fn run(&mut self, from_s: f64, secs: f64, latency_ms: impl Fn(f64) -> f64, burst_ms: f64) {
        let mut t = from_s * 1000.0;
        let end = t + secs * 1000.0;
        while t < end {
            t += 20.0;
            let burst = burst_ms > 20.0;
            if !burst || (t % burst_ms).abs() < 1e-6 {
                self.deliver(t, latency_ms(t), burst);
            }
            self.tick(t);
        }
    }
}

#[test]
fn a_fast_clock_is_pulled_back_by_the_ratio_not_by_cuts() {
    // 80 ppm fast (a bad real device) for 2 hours: 576 ms of drift uncorrected.
    let mut s = Sim::new(48_000, 0.00008);
    s.run(0.0, 7200.0, |_| 30.0, 20.0);
    eprintln!("offset moved at most {:.2} ms; trim {:.1} ppm", s.worst, s.a.trim_ppm());
    assert!(s.worst <= 20.0, "offset moved {} ms", s.worst);
    assert_eq!((s.a.inserted, s.a.removed), (0, 0));
    assert!((s.a.trim_ppm() + 80.0).abs() < 10.0, "trim {} ppm", s.a.trim_ppm());
}

#[test]
fn a_slow_clock_is_pushed_forward_without_inserted_silence() {
    let mut s = Sim::new(44_100, -0.00008);
    s.run(0.0, 7200.0, |_| 30.0, 20.0);
    eprintln!("offset moved at most {:.2} ms; trim {:.1} ppm", s.worst, s.a.trim_ppm());
    assert!(s.worst <= 20.0, "offset moved {} ms", s.worst);
    assert_eq!((s.a.inserted, s.a.removed), (0, 0));
    assert!((s.a.trim_ppm() - 80.0).abs() < 10.0, "trim {} ppm", s.a.trim_ppm());
}

#[test]
fn sources_on_one_fast_clock_are_never_resampled() {
    // PulseAudio's null sinks run ~200 ppm fast against the wall clock while streams play into
    // them: the reference is never trimmed, and a source on the same clock follows it untrimmed.
    let mut r = Sim::with(Aligner::new(48_000).unwrap(), 48_000, 0.0002);
    let mut f = Sim::with(Aligner::new(44_100).unwrap(), 44_100, 0.0002);
    let mut t = 0.0;
    while t < 1_800_000.0 {
        t += 20.0;
        for s in [&mut r, &mut f] {
            s.deliver(t, 25.0, false);
            s.tick(t);
        }
        let d = r.a.drift();
        r.a.follow(true, None);
        f.a.follow(false, d);
    }
    assert!(r.a.drift().is_some_and(|d| (d.skew - 0.0002).abs() < 5e-6), "{:?}", r.a.drift());
    assert_eq!((r.max_trim_ppm, f.max_trim_ppm), (0.0, 0.0));
    assert_eq!((r.a.inserted + f.a.inserted, r.a.removed + f.a.removed), (0, 0));
}

#[test]
fn bursts_and_latency_steps_on_a_shared_clock_change_nothing() {
    // A monitor that renders in 2 s bursts, whose latency steps by 200 ms at 10 min and back
    // at 20 min: the content is never moved and the ratio never trimmed.
    let mut s = Sim::new(48_000, 0.0);
    let latency = |t: f64| if (600_000.0..1_200_000.0).contains(&t) { 230.0 } else { 30.0 };
    s.run(0.0, 1800.0, latency, 2000.0);
    assert!(s.worst <= 1.0, "offset moved {} ms", s.worst);
    assert_eq!(s.max_trim_ppm, 0.0, "a shared clock was trimmed");
    assert_eq!((s.a.inserted, s.a.removed), (0, 0));
    let mut c = Vec::new();
    s.a.take_corrections(&mut c);
    assert!(c.is_empty(), "{c:?}");
}

#[test]
fn placement_takes_the_earliest_arrival_not_the_first() {
    // The first callbacks come 300 ms late (a monitor's first burst), later ones on time: the
    // source is placed at its real start, not 300 ms late.
    let mut s = Sim::new(48_000, 0.0);
    s.run(0.0, 1.0, |_| 300.0, 20.0);
    s.run(1.0, 5.0, |_| 10.0, 20.0);
    let start_ms = s.a.start.unwrap() as f64 * 1000.0 / RATE as f64;
    assert!(start_ms <= 12.0, "placed at {start_ms} ms");
}

#[test]
fn frames_the_ring_lost_become_exactly_that_much_silence() {
    let mut s = Sim::new(48_000, 0.0);
    s.run(0.0, 5.0, |_| 20.0, 20.0);
    let before = s.a.available_upto();
    s.a.lost(4_800);
    assert_eq!(s.a.available_upto() - before, 1_600);
    assert_eq!(s.a.inserted, 1_600);
    let mut c = Vec::new();
    s.a.take_corrections(&mut c);
    assert_eq!(c, vec![Correction { at: before, samples: 1_600, reason: Reason::RingFull }]);
}

#[test]
fn an_overrun_gap_is_filled_with_its_length_of_silence() {
    let mut s = Sim::new(48_000, 0.0);
    s.run(0.0, 60.0, |_| 20.0, 20.0);
    // 300 ms the device captured are never delivered; it reports an overrun.
    s.device_frames += 14_400;
    s.missing += 14_400;
    let gap_at = s.a.available_upto();
    s.a.overrun();
    s.run(60.3, 2.0, |_| 20.0, 20.0);
    let mut c = Vec::new();
    s.a.take_corrections(&mut c);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0].at, c[0].reason), (gap_at, Reason::Overrun));
    assert!((c[0].samples - 4_800).abs() <= 16 * 3, "{c:?}");
    // The gap's silence went where the gap was: everything after it is in place.
    s.worst = 0.0;
    s.run(62.3, 30.0, |_| 20.0, 20.0);
    assert!(s.worst <= 3.0, "offset moved {} ms", s.worst);
    s.a.take_corrections(&mut c);
    assert_eq!(c.len(), 1, "{c:?}");
}

#[test]
fn a_replacement_device_starting_late_is_a_logged_gap() {
    let mut s = Sim::new(48_000, 0.0);
    s.run(0.0, 10.0, |_| 20.0, 20.0);
    let end = s.a.available_upto();
    // The device goes; a new one (44.1 kHz) has its frame 0 captured at 13 s.
    s.a.restart(44_100).unwrap();
    let block: Vec<f32> = (0..882).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    let start = 13_000.0;
    let mut t = start;
    let mut frames = 0u64;
    while t < start + 3_000.0 {
        t += 20.0;
        while frames + 882 <= ((t - start - 20.0) / 1000.0 * 44_100.0) as u64 {
            s.a.feed(&block);
            frames += 882;
            s.a.observe(frames, t);
        }
        if s.a.wants_placing(t) {
            s.a.place(true);
        }
    }
    let mut c = Vec::new();
    s.a.take_corrections(&mut c);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0].at, c[0].reason), (end, Reason::DeviceChange));
    let gap_ms = c[0].samples as f64 * 1000.0 / RATE as f64;
    assert!((gap_ms - (13_000.0 - end as f64 / 16.0)).abs() <= 25.0, "gap {gap_ms} ms, old end {} ms", end / 16);
}

fn chirp(rate: u32, secs: f64) -> Vec<f32> {
    let n = (rate as f64 * secs) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            // 100 Hz → 3 kHz over 2 s, then again.
            let tt = t % 2.0;
            (std::f64::consts::TAU * (100.0 * tt + 725.0 * tt * tt)).sin() as f32 * 0.5
        })
        .collect()
}

#[test]
fn resampled_audio_is_the_same_signal_at_16k_and_every_sample_is_kept() {
    let secs = 12.0;
    let src = chirp(48_000, secs);
    let reference = chirp(RATE, secs);
    let mut a = Aligner::new(48_000).unwrap();
    let mut out = Vec::new();
    let mut dst = Vec::new();
    let mut written = 0u64;
    for (k, block) in src.chunks(960).enumerate() {
        let t = (k as f64 + 1.0) * 20.0;
        a.feed(block);
        a.observe((k as u64 + 1) * 960, t + 5.0);
        if a.wants_placing(t) {
            a.place(false);
        }
        if a.is_placed() && a.available_upto() > written {
            a.take((a.available_upto() - written) as usize, &mut dst);
            out.extend_from_slice(&dst);
            written = a.available_upto();
        }
    }
    // Placed 5 ms in; every input sample came out (minus the resampler's last partial chunk).
    let lead = a.start.unwrap() as usize;
    assert!((79..=81).contains(&lead), "lead {lead}");
    let body = out.len() - lead;
    assert!((reference.len() as i64 - body as i64).abs() < 400, "{} of {}", body, reference.len());
    let mut best = (0.0f64, 0i64);
    for lag in -100i64..100 {
        let n = reference.len().min(out.len() - lead) - 400;
        let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
        for i in 200..n {
            let (x, y) = (out[(lead as i64 + lag + i as i64) as usize] as f64, reference[i] as f64);
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let c = xy / (xx * yy).sqrt();
        if c > best.0 {
            best = (c, lag);
        }
    }
    assert!(best.0 > 0.97, "correlation {best:?}");
    assert!(best.1.abs() <= 2, "offset {} samples", best.1);
}
