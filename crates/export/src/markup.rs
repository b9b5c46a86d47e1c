//! Text back ends over the blocks: plain text, Markdown, and a self-contained HTML page.

use std::fmt::Write as _;

use tingji_transcript::join_segments;

use crate::Document;
use crate::blocks::{Block, CHECKED, UNCHECKED, heading};

/// True when the blocks are only the transcript's own text (no notes, no per-line extras).
fn bare_transcript(blocks: &[Block]) -> bool {
    blocks.iter().all(|b| match b {
        Block::Title(_) | Block::Meta(_) => true,
        Block::Heading(h) => h == heading::TRANSCRIPT,
        Block::Line(l) => l.time.is_none() && l.speaker.is_none() && l.marks.is_empty() && l.translation.is_none(),
        _ => false,
    })
}

/// Plain text. A transcript without extras is one paragraph (Latin segments joined by spaces);
/// with times, speakers, marks or a translation it is one line per segment; with notes the
/// title, the notes sections and then the transcript.
pub(crate) fn txt(blocks: &[Block]) -> String {
    if bare_transcript(blocks) {
        let lines = blocks.iter().filter_map(|b| if let Block::Line(l) = b { Some(l.text.as_str()) } else { None });
        let mut s = join_segments(lines);
        s.push('\n');
        return s;
    }
    let only_transcript = blocks
        .iter()
        .all(|b| matches!(b, Block::Title(_) | Block::Meta(_) | Block::Line(_)) || b == &Block::Heading(heading::TRANSCRIPT.into()));
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Title(_) | Block::Meta(_) | Block::Heading(_) if only_transcript => {}
            Block::Title(t) => {
                let _ = writeln!(out, "{t}");
            }
            Block::Meta(m) => {
                let _ = writeln!(out, "{m}");
            }
            Block::Heading(h) => {
                let _ = writeln!(out, "\n{}\n", h.to_uppercase());
            }
            Block::Subheading(h) => {
                let _ = writeln!(out, "{h}");
            }
            Block::Para(p) => {
                let _ = writeln!(out, "{p}");
            }
            Block::Bullet { depth, text } => {
                let _ = writeln!(out, "{}- {text}", "  ".repeat(*depth));
            }
            Block::Check { done, text } => {
                let _ = writeln!(out, "{} {text}", if *done { CHECKED } else { UNCHECKED });
            }
            Block::Line(l) => {
                let _ = writeln!(out, "{}", l.plain());
                if let Some(tr) = &l.translation {
                    let _ = writeln!(out, "    {tr}");
                }
            }
        }
    }
    out
}

/// Markdown with every text from the meeting (transcript, model output, names) escaped: a
/// transcript line or a note cannot become HTML, a link, an image or a heading.
pub(crate) fn markdown(blocks: &[Block]) -> String {
    let e = escape_md;
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Title(t) => {
                let _ = writeln!(out, "# {}\n", e(t));
            }
            Block::Meta(m) => {
                let _ = writeln!(out, "{}\n", e(m));
            }
            // Section names are the exporter's own words.
            Block::Heading(h) => {
                let _ = writeln!(out, "## {h}\n");
            }
            Block::Subheading(h) => {
                let _ = writeln!(out, "### {}\n", e(h));
            }
            // A paragraph keeps its line breaks (hard breaks); each line is escaped.
            Block::Para(p) => {
                let lines: Vec<String> = p.lines().map(e).collect();
                let _ = writeln!(out, "{}\n", lines.join("  \n"));
            }
            Block::Bullet { depth, text } => {
                let _ = writeln!(out, "{}- {}", "  ".repeat(*depth), e(text));
            }
            Block::Check { done, text } => {
                let _ = writeln!(out, "- [{}] {}", if *done { "x" } else { " " }, e(text));
            }
            Block::Line(l) => {
                let mut s = String::new();
                if let Some(t) = &l.time {
                    s.push_str(&format!("`{t}` "));
                }
                if let Some(sp) = &l.speaker {
                    s.push_str(&format!("**{}** ", e(sp)));
                }
                s.push_str(&e(&l.text));
                for m in &l.marks {
                    s.push_str(&format!(" `{m}`"));
                }
                if let Some(tr) = &l.translation {
                    s.push_str(&format!("  \n*{}*", e(tr)));
                }
                let _ = writeln!(out, "{s}\n");
            }
        }
    }
    close_lists_md(out)
}

