//! `tingji`: the command-line front end over the core crates.

/// `println!` for everything the CLI prints on stdout: when the reader has gone (`tingji … |
/// head`), the program ends quietly with success, as ripgrep does, instead of panicking.
macro_rules! out {
    () => {
        $crate::stdout_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::stdout_line(format_args!($($arg)*))
    };
}

mod bench;
mod bench_diarize;
mod export_cmd;
mod library_cmd;
mod models_cmd;
mod notes_cmd;
mod record_cmd;
mod speakers_cmd;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tingji_asr::{Engine, Event, Strategy, TranscribeOptions, VadConfig};
use tingji_diarize::DiarizeOptions;
use tingji_export::Format;
use tingji_media::{DecodeOptions, FfmpegPolicy, RawFormat};
use tingji_models::{DownloadProgress, ModelStore};
use tingji_transcript::Script;

#[derive(Parser)]
#[command(name = "tingji", version, about = "Local meeting transcription and notes")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Transcribe audio or video files with a local whisper model.
    Transcribe(TranscribeArgs),
    /// Transcribe, keep each file as a meeting in the library, write AI notes (built-in model
    /// unless a provider is configured) and the exports asked for; prints the meeting ids.
    Process(ProcessArgs),
    /// AI notes for a transcript JSON file or a library meeting.
    Notes(notes_cmd::NotesArgs),
    /// Ask a question about a meeting; the answer cites the moments it used.
    Ask(notes_cmd::AskArgs),
    /// LLM providers and built-in models.
    Llm {
        #[command(subcommand)]
        cmd: notes_cmd::LlmCmd,
    },
    /// Export a library meeting (json = full fidelity, readable by `import-json`).
    Export(export_cmd::ExportArgs),
    /// Read a meeting exported with `export --format json` back into the library.
    ImportJson { file: PathBuf },
    /// Manage whisper models.
    Models {
        #[command(subcommand)]
        cmd: models_cmd::ModelsCmd,
    },
    /// The meeting library: list, show, search, rename, tag, delete.
    Library {
        #[command(subcommand)]
        cmd: library_cmd::LibraryCmd,
    },
    /// Speakers: a meeting's (list, rename, merge) and the voiceprints that name them in later
    /// meetings (list, rename-voice, merge-voices, forget).
    Speakers {
        #[command(subcommand)]
        cmd: speakers_cmd::SpeakersCmd,
    },
    /// Input devices: microphones and system-audio sources (ids for `record`).
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Record the microphone (left channel) and the system audio (right channel), with live
    /// captions; the recording goes into the library, transcribed with the full model.
    Record(record_cmd::RecordArgs),
    /// Benchmark against whisper.cpp defaults, faster-whisper and ffmpeg (not a test).
    Bench(bench::BenchArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum ScriptArg {
    Simplified,
    Traditional,
    AsIs,
}

#[derive(Parser)]
struct TranscribeArgs {
    /// Files to transcribe.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Installed model name (e.g. base, tiny.en) or a path to a ggml file.
    #[arg(long)]
    model: Option<String>,
    /// Language code, or "auto" to detect it.
    #[arg(long, default_value = "auto")]
    language: String,
    /// txt, srt, vtt, json, md, html, docx, pdf, or rttm (who spoke when; implies --diarize).
    #[arg(long, default_value = "txt")]
    format: String,
    /// Output file (one input) or directory (several inputs). Default: stdout for one input.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Beam search width (default 5); 0 = greedy decoding.
    #[arg(long, default_value_t = 5)]
    beam_size: u32,
    /// Candidates for greedy decoding at temperature > 0.
    #[arg(long, default_value_t = 5)]
    best_of: u32,
    #[arg(long)]
    threads: Option<u32>,
    /// Initial prompt / hot words (names, jargon) to bias recognition.
    #[arg(long)]
    prompt: Option<String>,
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Temperature fallback step (0 disables the fallback).
    #[arg(long, default_value_t = 0.2)]
    temperature_inc: f32,
    /// Transcribe everything, silence included.
    #[arg(long)]
    no_vad: bool,
    /// Transcribe each channel separately (segments record their channel).
    #[arg(long)]
    separate_channels: bool,
    /// Script for Chinese output.
    #[arg(long, value_enum, default_value = "simplified")]
    script: ScriptArg,
    /// Headerless PCM layout, e.g. s16le:16000:1.
    #[arg(long)]
    raw_format: Option<String>,
    /// Never use ffmpeg for formats without a native decoder.
    #[arg(long)]
    no_ffmpeg: bool,
    /// Start from scratch even if an interrupted run left a partial transcript.
    #[arg(long)]
    no_resume: bool,
    /// Tell the speakers apart (segments and words get S1, S2, …). `--format rttm` implies it.
    #[arg(long)]
    diarize: bool,
    /// The number of speakers, when you know it (default: estimated).
    #[arg(long)]
    speakers: Option<usize>,
    /// At least this many speakers (with the estimate).
    #[arg(long)]
    min_speakers: Option<usize>,
    /// At most this many speakers (with the estimate).
    #[arg(long)]
    max_speakers: Option<usize>,
}

#[derive(Parser)]
struct ProcessArgs {
    #[command(flatten)]
    transcribe: TranscribeArgs,
    #[command(flatten)]
    llm: notes_cmd::LlmArgs,
    /// Transcribe and store only; no AI notes.
    #[arg(long)]
    no_notes: bool,
    /// Do not tell the speakers apart (they are by default, when the models are installed).
    #[arg(long)]
    no_diarize: bool,
    /// Only these notes outputs (comma-separated; see `tingji notes --help`).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// A notes template (standup, one-on-one, interview, lecture, sales-call, or your own).
    #[arg(long)]
    template: Option<String>,
    /// Language of the notes (default: the transcript's).
    #[arg(long)]
    notes_language: Option<String>,
    /// Also export each meeting (transcript + notes) in these formats, comma-separated:
    /// md, txt, srt, vtt, html, docx, pdf, json.
    #[arg(long, value_delimiter = ',')]
    export: Vec<String>,
    /// Folder for the `--export` files (default: the current folder), named after the input.
    #[arg(long, default_value = ".")]
    export_dir: PathBuf,
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TINGJI_LOG").unwrap_or_else(|_| "warn,whisper_rs=off,pulseaudio=off".into()),
        )
        .init();
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Transcribe(a) => transcribe(a, false).map(drop),
        Cmd::Process(a) => process(a),
        Cmd::Notes(a) => notes_cmd::notes(a),
        Cmd::Ask(a) => notes_cmd::ask(a),
        Cmd::Llm { cmd } => notes_cmd::llm(cmd),
        Cmd::Export(a) => open_library().and_then(|lib| export_cmd::run(a, &lib)),
        Cmd::ImportJson { file } => import_json(&file),
        Cmd::Models { cmd } => models_cmd::run(cmd),
        Cmd::Library { cmd } => library(cmd),
        Cmd::Speakers { cmd } => open_library().and_then(|mut lib| speakers_cmd::run(cmd, &mut lib)),
        Cmd::Devices { json } => record_cmd::devices(json),
        Cmd::Record(a) => record_cmd::record(a),
        Cmd::Bench(a) => bench::run(a),
    };
    if let Err(e) = res {
        let code = error_code(&e);
        let msg = format!("{e:#}").replace('\n', " ");
        eprintln!("tingji: error[{code}]: {msg}");
        std::process::exit(if code == "cancelled" { 130 } else { 1 });
    }
}

