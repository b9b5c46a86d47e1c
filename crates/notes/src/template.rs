//! Note templates: a name, the standard outputs to make, and the template's own sections.
//! Bundled ones come from `assets/templates/*.toml`; a user's own are `*.toml` files in
//! `<config dir>/templates` and win over bundled ones of the same name.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tingji_transcript::notes::NoteKind;

use crate::NotesError;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Template {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Standard outputs made with this template (the sections are always made).
    #[serde(default)]
    pub kinds: Vec<String>,
    pub sections: Vec<TemplateSection>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TemplateSection {
    pub title: String,
    pub instruction: String,
}

const BUNDLED: &[(&str, &str)] = &[
    ("standup", include_str!("../../../assets/templates/standup.toml")),
    ("one-on-one", include_str!("../../../assets/templates/one-on-one.toml")),
    ("interview", include_str!("../../../assets/templates/interview.toml")),
    ("lecture", include_str!("../../../assets/templates/lecture.toml")),
    ("sales-call", include_str!("../../../assets/templates/sales-call.toml")),
];

impl Template {
    pub fn parse(text: &str, origin: &str) -> Result<Template, NotesError> {
        let t: Template =
            toml::from_str(text).map_err(|e| NotesError::Template(format!("{origin}: {}", e.message())))?;
        if t.sections.is_empty() {
            return Err(NotesError::Template(format!("{origin}: a template needs at least one [[sections]]")));
        }
        t.note_kinds().map_err(|e| NotesError::Template(format!("{origin}: {e}")))?;
        Ok(t)
    }

    pub fn note_kinds(&self) -> Result<Vec<NoteKind>, String> {
        self.kinds.iter().map(|k| k.parse()).collect()
    }

    /// The bundled templates and those in `user_dir`, by name.
    pub fn all(user_dir: Option<&Path>) -> Result<Vec<Template>, NotesError> {
        let mut out: Vec<Template> =
            BUNDLED.iter().map(|(n, t)| Template::parse(t, n).expect("bundled templates parse")).collect();
        if let Some(dir) = user_dir
            && let Ok(rd) = std::fs::read_dir(dir)
        {
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f).map_err(|e| NotesError::Template(format!("{}: {e}", f.display())))?;
                let t = Template::parse(&text, &f.display().to_string())?;
                out.retain(|o| o.name != t.name);
                out.push(t);
            }
        }
        Ok(out)
    }

    /// A template by name (user's first), or the file at `name` when it is a path.
    pub fn find(name: &str, user_dir: Option<&Path>) -> Result<Template, NotesError> {
        let p = Path::new(name);
        if p.extension().is_some_and(|e| e == "toml") && p.is_file() {
            let text = std::fs::read_to_string(p).map_err(|e| NotesError::Template(format!("{name}: {e}")))?;
            return Template::parse(&text, name);
        }
        let all = Template::all(user_dir)?;
        let names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
        all.into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| NotesError::Template(format!("no template {name:?} (have: {})", names.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_templates_and_a_user_override() {
        let d = std::env::temp_dir().join(format!("tingji-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("standup.toml"),
            "name = \"standup\"\ntitle = \"Mine\"\nkinds = [\"actions\"]\n[[sections]]\ntitle = \"Risks\"\ninstruction = \"Risks.\"\n",
        )
        .unwrap();
        std::fs::write(d.join("bad.toml"), "name = \"bad\"\ntitle = \"x\"\nkinds = [\"nope\"]\n[[sections]]\ntitle = \"a\"\ninstruction = \"b\"\n").unwrap();
        let e = Template::all(Some(&d)).unwrap_err();
        assert!(e.to_string().contains("unknown notes output"), "{e}");
        std::fs::remove_file(d.join("bad.toml")).unwrap();
        let t = Template::find("standup", Some(&d)).unwrap();
        assert_eq!(t.title, "Mine");
        assert_eq!(Template::all(Some(&d)).unwrap().len(), 5);
        assert!(Template::find("lecture", None).unwrap().note_kinds().unwrap().contains(&NoteKind::MindMap));
        assert_eq!(Template::find("zzz", None).unwrap_err().code(), "template");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
