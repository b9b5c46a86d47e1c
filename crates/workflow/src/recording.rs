//! A finished recording into the library: the full-quality transcript as the current version,
//! the live captions (if any) as a second version, the marks on the segments spoken at them.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tingji_asr::live::{Caption, LiveCaptioner, LiveConfig};
use tingji_capture::{AudioTap, Role, Session, SessionState};
use tingji_library::{KeepAs, Library, MarkKind, MeetingId, NewMeeting, SourceKind};
use tingji_transcript::{ModelInfo, Parameters, Sampling, Script, Segment, SourceInfo, Transcript};

use crate::Result;

/// "me" for the microphone's channel, "them" for system audio.
pub fn speaker_of(session: &Session, channel: Option<u16>) -> Option<String> {
    let ch = channel.unwrap_or(0);
    session.channels.iter().find(|c| c.index == ch).map(|c| c.role.speaker().to_string())
}

/// Where final captions are appended while recording: `NAME.captions.jsonl` beside the WAV.
pub fn captions_path(wav: &Path) -> std::path::PathBuf {
    wav.with_extension("captions.jsonl")
}

/// One final caption as a line of `NAME.captions.jsonl`.
pub fn caption_line(c: &Caption) -> String {
    serde_json::json!({"channel": c.channel, "start_ms": c.start_ms, "end_ms": c.end_ms, "text": c.text, "lag_ms": c.lag_ms}).to_string()
}

/// The final captions written next to a recording as they came.
pub fn kept_captions(wav: &Path) -> Vec<Caption> {
    let Ok(text) = std::fs::read_to_string(captions_path(wav)) else { return Vec::new() };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| Caption {
            channel: v["channel"].as_u64().unwrap_or(0) as u16,
            start_ms: v["start_ms"].as_u64().unwrap_or(0),
            end_ms: v["end_ms"].as_u64().unwrap_or(0),
            text: v["text"].as_str().unwrap_or("").to_string(),
            is_final: true,
            words: Vec::new(),
            lag_ms: v["lag_ms"].as_u64().unwrap_or(0),
        })
        .filter(|c| !c.text.trim().is_empty())
        .collect()
}

/// The live captions as a transcript version of their own.
pub fn live_transcript(path: &Path, session: &Session, finals: &[Caption], model: &str) -> Transcript {
    let mut segments: Vec<Segment> = finals
        .iter()
        .filter(|c| !c.text.trim().is_empty())
        .map(|c| Segment {
            start_ms: c.start_ms,
            end_ms: c.end_ms.max(c.start_ms),
            text: c.text.trim().to_string(),
            channel: (session.channels.len() > 1).then_some(c.channel),
            speaker: speaker_of(session, Some(c.channel)),
            words: c.words.clone(),
        })
        .collect();
    segments.sort_by_key(|s| (s.start_ms, s.channel.unwrap_or(0)));
    Transcript {
        version: tingji_transcript::SCHEMA_VERSION,
        source: SourceInfo {
            path: path.display().to_string(),
            container: "wav".into(),
            codec: "pcm_s16le".into(),
            sample_rate: session.rate,
            channels: session.channels.len() as u16,
            track_note: None,
        },
        language: "auto".into(),
        language_probability: None,
        duration_ms: session.duration_ms,
        model: ModelInfo { name: format!("{model} (live)"), ftype: None, multilingual: !model.ends_with(".en") },
        parameters: Parameters {
            language: "auto".into(),
            sampling: Sampling::Greedy { best_of: 1 },
            threads: tingji_asr::default_threads(),
            initial_prompt: None,
            temperature: 0.0,
            temperature_inc: 0.0,
            vad: true,
            separate_channels: session.channels.len() > 1,
            script: Script::Simplified,
        },
        segments,
        warnings: vec!["live captions (fast model, short windows)".into()],
    }
}

/// A recording and what was made of it, ready for the library.
pub struct FinishedRecording<'a> {
    pub wav: &'a Path,
    pub session_path: &'a Path,
    pub session: Session,
    /// The full-quality transcript (segments' speakers are set here from the channels).
    pub full: Transcript,
    /// Final live captions and the model that made them.
    pub captions: (Vec<Caption>, &'a str),
    pub title: Option<String>,
    /// The file is the app's own (moved into the library) rather than one the user named (copied).
    pub owned: bool,
}