/// One line on stdout ([`out!`]); a closed pipe ends the program with success.
pub(crate) fn stdout_line(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.write_all(b"\n")) {
        reader_gone(&e);
        panic!("failed printing to stdout: {e}");
    }
}

/// A whole file's bytes on stdout (exports, notes, transcripts); a closed pipe ends the program
/// with success, other errors are returned.
pub(crate) fn stdout_bytes(bytes: &[u8]) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes).and_then(|()| o.flush()).or_else(|e| {
        reader_gone(&e);
        Err(e).context("writing to stdout")
    })
}

/// Ends the program quietly when `e` says the reader of stdout has gone (`tingji … | head`),
/// as ripgrep does. Only stdout's own writes come here: SIGPIPE stays ignored, so a pipe to a
/// child process (the LLM worker) still fails with its named error.
fn reader_gone(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

fn error_code(e: &anyhow::Error) -> &'static str {
    for cause in e.chain() {
        if let Some(x) = cause.downcast_ref::<tingji_asr::AsrError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_media::MediaError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_models::ModelError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_library::LibraryError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_export::ExportError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_notes::NotesError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_llm::LlmError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_capture::CaptureError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_workflow::WorkflowError>() {
            return x.code();
        }
        if let Some(x) = cause.downcast_ref::<tingji_diarize::DiarizeError>() {
            return x.code();
        }
    }
    "error"
}

