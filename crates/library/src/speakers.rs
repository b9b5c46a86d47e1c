//! A meeting's speakers (names, merges) and voiceprints: named voices kept across meetings.
//!
//! A speaker row may carry the voice diarization found for it. Naming a speaker puts its voice
//! into the voiceprint of that name (created on first use); the voiceprint is the speech-weighted
//! sum of the voices named so, which lets a rename or merge take a voice out again exactly. In a
//! later meeting, [`Library::recognize_speakers`] names the unnamed speakers whose voice matches
//! a voiceprint, each voiceprint at most once, never over a name the user set; such a name
//! carries its score (`matched`) until the user confirms or changes it. [`Library::forget_voiceprint`]
//! deletes the voiceprint and the voices of the speakers it named, so it cannot come back.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Library, LibraryError, MeetingId, Result, SpeakerVoice, VoiceMatch, Voiceprint, now_ms, touch_meeting};

/// One speaker row's voice state.
struct Row {
    voice: Option<(String, Vec<f32>)>,
    voice_ms: u64,
    voiceprint: Option<i64>,
    in_voiceprint: bool,
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (ua, ub) = (unit(a), unit(b));
    ua.iter().zip(&ub).map(|(x, y)| x * y).sum()
}

fn row(tx: &Transaction, id: MeetingId, label: &str) -> Result<Row> {
    tx.query_row(
        "SELECT voice, voice_model, voice_ms, voiceprint_id, in_voiceprint FROM speakers WHERE meeting_id = ?1 AND label = ?2",
        params![id.0, label],
        |r| {
            let voice = match (r.get::<_, Option<Vec<u8>>>(0)?, r.get::<_, Option<String>>(1)?) {
                (Some(b), Some(m)) => Some((m, from_blob(&b))),
                _ => None,
            };
            Ok(Row { voice, voice_ms: r.get::<_, i64>(2)?.max(0) as u64, voiceprint: r.get(3)?, in_voiceprint: r.get(4)? })
        },
    )
    .optional()?
    .ok_or_else(|| LibraryError::not_found("speaker", format!("{label} in meeting {id}")))
}

