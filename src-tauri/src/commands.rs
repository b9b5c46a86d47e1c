//! The IPC commands: each one checks its input, then hands the work to the core — library
//! calls on a blocking thread, long jobs to the inference worker. Nothing here decodes, infers
//! or holds a lock across a call into the core.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};

use tauri::State;
use tauri::ipc::Channel;
use tingji_library::{Filter, Library, MeetingId, Sort};
use tingji_models::ModelStore;

use crate::api::*;
use crate::error::AppResult;
use crate::record::Recordings;
use crate::worker::{Jobs, Work};

/// Everything the commands share.
pub struct AppState {
    pub library_root: PathBuf,
    library: Mutex<Option<Library>>,
    pub jobs: Arc<Jobs>,
    settings_path: PathBuf,
    settings: Mutex<Settings>,
    recordings: Recordings,
}

pub type St<'a> = State<'a, Arc<AppState>>;

impl AppState {
    pub fn new(library_root: PathBuf, settings_path: PathBuf) -> AppState {
        let settings = crate::settings::load(&settings_path);
        AppState {
            jobs: Jobs::start(library_root.clone()),
            library_root,
            library: Mutex::default(),
            settings_path,
            settings: Mutex::new(settings),
            recordings: Recordings::default(),
        }
    }

    pub(crate) fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Runs `f` on a blocking thread (never the async runtime).
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| AppError::new("internal", e.to_string()))?
}

/// Runs `f` with the app's library connection on a blocking thread.
pub(crate) async fn db<T: Send + 'static>(st: &Arc<AppState>, f: impl FnOnce(&mut Library) -> AppResult<T> + Send + 'static) -> AppResult<T> {
    let st = st.clone();
    blocking(move || {
        // A command that panicked holding the connection poisons the lock: reopen the
        // connection instead of failing every later command.
        let mut g = st.library.lock().unwrap_or_else(|poisoned| {
            st.library.clear_poison();
            let mut g = poisoned.into_inner();
            *g = None;
            g
        });
        if g.is_none() {
            *g = Some(Library::open(&st.library_root)?);
        }
        f(g.as_mut().expect("opened"))
    })
    .await
}

fn store() -> AppResult<ModelStore> {
    Ok(ModelStore::open_default()?)
}