fn library(cmd: library_cmd::LibraryCmd) -> Result<()> {
    library_cmd::run(cmd, &mut open_library()?)
}

/// Ctrl-C sets this flag (transcription) and cancels this token (model requests).
fn interrupt() -> &'static (Arc<AtomicBool>, tingji_llm::Cancel) {
    static CELL: std::sync::OnceLock<(Arc<AtomicBool>, tingji_llm::Cancel)> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let token = tingji_llm::Cancel::new();
        let (f, t) = (flag.clone(), token.clone());
        let _ = ctrlc::set_handler(move || {
            f.store(true, Ordering::SeqCst);
            t.cancel();
        });
        (flag, token)
    })
}

/// Runs a download with a progress bar (on a terminal; a line every 0.5 s otherwise) that Ctrl-C
/// cancels.
pub(crate) fn with_download_progress<T>(name: &str, run: impl FnOnce(&mut dyn FnMut(DownloadProgress), &AtomicBool) -> T) -> T {
    let cancel = cancel_flag();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now() - Duration::from_secs(10);
    let mut announced_resume = false;
    let out = run(
        &mut |p| {
            if p.resumed_from > 0 && !announced_resume {
                announced_resume = true;
                eprintln!("resuming download at {} bytes", p.resumed_from);
            }
            if let Some(t) = p.total {
                bar.set_length(t);
            }
            bar.set_position(p.downloaded);
            if !tty && last.elapsed() > Duration::from_millis(500) {
                last = Instant::now();
                eprintln!("downloaded {} / {} bytes", p.downloaded, p.total.map(|t| t.to_string()).unwrap_or("?".into()));
            }
        },
        &cancel,
    );
    bar.finish_and_clear();
    out
}

pub(crate) fn cancel_flag() -> Arc<AtomicBool> {
    interrupt().0.clone()
}

pub(crate) fn cancel_token() -> tingji_llm::Cancel {
    interrupt().1.clone()
}

fn import_json(file: &Path) -> Result<()> {
    let json = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut lib = open_library()?;
    let id = lib.import_json(&json)?;
    out!("{id}");
    Ok(())
}

pub(crate) fn open_library() -> Result<tingji_library::Library> {
    let root = tingji_workflow::paths::library_root();
    tingji_library::Library::open(&root).with_context(|| format!("open the library in {}", root.display()))
}

