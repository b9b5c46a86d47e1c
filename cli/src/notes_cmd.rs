//! `tingji notes`, `tingji ask` and `tingji llm`: AI notes through the built-in model or any
//! OpenAI-compatible server.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use tingji_llm::provider::{self, BUILTIN, PROVIDERS};
use tingji_llm::{Cancel, ChatModel, HttpChat, LocalChat, ProviderConfig, Secret};
use tingji_notes::{NotesEvent, NotesOptions, Template};
use tingji_transcript::Transcript;
use tingji_transcript::notes::{MeetingNotes, NoteKind};

/// Which model writes the notes. Flags win over the environment (`TINGJI_LLM_PROVIDER`,
/// `TINGJI_LLM_BASE_URL`, `TINGJI_LLM_MODEL`, `TINGJI_LLM_CONTEXT`); with nothing set, the
/// built-in model runs locally.
#[derive(Args, Clone, Debug, Default)]
pub struct LlmArgs {
    /// builtin (default), dashscope, openai, deepseek, ollama, lmstudio, llamacpp, vllm, custom.
    #[arg(long, env = "TINGJI_LLM_PROVIDER")]
    pub provider: Option<String>,
    /// Model name on the server, or for `builtin` an installed GGUF name or path.
    #[arg(long, env = "TINGJI_LLM_MODEL")]
    pub model: Option<String>,
    #[arg(long, env = "TINGJI_LLM_BASE_URL")]
    pub base_url: Option<String>,
    /// The model's context window in tokens (long meetings are split to fit it).
    #[arg(long, env = "TINGJI_LLM_CONTEXT")]
    pub context: Option<usize>,
    /// CPU threads for the built-in model.
    #[arg(long)]
    pub llm_threads: Option<u32>,
}

#[derive(Args)]
pub struct NotesArgs {
    /// A transcript JSON file (from `transcribe --format json`) or a library meeting id.
    pub input: String,
    #[command(flatten)]
    pub llm: LlmArgs,
    /// Only these outputs, comma-separated: summary,key_points,keywords,decisions,chapters,
    /// speakers,qa,actions,mind_map,translation.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// A template name (standup, one-on-one, interview, lecture, sales-call, or your own in
    /// the config dir's templates/) or a .toml file.
    #[arg(long)]
    pub template: Option<String>,
    /// Language of the notes (default: the transcript's).
    #[arg(long)]
    pub language: Option<String>,
    /// Also translate the transcript, segment by segment, into this language.
    #[arg(long)]
    pub translate_to: Option<String>,
    #[arg(long, default_value = "md")]
    pub format: String,
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Longest answer per model request, in tokens (default 640).
    #[arg(long)]
    pub max_tokens: Option<u32>,
}

