//! `tingji library …`: the meeting library from the command line (list, show, search, rename,
//! tag, delete) over `tingji_library::Library`.


use anyhow::{Context, Result, bail};
use tingji_export::clock;
use tingji_library::{Filter, Library, MeetingId};

#[derive(clap::Subcommand, Debug)]
pub enum LibraryCmd {
    /// List meetings, newest first.
    List {
        /// Only meetings in this folder.
        #[arg(long)]
        folder: Option<String>,
        /// Only meetings with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one meeting with its current transcript.
    Show {
        id: i64,
        /// Print the full export (every version, notes, media records) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search the transcripts ("quoted phrase"; Chinese words of any length).
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only meetings in this folder.
        #[arg(long)]
        folder: Option<String>,
        /// Only meetings with this tag.
        #[arg(long)]
        tag: Option<String>,
    },
    /// Rename a meeting.
    Rename { id: i64, title: String },
    /// Replace a meeting's tags (no tags: remove them all).
    Tag { id: i64, tags: Vec<String> },
    /// Delete a meeting, its transcripts and its kept media.
    Delete {
        id: i64,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

/// `$TINGJI_DATA_DIR/library`, else the platform data directory + `/library`
/// (`~/.local/share/tingji/library` on Linux); `./tingji-data/library` if there is no home.
pub fn run(cmd: LibraryCmd, lib: &mut Library) -> Result<()> {
    match cmd {
        LibraryCmd::List { folder, tag, json } => {
            let list = lib.list(&Filter {
                folder,
                tag,
                ..Default::default()
            })?;
            if json {
                out!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            if list.is_empty() {
                eprintln!("no meetings");
            }
            for m in &list {
                let mut extra = String::new();
                if let Some(f) = &m.folder {
                    extra.push_str(&format!("  [{f}]"));
                }
                if !m.tags.is_empty() {
                    extra.push_str(&format!("  #{}", m.tags.join(" #")));
                }
                out!(
                    "{:>5}  {}  {:>8}  {}{extra}",
                    m.id,
                    fmt_date(m.created_at),
                    fmt_ms(m.duration_ms),
                    m.title
                );
            }
        }
        LibraryCmd::Show { id, json } => {
            if json {
                out!("{}", lib.export_json(MeetingId(id))?);
                return Ok(());
            }
            let m = lib.meeting(MeetingId(id))?;
            let s = &m.summary;
            out!("{}  {}", s.id, s.title);
            out!("date:      {}", fmt_date(s.created_at));
            out!("duration:  {}", fmt_ms(s.duration_ms));
            out!("source:    {}", s.source_kind);
            if let Some(l) = &s.language {
                out!("language:  {l}");
            }
            if let Some(f) = &s.folder {
                out!("folder:    {f}");
            }
            if !s.tags.is_empty() {
                out!("tags:      {}", s.tags.join(", "));
            }
            if !m.speakers.is_empty() {
                let names: Vec<String> = m
                    .speakers
                    .iter()
                    .map(|sp| match &sp.name {
                        Some(n) => format!("{n} ({})", sp.label),
                        None => sp.label.clone(),
                    })
                    .collect();
                out!("speakers:  {}", names.join(", "));
            }
            for md in &m.media {
                let missing = if md.present { "" } else { "  (missing)" };
                out!("media:     {}{missing}", md.abs_path.display());
            }
            if m.versions.len() > 1 {
                out!(
                    "versions:  {} (current {})",
                    m.versions.len(),
                    m.current_version.map_or(0, |v| v.0)
                );
            }
            if let Some(t) = &m.transcript {
                out!();
                for seg in &t.segments {
                    match &seg.speaker {
                        Some(sp) => {
                            out!("[{}] {sp}: {}", fmt_ms(seg.start_ms), seg.text.trim())
                        }
                        None => out!("[{}] {}", fmt_ms(seg.start_ms), seg.text.trim()),
                    }
                }
            }
            if let Some(n) = &m.notes {
                out!("\nnotes:\n{n}");
            }
        }
        LibraryCmd::Search {
            query,
            limit,
            folder,
            tag,
        } => {
            let hits = lib.search(
                &query,
                &Filter {
                    folder,
                    tag,
                    ..Default::default()
                },
                limit,
            )?;
            if hits.is_empty() {
                eprintln!("no matches for {query:?}");
            }
            let mut last = None;
            for h in &hits {
                if last != Some(h.meeting_id) {
                    out!("# {}  {}", h.meeting_id, h.title);
                    last = Some(h.meeting_id);
                }
                out!("{}  [{}]  {}", h.meeting_id, fmt_ms(h.start_ms), h.snippet);
            }
        }
        LibraryCmd::Rename { id, title } => {
            lib.rename(MeetingId(id), &title)?;
            out!("{id}  {}", title.trim());
        }
        LibraryCmd::Tag { id, tags } => {
            lib.set_tags(MeetingId(id), &tags)?;
            let s = lib.summary(MeetingId(id))?;
            out!(
                "{id}  tags: {}",
                if s.tags.is_empty() {
                    "(none)".to_string()
                } else {
                    s.tags.join(", ")
                }
            );
        }
        LibraryCmd::Delete { id, yes } => {
            let s = lib
                .summary(MeetingId(id))
                .with_context(|| format!("meeting {id}"))?;
            if !yes {
                bail!(
                    "not deleting meeting {id} ({}) and its media without --yes",
                    s.title
                );
            }
            lib.delete_meeting(MeetingId(id))?;
            out!("deleted {id}  {}", s.title);
        }
    }
    Ok(())
}

/// `mm:ss`, or `h:mm:ss` from one hour on.
fn fmt_ms(ms: u64) -> String {
    clock(ms, false)
}

/// `YYYY-MM-DD HH:MM` (UTC) from unix milliseconds.
fn fmt_date(unix_ms: i64) -> String {
    tingji_export::date(unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_and_times() {
        assert_eq!(fmt_date(0), "1970-01-01 00:00");
        assert_eq!(fmt_date(1_700_000_000_000), "2023-11-14 22:13");
        assert_eq!(fmt_date(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(fmt_ms(65_000), "01:05");
        assert_eq!(fmt_ms(3_725_000), "1:02:05");
    }

    #[test]
    fn parses_subcommands() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(subcommand)]
            cmd: LibraryCmd,
        }
        let t = T::try_parse_from(["t", "tag", "3", "a", "b"]).unwrap();
        assert!(matches!(t.cmd, LibraryCmd::Tag { id: 3, ref tags } if tags == &["a", "b"]));
        let t = T::try_parse_from(["t", "search", "协会", "--limit", "5"]).unwrap();
        assert!(matches!(t.cmd, LibraryCmd::Search { limit: 5, .. }));
        assert!(T::try_parse_from(["t", "delete", "x"]).is_err());
    }

    #[test]
    fn runs_against_a_library() {
        let dir = tempfile::tempdir().unwrap();
        let mut lib = Library::open(dir.path()).unwrap();
        assert!(
            run(
                LibraryCmd::List {
                    folder: None,
                    tag: None,
                    json: false
                },
                &mut lib
            )
            .is_ok()
        );
        assert!(run(LibraryCmd::Show { id: 1, json: false }, &mut lib).is_err());
        assert!(run(LibraryCmd::Delete { id: 1, yes: true }, &mut lib).is_err());
    }
}
