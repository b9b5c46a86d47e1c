//! PDF over the blocks: A4 pages, one CJK-capable system font embedded as a subset (krilla
//! writes a CID font with a ToUnicode map, so the text can be searched and extracted), lines
//! broken by `wrap` with the font's own advance widths.
//!
//! The font is looked up at run time: `$TINGJI_PDF_FONT` (a .ttf/.otf/.ttc file, optionally
//! `path#index` for a collection) or the first of the usual system locations that exists and
//! has Chinese glyphs. Without one the export fails with `font_missing`: a PDF whose Chinese
//! is tofu is worse than none.

use std::path::{Path, PathBuf};

use krilla::geom::{Point, Size};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};

use crate::blocks::{Block, CHECKED, UNCHECKED};
use crate::wrap::wrap;
use crate::{Document, ExportError};

/// Environment variable naming the font file to embed.
pub const FONT_ENV: &str = "TINGJI_PDF_FONT";

/// Well-known font files with both CJK and Latin glyphs (collection index): Debian/Ubuntu
/// packages, macOS, Windows. (Droid Sans Fallback is not one: it has no Latin letters.)
const CANDIDATES: &[(&str, u32)] = &[
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Light.ttc", 0),
    ("/Library/Fonts/Arial Unicode.ttf", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
    ("C:\\Windows\\Fonts\\simsun.ttc", 0),
];

/// A4 in points, and the page margin.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const LIST_INDENT: f32 = 14.0;

fn load(path: &Path, index: u32) -> Result<Vec<u8>, ExportError> {
    let invalid = |reason: String| ExportError::FontInvalid { path: path.display().to_string(), reason };
    let data = std::fs::read(path).map_err(|e| invalid(e.to_string()))?;
    let face = ttf_parser::Face::parse(&data, index).map_err(|e| invalid(e.to_string()))?;
    if face.glyph_index('中').is_none() || face.glyph_index('a').is_none() {
        return Err(invalid("it has no glyphs for Chinese and Latin text".into()));
    }
    Ok(data)
}

/// `path` or `path#index`.
fn split_index(spec: &str) -> (PathBuf, u32) {
    if let Some((p, i)) = spec.rsplit_once('#')
        && let Ok(i) = i.parse()
    {
        return (PathBuf::from(p), i);
    }
    (PathBuf::from(spec), 0)
}

/// The font file the PDF export would embed (path, collection index).
pub fn find_font() -> Result<(PathBuf, u32), ExportError> {
    find_font_in(std::env::var_os(FONT_ENV)).map(|(p, i, _)| (p, i))
}

/// [`find_font`] with the value of `$TINGJI_PDF_FONT` given; also returns the font's bytes.
pub(crate) fn find_font_in(env: Option<std::ffi::OsString>) -> Result<(PathBuf, u32, Vec<u8>), ExportError> {
    if let Some(spec) = env.filter(|v| !v.is_empty()) {
        let (path, index) = split_index(&spec.to_string_lossy());
        if !path.is_file() {
            return Err(ExportError::FontMissing { searched: format!("{FONT_ENV}={}", path.display()) });
        }
        let data = load(&path, index)?;
        return Ok((path, index, data));
    }
    for (p, index) in CANDIDATES {
        let path = Path::new(p);
        if path.is_file()
            && let Ok(data) = load(path, *index)
        {
            return Ok((path.to_path_buf(), *index, data));
        }
    }
    Err(ExportError::FontMissing {
        searched: format!("${FONT_ENV} (unset), {}", CANDIDATES.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")),
    })
}

/// Measures text with the font's advance widths.
struct Metrics<'a> {
    face: ttf_parser::Face<'a>,
}

impl Metrics<'_> {
    fn width(&self, s: &str, size: f32) -> f32 {
        let upem = f32::from(self.face.units_per_em());
        let units: u32 = s
            .chars()
            .map(|c| {
                let g = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                u32::from(self.face.glyph_hor_advance(g).unwrap_or(0))
            })
            .sum();
        units as f32 * size / upem
    }

    /// Replaces symbols the font lacks by ASCII stand-ins (the checklist boxes, bullets, dashes).
    fn fit(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if self.face.glyph_index(c).is_some() {
                out.push(c);
                continue;
            }
            match c {
                UNCHECKED => out.push_str("[ ]"),
                CHECKED => out.push_str("[x]"),
                '•' => out.push('-'),
                '–' | '—' => out.push('-'),
                '·' => out.push('|'),
                c => out.push(c),
            }
        }
        out
    }
}