/// `process`: transcribe into the library, AI notes for each new meeting, then the exports.
fn process(a: ProcessArgs) -> Result<()> {
    let formats: Vec<Format> = a.export.iter().map(|f| f.parse()).collect::<Result<_, _>>()?;
    let mut t = a.transcribe;
    if !a.no_diarize && !t.diarize {
        // Speakers by default; without the models the transcript still comes, with a warning.
        let store = ModelStore::open_default()?;
        if tingji_workflow::speakers::installed(&store) {
            t.diarize = true;
        } else {
            eprintln!(
                "tingji: warning: speakers not told apart: no diarization models in {} (see `tingji models list`)",
                tingji_workflow::speakers::models_dir(&store).display()
            );
        }
    }
    let ids = transcribe(t, true)?;
    let notes = if a.no_notes { Ok(()) } else { process_notes(&a.llm, &a.only, &a.template, &a.notes_language, &ids) };
    // Exports run even when notes failed: the transcript is worth having.
    if !formats.is_empty() {
        let lib = open_library()?;
        std::fs::create_dir_all(&a.export_dir)?;
        for (id, file) in &ids {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| format!("meeting-{}", id.0));
            for &f in &formats {
                let bytes = tingji_workflow::render_meeting(&lib, *id, f, &tingji_export::ExportOptions::defaults_for(f))?;
                let out = a.export_dir.join(format!("{stem}.{}", f.extension()));
                write_atomic(&out, &bytes)?;
                eprintln!("{} → {}", file.display(), out.display());
            }
        }
    }
    notes
}

fn process_notes(
    llm: &notes_cmd::LlmArgs,
    only: &[String],
    template: &Option<String>,
    language: &Option<String>,
    ids: &[(tingji_library::MeetingId, PathBuf)],
) -> Result<()> {
    let args = notes_cmd::NotesArgs {
        input: String::new(),
        llm: llm.clone(),
        only: only.to_vec(),
        template: template.clone(),
        language: language.clone(),
        translate_to: None,
        format: "json".into(),
        output: None,
        max_tokens: None,
    };
    let opts = notes_cmd::notes_options(&args)?;
    let mut failures = 0;
    for (id, file) in ids {
        let mut lib = open_library()?;
        let t = lib.meeting(*id)?.transcript.ok_or_else(|| anyhow!("meeting {} has no transcript", id.0))?;
        match notes_cmd::make_notes(&t, llm, &opts) {
            Ok(n) => {
                lib.save_notes(*id, &n)?;
                eprintln!("{}: notes saved with meeting {}", file.display(), id.0);
            }
            // The transcript is safe in the library; say what failed and go on.
            Err(e) if error_code(&e) != "cancelled" => {
                failures += 1;
                eprintln!(
                    "tingji: error[{}]: {}: notes: {e:#} (the transcript is kept; retry with `tingji notes {}`)",
                    error_code(&e),
                    file.display(),
                    id.0
                );
            }
            Err(e) => return Err(e),
        }
    }
    if failures > 0 {
        bail!("notes failed for {failures} of {} meetings", ids.len());
    }
    Ok(())
}

