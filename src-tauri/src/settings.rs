//! The app's settings file: `<config dir>/app-settings.json`, written atomically.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::api::Settings;
use crate::error::AppResult;

pub fn path() -> PathBuf {
    tingji_workflow::paths::config_dir().join("app-settings.json")
}

/// The saved settings over the defaults (a file from an older version lacks newer fields);
/// defaults when there are none yet or the file is unreadable (a broken file is kept beside as
/// `.bad` rather than lost).
pub fn load(p: &Path) -> Settings {
    let Ok(text) = std::fs::read_to_string(p) else { return Settings::default() };
    let merged = serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()).and_then(|saved| {
        let mut v = serde_json::to_value(Settings::default()).expect("settings serialise");
        merge(&mut v, saved);
        serde_json::from_value(v).map_err(|e| e.to_string())
    });
    merged.unwrap_or_else(|e| {
        tracing::warn!("{}: {e}; starting from defaults", p.display());
        let _ = std::fs::rename(p, p.with_extension("json.bad"));
        Settings::default()
    })
}

/// `saved`'s fields over `base`'s, object by object.
fn merge(base: &mut Value, saved: Value) {
    match (base, saved) {
        (Value::Object(b), Value::Object(s)) => {
            for (k, v) in s {
                match b.get_mut(&k) {
                    Some(bv) => merge(bv, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, s) => *b = s,
    }
}

pub fn save(p: &Path, s: &Settings) -> AppResult<()> {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = p.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(s).expect("settings serialise"))?;
    std::fs::rename(&tmp, p)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_a_broken_file_is_kept_aside() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("app-settings.json");
        assert_eq!(load(&p), Settings::default());
        let s = Settings {
            ui_language: "en".into(),
            llm: crate::api::LlmSettings { provider: "ollama".into(), ..Default::default() },
            ..Default::default()
        };
        save(&p, &s).unwrap();
        assert_eq!(load(&p), s);
        // An older file without some fields keeps what it has.
        std::fs::write(&p, r#"{"ui_language": "en", "llm": {"provider": "openai"}}"#).unwrap();
        let old = load(&p);
        assert_eq!((old.ui_language.as_str(), old.llm.provider.as_str(), old.theme.as_str()), ("en", "openai", "system"));
        std::fs::write(&p, "{not json").unwrap();
        assert_eq!(load(&p), Settings::default());
        assert_eq!(std::fs::read_to_string(p.with_extension("json.bad")).unwrap(), "{not json");
    }
}