/// One line of text placed on a page (baseline at `y`, from the top).
struct Placed {
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

struct Layout<'a> {
    m: &'a Metrics<'a>,
    pages: Vec<Vec<Placed>>,
    y: f32,
}

impl Layout<'_> {
    fn space(&mut self, pts: f32) {
        if self.y > MARGIN {
            self.y += pts;
        }
    }

    /// Wraps `text` to the width left after `indent` and places its lines; `first_prefix`
    /// (a bullet or checkbox) hangs in front of the first line.
    fn text(&mut self, text: &str, size: f32, indent: f32, first_prefix: Option<&str>) {
        let text = self.m.fit(text);
        let prefix = first_prefix.map(|p| self.m.fit(p));
        let hang = prefix.as_ref().map_or(0.0, |p| self.m.width(p, size) + size * 0.3);
        let max = PAGE_W - 2.0 * MARGIN - indent - hang;
        let lead = size * 1.45;
        for (i, line) in wrap(&text, max, &|s| self.m.width(s, size)).into_iter().enumerate() {
            if self.y + lead > PAGE_H - MARGIN {
                self.pages.push(Vec::new());
                self.y = MARGIN;
            }
            self.y += lead;
            let page = self.pages.last_mut().expect("a page");
            if i == 0
                && let Some(p) = &prefix
            {
                page.push(Placed { x: MARGIN + indent, y: self.y, size, text: p.clone() });
            }
            page.push(Placed { x: MARGIN + indent + hang, y: self.y, size, text: line });
        }
    }
}

pub(crate) fn pdf(doc: &Document, blocks: &[Block]) -> Result<Vec<u8>, ExportError> {
    let (path, index, data) = find_font_in(std::env::var_os(FONT_ENV))?;
    let face = ttf_parser::Face::parse(&data, index)
        .map_err(|e| ExportError::FontInvalid { path: path.display().to_string(), reason: e.to_string() })?;
    let metrics = Metrics { face };
    let mut lay = Layout { m: &metrics, pages: vec![Vec::new()], y: MARGIN };
    for b in blocks {
        match b {
            Block::Title(t) => {
                lay.text(t, 20.0, 0.0, None);
                lay.space(4.0);
            }
            Block::Meta(m) => lay.text(m, 9.0, 0.0, None),
            Block::Heading(h) => {
                lay.space(12.0);
                lay.text(h, 15.0, 0.0, None);
                lay.space(3.0);
            }
            Block::Subheading(h) => {
                lay.space(6.0);
                lay.text(h, 12.0, 0.0, None);
            }
            Block::Para(p) => {
                lay.text(p, 10.5, 0.0, None);
                lay.space(3.0);
            }
            Block::Bullet { depth, text } => lay.text(text, 10.5, LIST_INDENT * *depth as f32, Some("•")),
            Block::Check { done, text } => {
                let mark = if *done { CHECKED } else { UNCHECKED }.to_string();
                lay.text(text, 10.5, 0.0, Some(&mark));
            }
            Block::Line(l) => {
                lay.text(&l.plain(), 10.5, 0.0, None);
                if let Some(tr) = &l.translation {
                    lay.text(tr, 9.5, LIST_INDENT, None);
                }
                lay.space(3.0);
            }
        }
    }

    let font = Font::new(data.clone().into(), index).ok_or_else(|| ExportError::FontInvalid {
        path: path.display().to_string(),
        reason: "the PDF writer cannot read it".into(),
    })?;
    let mut pdf = krilla::Document::new();
    pdf.set_metadata(
        Metadata::new().title(doc.title.clone()).language(doc.transcript.language.clone()).creator("Tingji".into()),
    );
    let size = Size::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid size");
    for placed in &lay.pages {
        let mut page = pdf.start_page_with(PageSettings::new(size));
        let mut surface = page.surface();
        for p in placed {
            surface.draw_text(Point::from_xy(p.x, p.y), font.clone(), p.size, &p.text, false, TextDirection::Auto);
        }
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| ExportError::Pdf(format!("{e:?}")))
}