#[tauri::command]
#[specta::specta]
pub async fn app_info(state: St<'_>) -> AppResult<AppInfo> {
    let st = state.inner().clone();
    blocking(move || {
        let store = store()?;
        let data = tingji_workflow::paths::data_dir(&store);
        let mut models: Vec<WhisperModelItem> =
            store.list()?.into_iter().map(|m| WhisperModelItem { name: m.name, size_bytes: m.size, multilingual: m.multilingual }).collect();
        if let Ok(best) = tingji_workflow::default_whisper_model(&store) {
            models.sort_by_key(|m| m.name != best);
        }
        let recordings = tingji_workflow::paths::recordings_dir(&store);
        let pending = tingji_capture::session::pending(&recordings)
            .into_iter()
            .map(|(_, s)| PendingRecording { path: recordings.join(&s.wav).display().to_string(), title: None, started_ms: s.started_at_ms.max(0) as u64 })
            .collect();
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").into(),
            data_dir: data.display().to_string(),
            library_dir: st.library_root.display().to_string(),
            recordings_dir: recordings.display().to_string(),
            first_run: !st.settings().onboarded,
            whisper_models: models,
            llm_models: tingji_workflow::installed_gguf().iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect(),
            pending_recordings: pending,
        })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn get_settings(state: St<'_>) -> AppResult<Settings> {
    Ok(state.settings())
}

#[tauri::command]
#[specta::specta]
pub async fn save_settings(state: St<'_>, settings: Settings) -> AppResult<()> {
    if !matches!(settings.ui_language.as_str(), "zh" | "en") {
        return Err(AppError::new("bad_setting", format!("UI language {:?} (zh or en)", settings.ui_language)));
    }
    if !matches!(settings.theme.as_str(), "light" | "dark" | "system") {
        return Err(AppError::new("bad_setting", format!("theme {:?} (light, dark or system)", settings.theme)));
    }
    let st = state.inner().clone();
    blocking(move || {
        crate::settings::save(&st.settings_path, &settings)?;
        *st.settings.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
        Ok(())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn provider_presets() -> AppResult<Vec<ProviderPreset>> {
    blocking(|| {
        let mut v = vec![ProviderPreset {
            id: tingji_llm::provider::BUILTIN.into(),
            label: "Built-in (llama.cpp, on this computer)".into(),
            base_url: String::new(),
            default_model: tingji_workflow::builtin_gguf(None).ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).unwrap_or_default(),
            local: true,
            needs_key: false,
            has_key: false,
        }];
        for p in tingji_llm::provider::PROVIDERS {
            let has_key = p.key_env.is_some_and(|e| std::env::var_os(e).is_some_and(|v| !v.is_empty()))
                || (p.key_env.is_some() && matches!(tingji_llm::provider::key_from_keyring(p.id), Ok(Some(_))));
            v.push(ProviderPreset {
                id: p.id.into(),
                label: p.label.into(),
                base_url: p.base_url.into(),
                default_model: p.default_model.into(),
                local: p.local,
                needs_key: p.key_env.is_some(),
                has_key,
            });
        }
        Ok(v)
    })
    .await
}

/// Stores (or with `None`, removes) a provider's API key in the OS keyring. The key is never
/// sent back to the webview.
#[tauri::command]
#[specta::specta]
pub async fn set_api_key(provider: String, key: Option<String>) -> AppResult<()> {
    tingji_llm::Provider::find(&provider)?;
    blocking(move || {
        let secret = key.filter(|k| !k.trim().is_empty()).map(|k| tingji_llm::Secret::new(k.trim()));
        Ok(tingji_llm::provider::store_key(&provider, secret.as_ref())?)
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn test_connection(state: St<'_>, llm: LlmSettings) -> AppResult<ConnectionTest> {
    let (tx, rx) = mpsc::channel();
    let mut settings = state.settings();
    settings.llm = llm;
    state.jobs.submit("test connection".into(), Work::TestConnection { reply: tx }, settings, None);
    blocking(move || rx.recv().map_err(|_| AppError::new("worker_gone", "the inference worker stopped"))?).await
}

#[tauri::command]
#[specta::specta]
pub async fn whisper_catalog() -> AppResult<Vec<CatalogItem>> {
    blocking(|| {
        let installed: Vec<String> = store()?.list()?.into_iter().map(|m| m.name).collect();
        Ok(tingji_models::catalog()
            .into_iter()
            .map(|e| CatalogItem { name: e.name.into(), size_bytes: e.size_bytes, installed: installed.iter().any(|n| n == e.name) })
            .collect())
    })
    .await
}

/// The built-in chat models that can be downloaded, best first (the first is the default).
#[tauri::command]
#[specta::specta]
pub async fn llm_catalog() -> AppResult<Vec<CatalogItem>> {
    blocking(|| Ok(tingji_workflow::builtin_catalog().into_iter().map(|(e, installed)| CatalogItem { name: e.name.into(), size_bytes: e.size_bytes, installed }).collect()))
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn download_llm_model(state: St<'_>, name: String, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    if tingji_models::gguf_entry(&name).is_none() && std::env::var_os(tingji_models::GGUF_BASE_URL_ENV).is_none() {
        return Err(AppError::new("unknown_model", format!("{name} is not in the built-in model catalog")));
    }
    Ok(state.jobs.submit(name.clone(), Work::DownloadLlm { name }, state.settings(), Some(on_event)))
}

#[tauri::command]
#[specta::specta]
pub async fn download_whisper_model(state: St<'_>, name: String, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    if tingji_models::catalog_entry(&name).is_none() && std::env::var_os(tingji_models::BASE_URL_ENV).is_none() {
        return Err(AppError::new("unknown_model", format!("{name} is not in the model catalog")));
    }
    Ok(state.jobs.submit(name.clone(), Work::DownloadModel { name }, state.settings(), Some(on_event)))
}

#[tauri::command]
#[specta::specta]
pub async fn import_whisper_model(state: St<'_>, dir: String, name: String, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    let d = PathBuf::from(&dir);
    if !d.is_dir() {
        return Err(AppError::new("not_found", format!("{dir} is not a folder")));
    }
    Ok(state.jobs.submit(dir, Work::ImportModel { dir: d, name }, state.settings(), Some(on_event)))
}

#[tauri::command]
#[specta::specta]
pub async fn delete_whisper_model(name: String) -> AppResult<()> {
    blocking(move || {
        let store = store()?;
        if !store.list()?.iter().any(|m| m.name == name) {
            return Err(AppError::new("model_missing", format!("{name} is not installed")));
        }
        std::fs::remove_file(store.model_path(&name))?;
        Ok(())
    })
    .await
}

fn meeting_item(s: &tingji_library::MeetingSummary, has_notes: bool) -> MeetingItem {
    MeetingItem {
        id: s.id.0,
        title: s.title.clone(),
        created_ms: s.created_at.max(0) as u64,
        duration_ms: s.duration_ms,
        source_kind: s.source_kind.as_str().into(),
        folder: s.folder.clone(),
        tags: s.tags.clone(),
        language: s.language.clone(),
        has_notes,
    }
}

#[tauri::command]
#[specta::specta]
pub async fn list_meetings(state: St<'_>, query: ListQuery) -> AppResult<Vec<MeetingItem>> {
    db(&state, move |lib| {
        let sort = match query.sort {
            SortKey::Newest | SortKey::Longest => Sort::CreatedDesc,
            SortKey::Oldest => Sort::CreatedAsc,
            SortKey::Title => Sort::Title,
        };
        let f = Filter { folder: query.folder, tag: query.tag, sort, ..Filter::default() };
        let mut v = Vec::new();
        for s in lib.list(&f)? {
            let has_notes = lib.notes(s.id)?.is_some();
            v.push(meeting_item(&s, has_notes));
        }
        if query.sort == SortKey::Longest {
            v.sort_by_key(|m| std::cmp::Reverse(m.duration_ms));
        }
        Ok(v)
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn search_meetings(state: St<'_>, query: String) -> AppResult<Vec<SearchHitItem>> {
    if query.trim().is_empty() {
        return Ok(Vec::new());
    }
    db(&state, move |lib| {
        Ok(lib
            .search(&query, &Filter::default(), 200)?
            .into_iter()
            .map(|h| SearchHitItem { meeting_id: h.meeting_id.0, title: h.title, segment_idx: h.segment_idx, start_ms: h.start_ms, snippet: h.snippet })
            .collect())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn get_meeting(state: St<'_>, id: i64) -> AppResult<MeetingView> {
    db(&state, move |lib| {
        let id = MeetingId(id);
        let m = lib.meeting(id)?;
        let notes = lib.notes(id)?;
        // Segments carry speaker labels (the UI shows `speakers`' names and keys colours by label).
        let labelled = m.current_version.map(|v| lib.transcript_version(v)).transpose()?;
        let segments: Vec<SegmentView> = labelled
            .as_ref()
            .map(|t| {
                t.segments
                    .iter()
                    .enumerate()
                    .map(|(i, s)| SegmentView {
                        idx: i as u32,
                        start_ms: s.start_ms,
                        end_ms: s.end_ms,
                        speaker: s.speaker.clone(),
                        text: s.text.clone(),
                        words: s.words.iter().map(|w| WordView { start_ms: w.start_ms, end_ms: w.end_ms, text: w.text.clone() }).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let current = m.current_version;
        Ok(MeetingView {
            id: id.0,
            title: m.summary.title.clone(),
            created_ms: m.summary.created_at.max(0) as u64,
            duration_ms: m.summary.duration_ms,
            source_kind: m.summary.source_kind.as_str().into(),
            folder: m.summary.folder.clone(),
            tags: m.summary.tags.clone(),
            language: m.summary.language.clone(),
            audio_path: m.media.iter().find(|x| x.present).map(|x| x.abs_path.display().to_string()),
            // Speakers of the current version (labels an older version used are not shown).
            speakers: m
                .speakers
                .iter()
                .filter(|s| segments.iter().any(|g| g.speaker.as_deref() == Some(s.label.as_str())))
                .map(|s| SpeakerItem { label: s.label.clone(), name: s.name.clone(), matched: s.matched })
                .collect(),
            segments,
            marks: m
                .marks
                .iter()
                .filter(|k| Some(k.version_id) == current)
                .map(|k| MarkItem {
                    segment_idx: k.segment_idx,
                    kind: match k.kind {
                        tingji_library::MarkKind::Key => MarkKindDto::Key,
                        tingji_library::MarkKind::Question => MarkKindDto::Question,
                        tingji_library::MarkKind::Todo => MarkKindDto::Todo,
                    },
                })
                .collect(),
            versions: m
                .versions
                .iter()
                .enumerate()
                .map(|(i, v)| VersionItem { id: v.id.0, label: format!("v{}", i + 1), model: v.model.clone(), created_ms: v.created_at.max(0) as u64, current: v.is_current })
                .collect(),
            user_notes: m.notes.clone().unwrap_or_default(),
            notes,
            actions: m
                .action_items
                .iter()
                .filter_map(|a| {
                    Some(ActionView { id: a.id?, text: a.text.clone(), owner: a.owner.clone(), due: a.due.clone(), source_ms: a.source_ms, done: a.done })
                })
                .collect(),
        })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn rename_meeting(state: St<'_>, id: i64, title: String) -> AppResult<()> {
    if title.trim().is_empty() {
        return Err(AppError::new("bad_title", "a title cannot be empty"));
    }
    db(&state, move |lib| Ok(lib.rename(MeetingId(id), title.trim())?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_folder(state: St<'_>, id: i64, folder: Option<String>) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.set_folder(MeetingId(id), folder.as_deref().filter(|f| !f.trim().is_empty()))?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_tags(state: St<'_>, id: i64, tags: Vec<String>) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.set_tags(MeetingId(id), &tags)?)).await
}

/// Deletes a meeting with its kept audio: the only delete of audio in the app (the UI asks first).
#[tauri::command]
#[specta::specta]
pub async fn delete_meeting(state: St<'_>, id: i64) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.delete_meeting(MeetingId(id))?)).await
}

/// Changes one segment's text; the edit becomes a new current transcript version (the
/// recogniser's version stays).
#[tauri::command]
#[specta::specta]
pub async fn edit_segment(state: St<'_>, id: i64, segment_idx: u32, text: String) -> AppResult<()> {
    db(&state, move |lib| {
        let id = MeetingId(id);
        let mut t = lib.meeting(id)?.transcript.ok_or_else(|| AppError::new("no_transcript", "this meeting has no transcript"))?;
        let s = t.segments.get_mut(segment_idx as usize).ok_or_else(|| AppError::new("not_found", format!("segment {segment_idx}")))?;
        if s.text == text {
            return Ok(());
        }
        s.text = text;
        // The word timings no longer match the text.
        s.words.clear();
        if !t.model.name.ends_with("(edited)") {
            t.model.name = format!("{} (edited)", t.model.name);
        }
        let v = lib.add_transcript_version(id, &t)?;
        lib.set_current_version(v)?;
        Ok(())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn set_user_notes(state: St<'_>, id: i64, markdown: String) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.set_notes(MeetingId(id), &markdown)?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn set_action_done(state: St<'_>, item_id: i64, done: bool) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.set_action_done(item_id, done)?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_mark(state: St<'_>, id: i64, segment_idx: u32, kind: MarkKindDto) -> AppResult<()> {
    db(&state, move |lib| {
        let v = lib.meeting(MeetingId(id))?.current_version.ok_or_else(|| AppError::new("no_transcript", "this meeting has no transcript"))?;
        let kind = match kind {
            MarkKindDto::Key => tingji_library::MarkKind::Key,
            MarkKindDto::Question => tingji_library::MarkKind::Question,
            MarkKindDto::Todo => tingji_library::MarkKind::Todo,
        };
        Ok(lib.add_mark(v, segment_idx, kind)?)
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn set_current_version(state: St<'_>, version_id: i64) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.set_current_version(tingji_library::VersionId(version_id))?)).await
}

/// Peak levels (0..=1) of the meeting's audio in `buckets` equal slices, for the waveform.
#[tauri::command]
#[specta::specta]
pub async fn waveform(state: St<'_>, id: i64, buckets: u32) -> AppResult<Vec<f32>> {
    let path = db(&state, move |lib| {
        let m = lib.meeting(MeetingId(id))?;
        Ok(m.media.iter().find(|x| x.present).map(|x| x.abs_path.clone()))
    })
    .await?;
    let Some(path) = path else { return Ok(Vec::new()) };
    blocking(move || Ok(tingji_media::peaks(&path, buckets.clamp(1, 10_000) as usize)?)).await
}

/// Files (and the audio/video files inside dropped folders) into the library, one job each.
#[tauri::command]
#[specta::specta]
pub async fn import_files(state: St<'_>, paths: Vec<String>, request: TranscribeRequest, on_event: Channel<JobEvent>) -> AppResult<Vec<JobTicket>> {
    let files = blocking(move || Ok(tingji_workflow::dropped::expand(paths.iter().map(PathBuf::from)))).await?;
    if files.is_empty() {
        return Err(AppError::new("no_media", "nothing to import: no audio or video files there"));
    }
    let settings = state.settings();
    Ok(files
        .into_iter()
        .map(|f| state.jobs.submit(f.display().to_string(), Work::Import { path: f, request: request.clone() }, settings.clone(), Some(on_event.clone())))
        .collect())
}

#[tauri::command]
#[specta::specta]
pub async fn retranscribe(state: St<'_>, id: i64, request: TranscribeRequest, range: Option<TimeRange>, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    if let Some(r) = range
        && r.end_ms <= r.start_ms
    {
        return Err(AppError::new("bad_range", "the range ends before it starts"));
    }
    Ok(state.jobs.submit(format!("meeting {id}"), Work::Retranscribe { meeting: MeetingId(id), request, range }, state.settings(), Some(on_event)))
}

#[tauri::command]
#[specta::specta]
pub async fn cancel_job(state: St<'_>, job_id: u32) -> AppResult<()> {
    if state.jobs.cancel(job_id) { Ok(()) } else { Err(AppError::new("not_found", format!("no job {job_id} is queued or running"))) }
}

#[tauri::command]
#[specta::specta]
pub async fn generate_notes(state: St<'_>, id: i64, request: NotesRequest, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    Ok(state.jobs.submit(format!("notes {id}"), Work::Notes { meeting: MeetingId(id), request }, state.settings(), Some(on_event)))
}

#[tauri::command]
#[specta::specta]
pub async fn ask_meeting(state: St<'_>, id: i64, question: String) -> AppResult<AskAnswer> {
    if question.trim().is_empty() {
        return Err(AppError::new("empty_question", "ask a question"));
    }
    let (tx, rx) = mpsc::channel();
    state.jobs.submit(format!("ask {id}"), Work::Ask { meeting: MeetingId(id), question, reply: tx }, state.settings(), None);
    blocking(move || rx.recv().map_err(|_| AppError::new("worker_gone", "the inference worker stopped"))?).await
}

#[tauri::command]
#[specta::specta]
pub async fn export_formats() -> AppResult<Vec<ExportFormatItem>> {
    Ok(tingji_export::Format::ALL
        .iter()
        .map(|f| ExportFormatItem {
            id: f.extension().into(),
            extension: f.extension().into(),
            sections: if *f == tingji_export::Format::Json {
                Vec::new()
            } else {
                ["timestamps", "speakers", "marks", "notes", "bilingual"].map(String::from).to_vec()
            },
        })
        .collect())
}

#[tauri::command]
#[specta::specta]
pub async fn export_meeting(state: St<'_>, id: i64, request: ExportRequest) -> AppResult<ExportResult> {
    let format: tingji_export::Format = request.format.parse()?;
    let opts = tingji_workflow::export_options(format, &request.with, &request.without)?;
    let (bytes, title) = db(&state, move |lib| {
        let bytes = tingji_workflow::render_meeting(lib, MeetingId(id), format, &opts)?;
        Ok((bytes, lib.summary(MeetingId(id))?.title))
    })
    .await?;
    blocking(move || {
        let out = PathBuf::from(&request.path);
        if out.as_os_str().is_empty() {
            return Err(AppError::new("bad_path", "choose where to save the export"));
        }
        // A folder gets "<title>.<ext>" (numbered when taken); a file the user chose is replaced.
        let out = if out.is_dir() {
            tingji_workflow::save_export_in(&out, &title, format.extension(), &bytes)?
        } else {
            tingji_workflow::save_export(&out, &bytes)?;
            out
        };
        Ok(ExportResult { path: out.display().to_string(), bytes: bytes.len() as u64 })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn list_devices() -> AppResult<Vec<DeviceItem>> {
    blocking(|| {
        Ok(tingji_capture::device::list()?
            .into_iter()
            .map(|d| DeviceItem { id: d.id, name: d.name, role: d.role.as_str().into(), is_default: d.is_default })
            .collect())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn start_recording(state: St<'_>, request: RecordRequest, on_event: Channel<RecordEvent>) -> AppResult<()> {
    let st = state.inner().clone();
    blocking(move || {
        let dir = tingji_workflow::paths::recordings_dir(&store()?);
        st.recordings.start(&request, &st.settings(), dir, on_event).map(drop)
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn pause_recording(state: St<'_>) -> AppResult<()> {
    state.recordings.pause()
}

#[tauri::command]
#[specta::specta]
pub async fn resume_recording(state: St<'_>) -> AppResult<()> {
    state.recordings.resume()
}

#[tauri::command]
#[specta::specta]
pub async fn mark_recording(state: St<'_>, kind: MarkKindDto) -> AppResult<()> {
    state.recordings.mark(kind)
}

/// Stops the recording; the full-quality pass runs as a job whose `done` names the new meeting.
#[tauri::command]
#[specta::specta]
pub async fn stop_recording(state: St<'_>, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    let st = state.inner().clone();
    let s = blocking(move || st.recordings.stop()).await?;
    let label = s.rec.path.display().to_string();
    let work = Work::Recording { rec: Box::new(s.rec), captions: s.captions, live_model: s.live_model, owned: s.owned };
    Ok(state.jobs.submit(label, work, state.settings(), Some(on_event)))
}

/// Repairs recordings a crash left unfinished and adds every recording not yet in the library.
#[tauri::command]
#[specta::specta]
pub async fn recover_recordings(state: St<'_>, on_event: Channel<JobEvent>) -> AppResult<Vec<JobTicket>> {
    let found = blocking(|| {
        let dir = tingji_workflow::paths::recordings_dir(&store()?);
        for r in tingji_capture::session::recover(&dir) {
            if let Err(e) = r {
                tracing::warn!("recovering {}: {e}", dir.display());
            }
        }
        Ok(tingji_capture::session::pending(&dir).into_iter().map(|(sp, s)| (sp.with_file_name(&s.wav), sp, s)).collect::<Vec<_>>())
    })
    .await?;
    let settings = state.settings();
    Ok(found
        .into_iter()
        .map(|(wav, session_path, session)| {
            let captions = tingji_workflow::recording::kept_captions(&wav);
            let rec = tingji_capture::Recording { path: wav.clone(), session_path, session, stop: tingji_capture::StopReason::Requested };
            let work = Work::Recording { rec: Box::new(rec), captions, live_model: "live".into(), owned: true };
            state.jobs.submit(wav.display().to_string(), work, settings.clone(), Some(on_event.clone()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command that panics while holding the library leaves the lock poisoned; the next
    /// command reopens the library and works.
    #[test]
    fn the_library_lock_recovers_from_a_panicking_command() {
        let d = tempfile::tempdir().unwrap();
        let st = Arc::new(AppState::new(d.path().join("library"), d.path().join("settings.json")));
        let poisoner = st.clone();
        let _ = std::thread::spawn(move || {
            let _g = poisoner.library.lock().unwrap();
            panic!("a command panicked");
        })
        .join();
        assert!(st.library.is_poisoned());
        let n = tauri::async_runtime::block_on(db(&st, |lib| Ok(lib.list(&Default::default())?.len()))).unwrap();
        assert_eq!(n, 0);
        assert!(!st.library.is_poisoned());
    }
}