#[derive(Args)]
pub struct AskArgs {
    /// A transcript JSON file or a library meeting id.
    pub input: String,
    pub question: String,
    #[command(flatten)]
    pub llm: LlmArgs,
    #[arg(long)]
    pub language: Option<String>,
    /// Print the answer as JSON (answer, citations with times).
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum LlmCmd {
    /// Providers, and the built-in models installed.
    List,
    /// Install a GGUF chat model file for the built-in provider.
    Import {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
    },
    /// Download a built-in chat model (resumable, size and SHA-256 checked; 1.1 GB for the
    /// default). Names: `tingji llm list`.
    Download {
        /// Default: the built-in default model.
        name: Option<String>,
        /// Mirror to download from instead of the publisher's host ({URL}/NAME.gguf; or
        /// $TINGJI_GGUF_BASE_URL).
        #[arg(long)]
        base_url: Option<String>,
        /// Expected SHA-256 (overrides the catalog's; needed for names outside it).
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Store an API key for a provider in the OS keyring (read from stdin).
    SetKey { provider: String },
    /// Send one short request to check that a provider answers.
    Test {
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Benchmark (not a test): the built-in model's prompt and generation tokens/s against a
    /// llama.cpp server on the same GGUF with the same threads, one run each.
    Bench {
        /// The GGUF to run (default: the built-in default model).
        #[arg(long)]
        gguf: Option<PathBuf>,
        /// The llama.cpp `llama-server` binary (or $TINGJI_LLAMA_SERVER).
        #[arg(long, env = "TINGJI_LLAMA_SERVER")]
        server: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: u32,
        /// A transcript JSON whose first ~800 tokens form the prompt.
        transcript: PathBuf,
    },
}

/// The chat model the flags and environment select.
pub fn chat_model(a: &LlmArgs) -> Result<Box<dyn ChatModel>> {
    Ok(tingji_workflow::chat_model(&llm_choice(a))?)
}

fn llm_choice(a: &LlmArgs) -> tingji_workflow::LlmChoice {
    tingji_workflow::LlmChoice {
        provider: a.provider.clone(),
        model: a.model.clone(),
        base_url: a.base_url.clone(),
        context: a.context,
        threads: a.llm_threads,
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting the async runtime")
}

/// The transcript named by `input` (a JSON file, or a library meeting id) and the meeting id.
fn load_input(input: &str) -> Result<(Transcript, Option<tingji_library::MeetingId>)> {
    let p = Path::new(input);
    if p.is_file() {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {input}"))?;
        if let Ok(t) = Transcript::from_json(&text) {
            return Ok((t, None));
        }
        // A full meeting export also carries the transcript.
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{input} is not JSON"))?;
        if let Some(t) = v.get("transcript").filter(|t| !t.is_null()) {
            return Ok((serde_json::from_value(t.clone()).with_context(|| format!("{input}: transcript"))?, None));
        }
        return Err(Transcript::from_json(&text).err().map(anyhow::Error::new).unwrap_or_else(|| anyhow!("{input}: no transcript")));
    }
    let id: i64 = input.parse().map_err(|_| tingji_media::MediaError::NotFound(p.to_path_buf()))?;
    let lib = crate::open_library()?;
    let m = lib.meeting(tingji_library::MeetingId(id))?;
    let t = m.transcript.ok_or_else(|| anyhow!("meeting {id} has no transcript"))?;
    Ok((t, Some(tingji_library::MeetingId(id))))
}

pub fn notes_options(a: &NotesArgs) -> Result<NotesOptions> {
    let mut o = NotesOptions { language: a.language.clone(), translate_to: a.translate_to.clone(), ..NotesOptions::default() };
    if !a.only.is_empty() {
        o.kinds = a.only.iter().map(|k| k.parse::<NoteKind>().map_err(|e| anyhow!(e))).collect::<Result<_>>()?;
    } else if a.translate_to.is_some() {
        o.kinds.push(NoteKind::Translation);
    }
    if let Some(t) = &a.template {
        o.template = Some(Template::find(t, Some(&tingji_workflow::paths::config_dir().join("templates")))?);
        if a.only.is_empty() {
            o.kinds.clear();
        }
    }
    o.context_tokens = a.llm.context;
    if let Some(m) = a.max_tokens {
        o.max_output_tokens = m.max(64);
    }
    Ok(o)
}

/// Progress on stderr: request n/N, what it is, elapsed and ETA; the streamed text on a TTY.
pub struct Progress {
    start: Instant,
    total: usize,
    tty: bool,
    quiet: bool,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            start: Instant::now(),
            total: 0,
            tty: std::io::stderr().is_terminal(),
            quiet: std::env::var_os("TINGJI_QUIET").is_some(),
        }
    }

    pub fn event(&mut self, e: NotesEvent<'_>) {
        if self.quiet {
            return;
        }
        match e {
            NotesEvent::Plan { requests, chunks } => {
                self.total = requests;
                eprintln!("notes: {requests} model requests over {chunks} part(s) of the transcript");
            }
            NotesEvent::Request { index, what } => {
                let el = self.start.elapsed().as_secs_f64();
                let eta = if index > 1 && self.total >= index {
                    let per = el / (index - 1) as f64;
                    format!("ETA {}", crate::fmt_ms((per * (self.total + 1 - index) as f64 * 1000.0) as u64))
                } else {
                    "ETA --:--".into()
                };
                if self.tty {
                    eprintln!();
                }
                eprintln!("notes: [{index}/{}] {what} (elapsed {}, {eta})", self.total.max(index), crate::fmt_ms((el * 1000.0) as u64));
            }
            NotesEvent::Text(t) if self.tty => {
                eprint!("{t}");
                let _ = std::io::stderr().flush();
            }
            NotesEvent::Repair { what, error } => eprintln!("notes: {what}: answer unusable ({error}); asking again"),
            _ => {}
        }
    }
}

/// Ctrl-C cancels `cancel` (and the transcription flag the caller may also hold).
pub fn cancel_token() -> Cancel {
    crate::cancel_token()
}

pub fn make_notes(t: &Transcript, llm: &LlmArgs, opts: &NotesOptions) -> Result<MeetingNotes> {
    let model = chat_model(llm)?;
    let cancel = cancel_token();
    let rt = runtime()?;
    let mut progress = Progress::new();
    let notes = rt.block_on(tingji_notes::generate(model.as_ref(), t, opts, &mut |e| progress.event(e), &cancel))?;
    if !progress.quiet {
        eprintln!(
            "notes: done by {} in {} ({} requests, {} prompt + {} generated tokens)",
            notes.model,
            crate::fmt_ms(progress.start.elapsed().as_millis() as u64),
            notes.usage.requests,
            notes.usage.prompt_tokens,
            notes.usage.completion_tokens
        );
    }
    Ok(notes)
}

pub fn notes(a: NotesArgs) -> Result<()> {
    let (t, meeting) = load_input(&a.input)?;
    let opts = notes_options(&a)?;
    let notes = make_notes(&t, &a.llm, &opts)?;
    if let Some(id) = meeting {
        let mut lib = crate::open_library()?;
        // Stored by label (a later rename follows); printed below with the names.
        let mut stored = notes.clone();
        tingji_workflow::speakers::named_transcript(&lib.meeting(id)?)?.to_labels(&mut stored);
        lib.save_notes(id, &stored)?;
        eprintln!("notes: saved with meeting {}", id.0);
    }
    let text = match a.format.as_str() {
        "json" => notes.to_json_pretty(),
        "md" | "markdown" => {
            let mut doc = tingji_export::Document::from_transcript(t.clone());
            doc.notes = Some(notes.clone());
            let md = tingji_export::render(&doc, tingji_export::Format::Md, &tingji_export::ExportOptions::ALL)?;
            String::from_utf8(md).expect("markdown is UTF-8")
        }
        other => bail!("unknown notes format {other:?} (json or md)"),
    };
    match a.output {
        Some(o) => crate::write_atomic(&o, text.as_bytes())?,
        None => crate::stdout_bytes(text.as_bytes())?,
    }
    Ok(())
}

fn bench(gguf: Option<PathBuf>, server: &Path, threads: u32, transcript: &Path) -> Result<()> {
    use tingji_llm::{ChatRequest, Message, Timings};
    let gguf = match gguf {
        Some(g) => g,
        None => tingji_workflow::builtin_gguf(None)?,
    };
    let t = Transcript::from_json(&std::fs::read_to_string(transcript)?)?;
    let mut text = String::new();
    for s in &t.segments {
        if tingji_llm::tokens::estimate(&text) > 800 {
            break;
        }
        text.push_str(&format!("{}: {}\n", s.speaker.as_deref().unwrap_or("?"), s.text));
    }
    let req = ChatRequest {
        max_tokens: 128,
        temperature: 0.0,
        ..ChatRequest::new(vec![Message::user(format!("{text}\nSummarise this meeting in one paragraph."))])
    };
    let rt = runtime()?;
    let cancel = cancel_token();
    let report = |who: &str, t: &Timings| {
        out!(
            "{who:<22} prompt {:>5} tok {:>7.1} tok/s   generation {:>4} tok {:>6.1} tok/s",
            t.prompt_tokens,
            t.prompt_per_second(),
            t.generated_tokens,
            t.generation_per_second()
        );
    };
    // Built-in: its own process, first request (nothing cached).
    let local = LocalChat::new(&gguf, 4096, threads)?;
    let r = rt.block_on(local.chat(&req, &mut |_| {}, &cancel))?;
    let ours = r.timings.ok_or_else(|| anyhow!("the built-in model reported no timings"))?;
    drop(local);
    // llama.cpp's server on the same file and threads.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = std::process::Command::new(server)
        .args(["-m", &gguf.to_string_lossy(), "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["-c", "4096", "-t", &threads.to_string(), "-np", "1"])
        .env("OMP_WAIT_POLICY", "passive")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", server.display()))?;
    let mut cfg = ProviderConfig::new("llamacpp", Some(&format!("http://127.0.0.1:{port}/v1")), Some("bench"), None)?;
    cfg.stream = false;
    cfg.max_attempts = 1;
    let http = HttpChat::new(cfg)?;
    let started = Instant::now();
    let theirs = loop {
        match rt.block_on(http.chat(&req, &mut |_| {}, &cancel)) {
            Ok(r) => break r.timings.ok_or_else(|| anyhow!("llama-server reported no timings"))?,
            Err(_) if started.elapsed().as_secs() < 120 => std::thread::sleep(std::time::Duration::from_millis(500)),
            Err(e) => {
                let _ = child.kill();
                return Err(e.into());
            }
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    out!("model {} ({} threads)", gguf.display(), threads);
    report("tingji built-in", &ours);
    report("llama.cpp server", &theirs);
    out!(
        "ratio built-in/server: prompt {:.2}x, generation {:.2}x (above 1 = built-in faster)",
        ours.prompt_per_second() / theirs.prompt_per_second(),
        ours.generation_per_second() / theirs.generation_per_second()
    );
    Ok(())
}

pub fn ask(a: AskArgs) -> Result<()> {
    let (t, _) = load_input(&a.input)?;
    let model = chat_model(&a.llm)?;
    let cancel = cancel_token();
    let rt = runtime()?;
    let mut progress = Progress::new();
    let ans = rt.block_on(tingji_notes::ask(
        model.as_ref(),
        &t,
        &a.question,
        a.language.as_deref(),
        a.llm.context,
        &mut |e| progress.event(e),
        &cancel,
    ))?;
    if a.json {
        out!("{}", serde_json::to_string_pretty(&ans)?);
    } else {
        out!("{}", ans.answer);
        for c in &ans.citations {
            out!("  [{}] {}", crate::fmt_ms(c.start_ms), c.text.trim());
        }
    }
    Ok(())
}

pub fn llm(cmd: LlmCmd) -> Result<()> {
    match cmd {
        LlmCmd::List => {
            out!("Providers (--provider NAME):");
            out!("  {:<10} built-in model, runs on this machine", BUILTIN);
            for p in PROVIDERS {
                let where_ = if p.local { "on this machine" } else { "sends the transcript to the provider" };
                out!("  {:<10} {} — {} ({where_})", p.id, p.label, if p.base_url.is_empty() { "--base-url required" } else { p.base_url });
            }
            out!("Built-in models in {}:", tingji_workflow::paths::llm_dir().display());
            let installed = tingji_workflow::installed_gguf();
            if installed.is_empty() {
                out!("  (none)");
            }
            let default = tingji_workflow::builtin_gguf(None).ok();
            for p in installed {
                let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                let mark = if Some(&p) == default.as_ref() { "  (default)" } else { "" };
                out!("  {:<40} {:>8.1} MB{mark}", p.file_stem().unwrap_or_default().to_string_lossy(), size as f64 / 1e6);
            }
            out!("Downloadable (tingji llm download NAME), best first:");
            for (e, installed) in tingji_workflow::builtin_catalog() {
                let mark = if installed { " (installed)" } else { "" };
                out!("  {:<40} {:>8.1} MB{mark}", e.name, e.size_bytes as f64 / 1e6);
            }
        }
        LlmCmd::Download { name, base_url, sha256 } => {
            let src = tingji_models::DownloadSource { base_url, sha256 };
            let shown = name.clone().unwrap_or_else(|| tingji_models::gguf_catalog()[0].name.to_string());
            let path = crate::with_download_progress(&shown, |progress, cancel| tingji_workflow::download_builtin(name.as_deref(), &src, progress, cancel))?;
            out!("installed {shown} at {}", path.display());
        }
        LlmCmd::Import { file, name } => {
            let mut f = std::fs::File::open(&file).map_err(|_| tingji_media::MediaError::NotFound(file.clone()))?;
            let mut magic = [0u8; 4];
            f.read_exact(&mut magic).ok();
            if &magic != b"GGUF" {
                bail!("{} is not a GGUF model file", file.display());
            }
            let name = name.unwrap_or_else(|| file.file_stem().unwrap_or_default().to_string_lossy().to_lowercase());
            let dir = tingji_workflow::paths::llm_dir();
            std::fs::create_dir_all(&dir)?;
            let dest = dir.join(format!("{name}.gguf"));
            let tmp = dir.join(format!(".{name}.gguf.part"));
            std::fs::copy(&file, &tmp).with_context(|| format!("copying {}", file.display()))?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &dest)?;
            out!("installed {name} at {}", dest.display());
        }
        LlmCmd::SetKey { provider: p } => {
            let mut key = String::new();
            std::io::stdin().read_to_string(&mut key)?;
            let key = key.trim();
            provider::store_key(&p, (!key.is_empty()).then(|| Secret::new(key)).as_ref())?;
            out!("{} key for {p}", if key.is_empty() { "removed the" } else { "stored the" });
        }
        LlmCmd::Test { llm } => {
            let model = chat_model(&llm)?;
            let rt = runtime()?;
            let cancel = cancel_token();
            let req = tingji_llm::ChatRequest {
                max_tokens: 16,
                ..tingji_llm::ChatRequest::new(vec![tingji_llm::Message::user("Reply with the single word: ready")])
            };
            let t0 = Instant::now();
            let r = rt.block_on(model.chat(&req, &mut |_| {}, &cancel))?;
            out!("{} answered {:?} in {:.1} s", model.name(), r.text.trim(), t0.elapsed().as_secs_f64());
        }
        LlmCmd::Bench { gguf, server, threads, transcript } => bench(gguf, &server, threads, &transcript)?,
    }
    Ok(())
}