/// Backslash-escapes the ASCII punctuation that makes HTML, links, images, emphasis, code and
/// headings in Markdown (CommonMark lets any of it be escaped; the rendered text is unchanged). Line breaks inside a text become spaces, so a
/// text cannot start a block of its own.
pub(crate) fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Inserts the blank line Markdown needs between a list and the block after it.
fn close_lists_md(s: String) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut prev_list = false;
    for line in s.split_inclusive('\n') {
        let t = line.trim_start();
        let list = t.starts_with("- ");
        if prev_list && !list && !line.trim().is_empty() {
            out.push('\n');
        }
        prev_list = list;
        out.push_str(line);
    }
    out
}

pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A self-contained HTML page: inline style, no scripts, no remote content.
pub(crate) fn html(doc: &Document, blocks: &[Block]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>body{{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:48rem;margin:2rem auto;line-height:1.6}}\
         .t{{color:#666;font-variant-numeric:tabular-nums;margin-right:.5rem}}.s{{font-weight:600;margin-right:.5rem}}\
         .m{{background:#fde68a;border-radius:.25rem;padding:0 .25rem;margin-left:.5rem;font-size:.85em}}\
         .tr{{display:block;color:#555}}ul.check{{list-style:none;padding-left:0}}</style>\n</head>\n<body>\n",
        lang = escape_html(&doc.transcript.language),
        title = escape_html(&doc.title),
    );
    // Open lists: (is_checklist, depth of each open <ul>).
    let mut open: Vec<usize> = Vec::new();
    let mut in_check = false;
    let close_all = |out: &mut String, open: &mut Vec<usize>, in_check: &mut bool| {
        while open.pop().is_some() {
            out.push_str("</li></ul>\n");
        }
        if *in_check {
            out.push_str("</ul>\n");
            *in_check = false;
        }
    };
    for b in blocks {
        if !matches!(b, Block::Bullet { .. }) {
            while open.pop().is_some() {
                out.push_str("</li></ul>\n");
            }
        }
        if !matches!(b, Block::Check { .. }) && in_check {
            out.push_str("</ul>\n");
            in_check = false;
        }
        match b {
            Block::Title(t) => {
                let _ = writeln!(out, "<h1>{}</h1>", escape_html(t));
            }
            Block::Meta(m) => {
                let _ = writeln!(out, "<p>{}</p>", escape_html(m));
            }
            Block::Heading(h) => {
                let _ = writeln!(out, "<h2>{}</h2>", escape_html(h));
            }
            Block::Subheading(h) => {
                let _ = writeln!(out, "<h3>{}</h3>", escape_html(h));
            }
            Block::Para(p) => {
                let _ = writeln!(out, "<p>{}</p>", escape_html(p));
            }
            Block::Bullet { depth, text } => {
                if open.len() > depth + 1 {
                    while open.len() > depth + 1 {
                        open.pop();
                        out.push_str("</li></ul>\n");
                    }
                    out.push_str("</li>");
                } else if open.len() == depth + 1 {
                    out.push_str("</li>");
                }
                while open.len() < depth + 1 {
                    out.push_str("<ul>");
                    open.push(open.len());
                }
                let _ = write!(out, "<li>{}", escape_html(text));
            }
            Block::Check { done, text } => {
                if !in_check {
                    out.push_str("<ul class=\"check\">\n");
                    in_check = true;
                }
                let _ = writeln!(out, "<li>{} {}</li>", if *done { CHECKED } else { UNCHECKED }, escape_html(text));
            }
            Block::Line(l) => {
                let mut s = format!("<p id=\"t{}\">", l.start_ms);
                if let Some(t) = &l.time {
                    let _ = write!(s, "<span class=\"t\">{t}</span>");
                }
                if let Some(sp) = &l.speaker {
                    let _ = write!(s, "<span class=\"s\">{}</span>", escape_html(sp));
                }
                s.push_str(&escape_html(&l.text));
                for m in &l.marks {
                    let _ = write!(s, "<span class=\"m\">{m}</span>");
                }
                if let Some(tr) = &l.translation {
                    let _ = write!(s, "<span class=\"tr\">{}</span>", escape_html(tr));
                }
                s.push_str("</p>");
                let _ = writeln!(out, "{s}");
            }
        }
    }
    close_all(&mut out, &mut open, &mut in_check);
    out.push_str("</body>\n</html>\n");
    out
}