/// Adds (`sign` 1) or takes out (-1) a voice weighted by its speech from voiceprint `vp`; a
/// voiceprint left with no speech is deleted. A voice of another model replaces the sum.
fn contribute(tx: &Transaction, vp: i64, model: &str, voice: &[f32], ms: u64, sign: f32) -> Result<()> {
    let (sum, vp_model, total): (Vec<u8>, String, i64) = tx.query_row(
        "SELECT voice_sum, model, speech_ms FROM voiceprints WHERE id = ?1",
        [vp],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut sum = from_blob(&sum);
    let mut total = total.max(0) as u64;
    if vp_model != model || sum.len() != voice.len() {
        if sign < 0.0 {
            return Ok(()); // that voice was never part of this sum
        }
        sum = vec![0.0; voice.len()];
        total = 0;
    }
    let w = ms.max(1) as f32 / 1000.0;
    for (s, v) in sum.iter_mut().zip(voice) {
        *s += sign * w * v;
    }
    let total = if sign > 0.0 {
        total + ms.max(1)
    } else {
        total.saturating_sub(ms.max(1))
    };
    if total == 0 {
        tx.execute(
            "UPDATE speakers SET voiceprint_id = NULL, in_voiceprint = 0 WHERE voiceprint_id = ?1",
            [vp],
        )?;
        tx.execute("DELETE FROM voiceprints WHERE id = ?1", [vp])?;
    } else {
        tx.execute(
            "UPDATE voiceprints SET voice_sum = ?2, model = ?3, speech_ms = ?4, updated_at = ?5 WHERE id = ?1",
            params![vp, to_blob(&sum), model, total as i64, now_ms()],
        )?;
    }
    Ok(())
}

/// Takes speaker `label`'s voice out of its voiceprint (when it is in it) and unlinks it.
fn unlink(tx: &Transaction, id: MeetingId, label: &str, r: &Row) -> Result<()> {
    if let (Some(vp), true, Some((model, voice))) = (r.voiceprint, r.in_voiceprint, &r.voice) {
        contribute(tx, vp, model, voice, r.voice_ms, -1.0)?;
    }
    tx.execute(
        "UPDATE speakers SET voiceprint_id = NULL, in_voiceprint = 0, match_score = NULL WHERE meeting_id = ?1 AND label = ?2",
        params![id.0, label],
    )?;
    Ok(())
}

/// Gives speaker `label` (whose row is `r`) a new voice; when its voice is part of a
/// voiceprint, the new one goes in before the old comes out, so the voiceprint never empties.
fn set_voice(tx: &Transaction, id: MeetingId, label: &str, r: &Row, model: &str, voice: &[f32], ms: u64) -> Result<()> {
    if let (Some(vp), true) = (r.voiceprint, r.in_voiceprint) {
        contribute(tx, vp, model, voice, ms, 1.0)?;
        if let Some((m, old)) = &r.voice {
            contribute(tx, vp, m, old, r.voice_ms, -1.0)?;
        }
    }
    tx.execute(
        "UPDATE speakers SET voice = ?3, voice_model = ?4, voice_ms = ?5 WHERE meeting_id = ?1 AND label = ?2",
        params![id.0, label, to_blob(voice), model, ms as i64],
    )?;
    Ok(())
}

fn voiceprint_id(tx: &Transaction, name: &str) -> Result<i64> {
    tx.query_row("SELECT id FROM voiceprints WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| LibraryError::not_found("voiceprint", name))
}

impl Library {
    /// Gives the speaker `label` a display name (`None` or empty: back to the label). A speaker
    /// with a voice joins the voiceprint of that name (created when new) and leaves the one it
    /// was in; a name from a voiceprint becomes the user's.
    pub fn rename_speaker(&mut self, id: MeetingId, label: &str, name: Option<&str>) -> Result<()> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let tx = self.write_tx()?;
        let r = row(&tx, id, label)?;
        unlink(&tx, id, label, &r)?;
        tx.execute(
            "UPDATE speakers SET name = ?3 WHERE meeting_id = ?1 AND label = ?2",
            params![id.0, label, name],
        )?;
        if let (Some(name), Some((model, voice))) = (name, &r.voice) {
            let now = now_ms();
            tx.execute(
                "INSERT INTO voiceprints (name, model, voice_sum, speech_ms, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, 0, ?4, ?4) ON CONFLICT(name) DO NOTHING",
                params![name, model, to_blob(&vec![0.0; voice.len()]), now],
            )?;
            let vp = voiceprint_id(&tx, name)?;
            contribute(&tx, vp, model, voice, r.voice_ms, 1.0)?;
            tx.execute(
                "UPDATE speakers SET voiceprint_id = ?3, in_voiceprint = 1 WHERE meeting_id = ?1 AND label = ?2",
                params![id.0, label, vp],
            )?;
        }
        touch_meeting(&tx, id.0, now_ms())?;
        tx.commit()?;
        Ok(())
    }

    /// Relabels every segment of `from` (in all versions) as `into` and removes `from`; the two
    /// voices become one (weighted by speech), and voiceprints follow.
    pub fn merge_speakers(&mut self, id: MeetingId, from: &str, into: &str) -> Result<()> {
        if from == into {
            return Ok(());
        }
        let tx = self.write_tx()?;
        let (f, i) = (row(&tx, id, from)?, row(&tx, id, into)?);
        unlink(&tx, id, from, &f)?;
        let merged = match (&f.voice, &i.voice) {
            (Some((mf, vf)), Some((mi, vi))) if mf == mi && vf.len() == vi.len() => {
                let (wf, wi) = (f.voice_ms.max(1) as f32, i.voice_ms.max(1) as f32);
                let v: Vec<f32> = vf.iter().zip(vi).map(|(a, b)| a * wf + b * wi).collect();
                Some((mi.clone(), unit(&v), f.voice_ms + i.voice_ms))
            }
            (None, Some((m, v))) | (Some((m, v)), None) => Some((m.clone(), v.clone(), f.voice_ms + i.voice_ms)),
            // No voice, or two of different models: `into` keeps what it has.
            _ => None,
        };
        if let Some((model, voice, ms)) = &merged {
            set_voice(&tx, id, into, &i, model, voice, *ms)?;
        }
        tx.execute(
            "UPDATE segments SET speaker = ?3 WHERE speaker = ?2 \
             AND version_id IN (SELECT id FROM transcript_versions WHERE meeting_id = ?1)",
            params![id.0, from, into],
        )?;
        tx.execute(
            "DELETE FROM speakers WHERE meeting_id = ?1 AND label = ?2",
            params![id.0, from],
        )?;
        touch_meeting(&tx, id.0, now_ms())?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps the voices diarization found for a meeting's speakers (`model`: the embedding
    /// model they come from). A speaker already named into a voiceprint moves its voice there.
    pub fn set_speaker_voices(&mut self, id: MeetingId, model: &str, voices: &[SpeakerVoice]) -> Result<()> {
        let tx = self.write_tx()?;
        for v in voices {
            if v.voice.is_empty() || v.voice.iter().any(|x| !x.is_finite()) {
                return Err(LibraryError::InvalidInput(format!("speaker {}: not a voice", v.label)));
            }
            tx.execute(
                "INSERT OR IGNORE INTO speakers (meeting_id, label) VALUES (?1, ?2)",
                params![id.0, v.label],
            )?;
            let r = row(&tx, id, &v.label)?;
            set_voice(&tx, id, &v.label, &r, model, &unit(&v.voice), v.speech_ms)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Names the meeting's speakers whose voice matches a voiceprint with cosine similarity of at
    /// least `min_score`: best pairs first, each voiceprint and speaker once; names the user set
    /// (and the voiceprints they use) are left alone. Returns the names given.
    pub fn recognize_speakers(&mut self, id: MeetingId, min_score: f32) -> Result<Vec<VoiceMatch>> {
        let tx = self.write_tx()?;
        // (label, model, voice) of speakers the user has not named.
        let open: Vec<(String, String, Vec<f32>)> = tx
            .prepare(
                "SELECT label, voice_model, voice FROM speakers WHERE meeting_id = ?1 AND voice IS NOT NULL \
                 AND (name IS NULL OR match_score IS NOT NULL) ORDER BY label",
            )?
            .query_map([id.0], |r| {
                Ok((r.get(0)?, r.get(1)?, from_blob(&r.get::<_, Vec<u8>>(2)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let taken: Vec<String> = tx
            .prepare("SELECT name FROM speakers WHERE meeting_id = ?1 AND name IS NOT NULL AND match_score IS NULL")?
            .query_map([id.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let prints: Vec<(i64, String, String, Vec<f32>)> = tx
            .prepare("SELECT id, name, model, voice_sum FROM voiceprints WHERE speech_ms > 0")?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, from_blob(&r.get::<_, Vec<u8>>(3)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut pairs = Vec::new();
        for (si, (_, model, voice)) in open.iter().enumerate() {
            for (pi, (_, name, pm, sum)) in prints.iter().enumerate() {
                if pm == model && !taken.iter().any(|t| t.eq_ignore_ascii_case(name)) {
                    let s = cosine(voice, sum);
                    if s >= min_score {
                        pairs.push((s, si, pi));
                    }
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (mut used_s, mut used_p) = (vec![false; open.len()], vec![false; prints.len()]);
        let mut out = Vec::new();
        for (label, ..) in &open {
            // Earlier matches are re-decided from scratch.
            tx.execute(
                "UPDATE speakers SET name = NULL, voiceprint_id = NULL, match_score = NULL \
                 WHERE meeting_id = ?1 AND label = ?2 AND match_score IS NOT NULL",
                params![id.0, label],
            )?;
        }
        for (s, si, pi) in pairs {
            if used_s[si] || used_p[pi] {
                continue;
            }
            used_s[si] = true;
            used_p[pi] = true;
            let (label, (vp, name, ..)) = (&open[si].0, &prints[pi]);
            tx.execute(
                "UPDATE speakers SET name = ?3, voiceprint_id = ?4, in_voiceprint = 0, match_score = ?5 \
                 WHERE meeting_id = ?1 AND label = ?2",
                params![id.0, label, name, vp, s as f64],
            )?;
            out.push(VoiceMatch {
                label: label.clone(),
                name: name.clone(),
                score: s,
            });
        }
        if !out.is_empty() {
            touch_meeting(&tx, id.0, now_ms())?;
        }
        tx.commit()?;
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(out)
    }

    /// Every voiceprint, by name.
    pub fn voiceprints(&self) -> Result<Vec<Voiceprint>> {
        let mut st = self.conn.prepare(
            "SELECT v.id, v.name, v.model, v.speech_ms, v.updated_at, \
             (SELECT count(*) FROM speakers s WHERE s.voiceprint_id = v.id) \
             FROM voiceprints v ORDER BY v.name COLLATE NOCASE",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Voiceprint {
                id: r.get(0)?,
                name: r.get(1)?,
                model: r.get(2)?,
                speech_ms: r.get::<_, i64>(3)?.max(0) as u64,
                updated_at: r.get(4)?,
                speakers: r.get::<_, i64>(5)? as u32,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Renames a voiceprint; the speakers it named take the new name.
    pub fn rename_voiceprint(&mut self, name: &str, new_name: &str) -> Result<()> {
        let new_name = new_name.trim();
        if new_name.is_empty() {
            return Err(LibraryError::InvalidInput("a voiceprint needs a name".into()));
        }
        let tx = self.write_tx()?;
        let vp = voiceprint_id(&tx, name)?;
        if let Some(other) = tx
            .query_row("SELECT id FROM voiceprints WHERE name = ?1", [new_name], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            && other != vp
        {
            return Err(LibraryError::InvalidInput(format!(
                "a voiceprint named {new_name} exists; merge the two instead"
            )));
        }
        tx.execute(
            "UPDATE voiceprints SET name = ?2, updated_at = ?3 WHERE id = ?1",
            params![vp, new_name, now_ms()],
        )?;
        tx.execute(
            "UPDATE speakers SET name = ?2 WHERE voiceprint_id = ?1",
            params![vp, new_name],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Folds voiceprint `from` into `into` (one person kept under two names).
    pub fn merge_voiceprints(&mut self, from: &str, into: &str) -> Result<()> {
        let tx = self.write_tx()?;
        let (f, i) = (voiceprint_id(&tx, from)?, voiceprint_id(&tx, into)?);
        if f == i {
            return Ok(());
        }
        let get = |id: i64| -> Result<(String, Vec<f32>, i64, String)> {
            Ok(tx.query_row(
                "SELECT model, voice_sum, speech_ms, name FROM voiceprints WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, from_blob(&r.get::<_, Vec<u8>>(1)?), r.get(2)?, r.get(3)?)),
            )?)
        };
        let ((fm, fs, fms, _), (im, is, ims, iname)) = (get(f)?, get(i)?);
        if fm != im || fs.len() != is.len() {
            return Err(LibraryError::InvalidInput(format!(
                "{from} and {into} come from different voice models"
            )));
        }
        let sum: Vec<f32> = fs.iter().zip(&is).map(|(a, b)| a + b).collect();
        tx.execute(
            "UPDATE voiceprints SET voice_sum = ?2, speech_ms = ?3, updated_at = ?4 WHERE id = ?1",
            params![i, to_blob(&sum), fms + ims, now_ms()],
        )?;
        tx.execute(
            "UPDATE speakers SET voiceprint_id = ?2, name = ?3 WHERE voiceprint_id = ?1",
            params![f, i, iname],
        )?;
        tx.execute("DELETE FROM voiceprints WHERE id = ?1", [f])?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a voiceprint and the voices of the speakers it was built from or named, so it
    /// cannot be rebuilt from them; the names in transcripts stay. Returns those speakers' count.
    pub fn forget_voiceprint(&mut self, name: &str) -> Result<usize> {
        let tx = self.write_tx()?;
        let vp = voiceprint_id(&tx, name)?;
        let n = tx.execute(
            "UPDATE speakers SET voice = NULL, voice_model = NULL, voice_ms = 0, voiceprint_id = NULL, \
             in_voiceprint = 0, match_score = NULL WHERE voiceprint_id = ?1",
            [vp],
        )?;
        tx.execute("DELETE FROM voiceprints WHERE id = ?1", [vp])?;
        tx.commit()?;
        Ok(n)
    }
}