/// Stores a recording as a `recorded` meeting: the full transcript current, the live captions
/// kept as another version, the marks; then marks the session `imported` so it is not offered again.
pub fn import(lib: &mut Library, r: FinishedRecording<'_>) -> Result<(MeetingId, String)> {
    let FinishedRecording { wav, session_path, mut session, mut full, captions: (finals, live_model), title, owned } = r;
    for s in &mut full.segments {
        // Voices told apart on a channel (speakers::for_recording) keep their labels.
        if s.speaker.is_none() {
            s.speaker = speaker_of(&session, s.channel);
        }
    }
    // What happened to the recording (a device lost, silence inserted for a device's gap)
    // stays with the meeting.
    for w in &session.warnings {
        let w = format!("recording: {w}");
        if !full.warnings.contains(&w) {
            full.warnings.push(w);
        }
    }
    let title = title.unwrap_or_else(|| {
        format!("Recording {}", wav.file_stem().map(|s| s.to_string_lossy().trim_start_matches("recording-").to_string()).unwrap_or_default())
    });
    let meeting = NewMeeting { title: Some(&title), source_kind: Some(SourceKind::Recorded), created_at: Some(session.started_at_ms), ..Default::default() };
    let keep = if owned { KeepAs::Move } else { KeepAs::Copy };
    let live_t = (!finals.is_empty()).then(|| live_transcript(wav, &session, &finals, live_model));
    let id = match &live_t {
        Some(lt) => {
            let id = lib.import_meeting_with(lt, Some((wav, keep)), &meeting)?;
            let v = lib.add_transcript_version(id, &full)?;
            lib.set_current_version(v)?;
            id
        }
        None => lib.import_meeting_with(&full, Some((wav, keep)), &meeting)?,
    };
    let m = lib.meeting(id)?;
    if let (Some(v), Some(tr)) = (m.current_version, m.transcript.as_ref())
        && !tr.segments.is_empty()
    {
        for mark in &session.marks {
            let kind = match mark.kind.as_str() {
                "question" => MarkKind::Question,
                "todo" => MarkKind::Todo,
                _ => MarkKind::Key,
            };
            // The segment being spoken at the mark (or the last one before it).
            let idx = tr.segments.iter().rposition(|s| s.start_ms <= mark.at_ms).unwrap_or(0);
            lib.add_mark(v, idx as u32, kind)?;
        }
    }
    session.state = SessionState::Imported;
    session.save(session_path)?;
    Ok((id, title))
}

/// Live captions of a recording: a captioner on its own whisper worker, fed by the recorder's tap.
/// Final captions are appended to [`captions_path`] as they come (a crash keeps them too), and
/// every caption goes to the caller's callback with the speaker of its channel.
pub struct LiveCaptions {
    captioner: Arc<LiveCaptioner>,
    /// Channel → role, known once the recorder has opened its devices.
    roles: Arc<Mutex<Vec<Role>>>,
}

impl LiveCaptions {
    pub fn start(
        engine: Arc<tingji_asr::Engine>,
        cfg: LiveConfig,
        wav: &Path,
        mut on_caption: impl FnMut(&Caption, Option<&'static str>) + Send + 'static,
    ) -> LiveCaptions {
        let file = captions_path(wav);
        let roles: Arc<Mutex<Vec<Role>>> = Arc::default();
        let r2 = roles.clone();
        let captioner = LiveCaptioner::start(engine, cfg, 2, move |c: Caption| {
            if c.is_final
                && !c.text.is_empty()
                && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&file)
            {
                let _ = writeln!(f, "{}", caption_line(&c));
            }
            let speaker = r2.lock().ok().and_then(|r| r.get(c.channel as usize).map(|r| r.speaker()));
            on_caption(&c, speaker);
        });
        LiveCaptions { captioner: Arc::new(captioner), roles }
    }

    /// The recorder's tap: queues audio for the captioner, never blocks the writer.
    pub fn tap(&self) -> Box<dyn AudioTap> {
        Box::new(CaptionTap(self.captioner.clone()))
    }

    /// Tells which channel is whose, from the started recorder.
    pub fn set_channels(&self, channels: &[tingji_capture::ChannelInfo]) {
        if let Ok(mut r) = self.roles.lock() {
            *r = channels.iter().map(|c| c.role).collect();
        }
    }

    /// The final captions, once the recorder has stopped (it drops its tap). Should the tap
    /// still be held, the captions file beside the recording has them.
    pub fn finish(self, wav: &Path) -> Vec<Caption> {
        match Arc::try_unwrap(self.captioner) {
            Ok(c) => c.finish(),
            Err(_) => kept_captions(wav),
        }
    }
}

struct CaptionTap(Arc<LiveCaptioner>);

impl AudioTap for CaptionTap {
    fn audio(&mut self, channel: u16, pos: u64, samples: &[f32], captured_at: std::time::Instant) {
        self.0.push(channel, pos, samples, captured_at);
    }
    fn paused(&mut self) {
        self.0.flush();
    }
}

/// A new recording's file name: `recording-YYYY-MM-DD-HH-MM-SS.wav` (UTC, now).
pub fn new_file_name() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    format!("recording-{}-{:02}.wav", tingji_export::date(ms).replace([' ', ':'], "-"), ms.div_euclid(1000).rem_euclid(60))
}