/// Transcribes every file; with `keep_in_library`, stores each and returns the meeting ids.
fn transcribe(a: TranscribeArgs, keep_in_library: bool) -> Result<Vec<(tingji_library::MeetingId, PathBuf)>> {
    let mut ids = Vec::new();
    // RTTM (who spoke when) is the diarization itself, not a rendering of the transcript.
    let rttm = a.format.eq_ignore_ascii_case("rttm");
    let format: Format = if rttm { Format::Txt } else { a.format.parse()? };
    let export_opts = tingji_export::ExportOptions::defaults_for(format);
    let diarize = a.diarize || rttm || a.speakers.is_some() || a.min_speakers.is_some() || a.max_speakers.is_some();
    let store = ModelStore::open_default()?;
    let model_name = match &a.model {
        Some(m) => m.clone(),
        None => tingji_workflow::default_whisper_model(&store)?,
    };
    let model_path = store.resolve(&model_name)?;
    let display_name = if Path::new(&model_name).is_file() {
        Path::new(&model_name).file_stem().map(|s| s.to_string_lossy().trim_start_matches("ggml-").to_string()).unwrap_or(model_name.clone())
    } else {
        model_name.clone()
    };
    let raw = a.raw_format.as_deref().map(str::parse::<RawFormat>).transpose()?;
    if a.files.len() > 1
        && let Some(o) = &a.output
        && o.exists()
        && !o.is_dir()
    {
        bail!("--output must be a directory when several files are given");
    }
    let opts = TranscribeOptions {
        language: (a.language != "auto").then(|| a.language.clone()),
        strategy: if a.beam_size == 0 { Strategy::Greedy { best_of: a.best_of } } else { Strategy::Beam { beam_size: a.beam_size } },
        threads: a.threads.unwrap_or_else(tingji_asr::default_threads),
        initial_prompt: a.prompt.clone(),
        temperature: a.temperature,
        temperature_inc: a.temperature_inc,
        vad: VadConfig { enabled: !a.no_vad, ..VadConfig::default() },
        separate_channels: a.separate_channels,
        script: match a.script {
            ScriptArg::Simplified => Script::Simplified,
            ScriptArg::Traditional => Script::Traditional,
            ScriptArg::AsIs => Script::AsIs,
        },
        decode: DecodeOptions {
            raw,
            ffmpeg: if a.no_ffmpeg { FfmpegPolicy::Never } else { FfmpegPolicy::Auto },
            ..DecodeOptions::default()
        },
        checkpoint: None,
        keep_checkpoint: false,
    };
    // Validate every input before loading the model, so bad paths fail fast.
    for f in &a.files {
        if !f.exists() {
            return Err(tingji_media::MediaError::NotFound(f.clone()).into());
        }
    }
    let mut diarizer = if diarize { speakers_cmd::load_diarizer(&store, opts.threads, keep_in_library)? } else { None };
    let dopts = speakers_cmd::options((a.speakers, a.min_speakers, a.max_speakers), opts.threads, &opts.decode);
    let engine = Engine::load(&model_path, &display_name).with_context(|| format!("loading model {model_name}"))?;
    let cancel = cancel_flag();
    let jobs_dir = tingji_workflow::paths::jobs_dir(&store);
    let mut library = if keep_in_library { Some(open_library()?) } else { None };
    let mut failures = 0;
    // Resumable like the transcription (same folder), unless --no-resume.
    let diarize_opts = |f: &Path| DiarizeOptions {
        checkpoint: (!a.no_resume).then(|| tingji_workflow::speakers::checkpoint(&store, f, None)),
        ..dopts.clone()
    };
    for f in &a.files {
        let mut o = opts.clone();
        if !a.no_resume {
            // Kept when complete until the transcript is stored (library or output): a failed
            // store is retried without transcribing again.
            o.checkpoint = Some(tingji_asr::checkpoint_path(&jobs_dir, f, &display_name, &o));
            o.keep_checkpoint = true;
        }
        let stored = || {
            if let Some(cp) = &o.checkpoint {
                tingji_asr::remove_checkpoint(cp);
            }
        };
        let res = transcribe_one(&engine, f, &o, &cancel).and_then(|mut t| match diarizer.as_mut() {
            Some(d) => match speakers_cmd::diarize_one(d, f, &mut t, &diarize_opts(f), &cancel) {
                Ok(dz) => Ok((t, Some(dz))),
                Err(e) if keep_in_library && error_code(&e) != "cancelled" => {
                    eprintln!("tingji: warning: {e:#} (the transcript is kept without speakers)");
                    t.warnings.push(format!("speakers not told apart: {e:#}"));
                    Ok((t, None))
                }
                Err(e) => Err(e),
            },
            None => Ok((t, None)),
        });
        let (t, dz) = match res {
            Ok(t) => t,
            Err(e) if a.files.len() > 1 && error_code(&e) != "cancelled" => {
                eprintln!("tingji: error[{}]: {}: {e:#}", error_code(&e), f.display());
                failures += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(lib) = library.as_mut() {
            let id = lib.import_meeting(&t, Some((f.as_path(), tingji_library::KeepAs::Copy)), None)?;
            if let Some(dz) = &dz {
                speakers_cmd::remember_voices(lib, id, &t, dz, f);
            }
            out!("{id}\t{}", f.display());
            ids.push((id, f.clone()));
            if a.output.is_none() {
                stored();
                continue;
            }
        }
        let text = match (&dz, rttm) {
            (Some(dz), true) => {
                let id = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                tingji_diarize::der::to_rttm(&id, &tingji_diarize::der::labelled(&dz.turns)).into_bytes()
            }
            _ => tingji_export::render(&tingji_export::Document::from_transcript(t), format, &export_opts)?,
        };
        match (&a.output, a.files.len()) {
            (None, 1) => {
                stdout_bytes(&text)?;
            }
            (Some(o), 1) if !o.is_dir() => write_atomic(o, &text)?,
            (dir, _) => {
                let dir = dir.clone().unwrap_or_else(|| f.parent().map(Path::to_path_buf).unwrap_or_default());
                std::fs::create_dir_all(&dir)?;
                let stem = f.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
                let out = dir.join(format!("{stem}.{}", if rttm { "rttm" } else { format.extension() }));
                write_atomic(&out, &text)?;
                eprintln!("{} → {}", f.display(), out.display());
            }
        }
        stored();
    }
    if failures > 0 {
        bail!("{failures} of {} files failed", a.files.len());
    }
    Ok(ids)
}

pub(crate) fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    Ok(tingji_workflow::save_export(path, text)?)
}

pub(crate) fn fmt_ms(ms: u64) -> String {
    tingji_export::clock(ms, false)
}

/// Transcribes one file with a progress bar (TTY) or periodic progress lines (pipes) on stderr.
pub(crate) fn transcribe_one(
    engine: &Engine,
    f: &Path,
    opts: &TranscribeOptions,
    cancel: &Arc<AtomicBool>,
) -> Result<tingji_transcript::Transcript> {
    let tty = std::io::stderr().is_terminal();
    let quiet = std::env::var_os("TINGJI_QUIET").is_some();
    let bar = if tty && !quiet {
        let b = ProgressBar::new(1000);
        b.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        b.set_prefix(f.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
        Some(b)
    } else {
        None
    };
    let mut last_line = Instant::now() - Duration::from_secs(10);
    let mut on_event = |e: Event| match e {
        Event::Opened { track_note: Some(n), .. } => eprintln!("{}: {n}", f.display()),
        Event::Resumed { from_ms, segments } => {
            eprintln!("{}: resuming at {} ({segments} segments already done)", f.display(), fmt_ms(from_ms))
        }
        Event::Language { code, probability } if !quiet => {
            eprintln!("{}: detected language {code} (p = {probability:.2})", f.display())
        }
        Event::Warning(w) => eprintln!("{}: warning: {w}", f.display()),
        Event::Progress { done_ms, total_ms, eta_ms } => {
            let pct = total_ms.filter(|t| *t > 0).map(|t| (done_ms * 1000 / t).min(1000));
            let eta = eta_ms.map(|e| format!("ETA {}", fmt_ms(e))).unwrap_or_else(|| "ETA --:--".into());
            if let Some(b) = &bar {
                if let Some(p) = pct {
                    b.set_position(p);
                }
                b.set_message(format!("{} / {} {eta}", fmt_ms(done_ms), total_ms.map(fmt_ms).unwrap_or("?".into())));
            } else if !quiet && last_line.elapsed() > Duration::from_secs(2) {
                last_line = Instant::now();
                let p = pct.map(|p| format!("{:.0}%", p as f32 / 10.0)).unwrap_or("?".into());
                eprintln!("progress {p} {} {eta}", fmt_ms(done_ms));
            }
        }
        _ => {}
    };
    let res = tingji_asr::transcribe_file(engine, f, opts, &mut on_event, cancel);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    res.map_err(|e| anyhow::Error::new(e).context(format!("{}", f.display())))
}

