//! Decode files and print what was found: `cargo run -p tingji-media --example decode -- FILE...`
//! (`--separate`, `--no-ffmpeg`, `--raw s16le:16000:1` may precede the files).

use std::path::Path;
use std::time::Instant;

use tingji_media::{AudioStream, ChannelMode, DecodeOptions, FfmpegPolicy};

fn main() {
    let mut opts = DecodeOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--separate" => opts.channels = ChannelMode::Separate,
            "--no-ffmpeg" => opts.ffmpeg = FfmpegPolicy::Never,
            "--raw" => match args.next().map(|f| f.parse()) {
                Some(Ok(f)) => opts.raw = Some(f),
                Some(Err(e)) => eprintln!("{e}"),
                None => eprintln!("--raw needs a format"),
            },
            file => decode(Path::new(file), &opts),
        }
    }
}

fn decode(path: &Path, opts: &DecodeOptions) {
    let t = Instant::now();
    let mut s = match AudioStream::open(path, opts) {
        Ok(s) => s,
        Err(e) => {
            println!("{}: error [{}] {e}", path.display(), e.code());
            return;
        }
    };
    let mut n = 0u64;
    let mut peak = 0f32;
    let result = loop {
        match s.next_chunk() {
            Ok(Some(c)) => {
                n += c.len() as u64;
                for ch in &c.channels {
                    peak = ch.iter().fold(peak, |m, x| m.max(x.abs()));
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let i = s.info();
    println!(
        "{}: {:?} {} / {} {} Hz x{} (out x{}), declared {:?} ms, decoded {:.3} s, peak {peak:.3}, \
         {:.0?}{}",
        path.display(),
        i.backend,
        i.container,
        i.codec,
        i.sample_rate,
        i.channels,
        s.output_channels(),
        i.duration_ms,
        n as f64 / 16_000.0,
        t.elapsed(),
        i.track_note
            .as_deref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default()
    );
    for w in s.warnings() {
        println!("  warning: {w}");
    }
    if let Err(e) = result {
        println!("  error [{}] {e}", e.code());
    }
}
