//! DOCX (Office Open XML) over the blocks, every paragraph with an explicit style (docx-rs
//! marks no default one): real heading styles ("Title", "Heading 1",
//! "Heading 2") so word processors build a navigation pane and outline from them.

use docx_rs::{Docx, Paragraph, Run, RunFonts, Style, StyleType};

use crate::blocks::{Block, CHECKED, UNCHECKED};
use crate::{Document, ExportError};

/// Indent of one list level, in twentieths of a point.
const LIST_INDENT: i32 = 360;

fn styles(d: Docx) -> Docx {
    let heading = |id: &str, name: &str, half_points: usize, level: usize| {
        Style::new(id, StyleType::Paragraph).name(name).based_on("Normal").next("Normal").size(half_points).bold().outline_lvl(level)
    };
    d.add_style(heading("Title", "Title", 40, 0))
        .add_style(heading("Heading1", "Heading 1", 32, 0))
        .add_style(heading("Heading2", "Heading 2", 26, 1))
        .add_style(Style::new("ListBullet", StyleType::Paragraph).name("List Bullet").based_on("Normal"))
        .add_style(Style::new("Checklist", StyleType::Paragraph).name("Checklist").based_on("Normal"))
}

/// `text` without the characters XML 1.0 does not allow (C0 controls other than tab, line feed
/// and carriage return; U+FFFE, U+FFFF; lone surrogates cannot occur in a `str`): one of them
/// anywhere makes Word and python-docx refuse the whole file.
fn xml_text(text: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r') || !(c < ' ' || c == '\u{fffe}' || c == '\u{ffff}');
    if text.chars().all(allowed) { text.into() } else { text.chars().filter(|&c| allowed(c)).collect::<String>().into() }
}

fn text_run(text: impl AsRef<str>) -> Run {
    Run::new().add_text(xml_text(text.as_ref()))
}

fn para(style: &str, text: &str) -> Paragraph {
    Paragraph::new().style(style).add_run(text_run(text))
}

pub(crate) fn docx(doc: &Document, blocks: &[Block]) -> Result<Vec<u8>, ExportError> {
    let mut d = styles(Docx::new())
        .default_fonts(RunFonts::new().ascii("Calibri").hi_ansi("Calibri").east_asia("Microsoft YaHei"));
    if let Some(c) = doc.created_ms {
        d = d.created_at(&format!("{}:00Z", crate::date(c).replace(' ', "T")));
    }
    for b in blocks {
        let p = match b {
            Block::Title(t) => para("Title", t),
            Block::Meta(m) => Paragraph::new().style("Normal").add_run(text_run(m).color("666666")),
            Block::Heading(h) => para("Heading1", h),
            Block::Subheading(h) => para("Heading2", h),
            Block::Para(t) => Paragraph::new().style("Normal").add_run(text_run(t)),
            Block::Bullet { depth, text } => para("ListBullet", &format!("• {text}")).indent(
                Some(LIST_INDENT * (*depth as i32 + 1)),
                None,
                None,
                None,
            ),
            Block::Check { done, text } => {
                para("Checklist", &format!("{} {text}", if *done { CHECKED } else { UNCHECKED }))
            }
            Block::Line(l) => {
                let mut p = Paragraph::new().style("Normal");
                if let Some(t) = &l.time {
                    p = p.add_run(text_run(format!("{t}  ")).color("666666"));
                }
                if let Some(sp) = &l.speaker {
                    p = p.add_run(text_run(format!("{sp}: ")).bold());
                }
                p = p.add_run(text_run(&l.text));
                for m in &l.marks {
                    p = p.add_run(text_run(" "));
                    p = p.add_run(text_run(format!("[{m}]")).highlight("yellow"));
                }
                if let Some(tr) = &l.translation {
                    p = p.add_run(
                        Run::new().add_break(docx_rs::BreakType::TextWrapping).add_text(xml_text(tr)).italic().color("555555"),
                    );
                }
                p
            }
        };
        d = d.add_paragraph(p);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    d.build().pack(&mut out).map_err(|e| ExportError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}
