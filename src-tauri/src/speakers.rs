//! Speaker commands: a meeting's speakers (rename, merge) and the voiceprints that name the same
//! voices in later meetings (list, rename, merge, forget). All are library calls.

use tingji_library::MeetingId;

use tauri::ipc::Channel;

use crate::api::{AppError, CatalogItem, JobEvent, JobTicket, VoiceprintItem};
use crate::commands::{St, db};
use crate::error::AppResult;
use crate::worker::Work;

#[tauri::command]
#[specta::specta]
pub async fn rename_speaker(state: St<'_>, id: i64, label: String, name: Option<String>) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.rename_speaker(MeetingId(id), &label, name.as_deref().filter(|n| !n.trim().is_empty()))?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn merge_speakers(state: St<'_>, id: i64, from: String, into: String) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.merge_speakers(MeetingId(id), &from, &into)?)).await
}

/// The voiceprints: voices the user named, which name the same voices in later meetings.
#[tauri::command]
#[specta::specta]
pub async fn list_voiceprints(state: St<'_>) -> AppResult<Vec<VoiceprintItem>> {
    db(&state, move |lib| {
        Ok(lib.voiceprints()?.into_iter().map(|v| VoiceprintItem { name: v.name, speech_ms: v.speech_ms, speakers: v.speakers }).collect())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn rename_voiceprint(state: St<'_>, name: String, new_name: String) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.rename_voiceprint(&name, &new_name)?)).await
}

#[tauri::command]
#[specta::specta]
pub async fn merge_voiceprints(state: St<'_>, from: String, into: String) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.merge_voiceprints(&from, &into)?)).await
}

/// Deletes a voiceprint and the voices it came from (the UI asks first); names in meetings stay.
#[tauri::command]
#[specta::specta]
pub async fn forget_voiceprint(state: St<'_>, name: String) -> AppResult<()> {
    db(&state, move |lib| Ok(lib.forget_voiceprint(&name).map(|_| ())?)).await
}

/// Tells a meeting's speakers apart again from its audio as a background job (progress, ETA,
/// cancel): `speakers` splits a voice taken for two people, or joins them; estimated when None.
#[tauri::command]
#[specta::specta]
pub async fn rediarize_meeting(state: St<'_>, id: i64, speakers: Option<u32>, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    if speakers.is_some_and(|n| n == 0 || n > 20) {
        return Err(AppError::new("bad_count", "the number of speakers is 1 to 20"));
    }
    Ok(state.jobs.submit(format!("speakers {id}"), Work::Rediarize { meeting: MeetingId(id), speakers }, state.settings(), Some(on_event)))
}

/// The speaker models (pyannote segmentation-3.0 + CAM++) as one catalog entry: without them
/// imported meetings get no speakers.
#[tauri::command]
#[specta::specta]
pub async fn speaker_models() -> AppResult<CatalogItem> {
    crate::commands::blocking(|| {
        let store = tingji_models::ModelStore::open_default()?;
        Ok(CatalogItem {
            name: SPEAKER_MODELS.into(),
            size_bytes: tingji_models::diarization_catalog().iter().map(|f| f.size_bytes).sum(),
            installed: tingji_workflow::speakers::installed(&store),
        })
    })
    .await
}

/// Downloads the speaker models from the sherpa-onnx releases (checked, then installed).
#[tauri::command]
#[specta::specta]
pub async fn download_speaker_models(state: St<'_>, on_event: Channel<JobEvent>) -> AppResult<JobTicket> {
    Ok(state.jobs.submit(SPEAKER_MODELS.into(), Work::DownloadSpeakers, state.settings(), Some(on_event)))
}

/// What the UI shows for the pair.
const SPEAKER_MODELS: &str = "segmentation-3.0 + CAM++";
