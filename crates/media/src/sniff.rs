//! Recognising what a file is from its first bytes (and, only as a hint, its extension).

/// Result of sniffing the start of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A container symphonia can read natively; the string is the container name.
    Native(&'static str),
    /// A known audio/video format without a native reader (needs ffmpeg).
    Foreign(&'static str),
    /// Certainly not audio or video (text, image, archive, ...); the string says what it is.
    NotMedia(String),
    /// Nothing recognised.
    Unknown,
}

/// How many bytes of the file head are read for sniffing.
pub(crate) const HEAD_LEN: usize = 64 * 1024;

/// Extensions of headerless PCM.
pub(crate) fn is_raw_extension(ext: &str) -> bool {
    matches!(
        ext,
        "raw" | "pcm" | "s16" | "s16le" | "s16be" | "f32" | "f32le" | "u8" | "sln" | "s8"
    )
}

/// Extensions of audio/video formats without a native reader that ffmpeg can typically decode
/// (used to name the format when ffmpeg is missing and the content was not recognised).
pub(crate) fn media_extension_name(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "wma" => "WMA (asf)",
        "wmv" => "WMV (asf)",
        "asf" => "ASF",
        "amr" => "AMR",
        "awb" => "AMR-WB",
        "3gp" => "3GP",
        "3g2" => "3G2",
        "flv" => "FLV",
        "avi" => "AVI",
        "mpg" | "mpeg" | "vob" => "MPEG program stream",
        "ts" | "mts" | "m2ts" => "MPEG transport stream",
        "rm" | "rmvb" | "ra" => "RealMedia",
        "ape" => "Monkey's Audio",
        "wv" => "WavPack",
        "tta" => "TTA",
        "ac3" => "AC-3",
        "eac3" => "E-AC-3",
        "dts" => "DTS",
        "au" | "snd" => "Sun AU",
        "voc" => "VOC",
        "dsf" | "dff" => "DSD",
        "mpc" => "Musepack",
        "spx" => "Speex",
        "gsm" => "GSM",
        _ => return None,
    })
}

/// Sniff a file head.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    // ID3v2 tags in front of MP3 (occasionally AAC/FLAC); skip them (and zero padding).
    let mut head = head;
    let mut had_id3 = false;
    for _ in 0..16 {
        if head.len() < 10 || &head[..3] != b"ID3" {
            break;
        }
        had_id3 = true;
        let size = ((head[6] as usize & 0x7f) << 21)
            | ((head[7] as usize & 0x7f) << 14)
            | ((head[8] as usize & 0x7f) << 7)
            | (head[9] as usize & 0x7f);
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        let start = 10 + size + footer;
        if start >= head.len() {
            // The tag is longer than what was read: what follows is almost surely MPEG audio.
            return Sniffed::Native("mp3");
        }
        head = &head[start..];
        while head.first() == Some(&0) {
            head = &head[1..];
        }
    }
    match sniff_body(head) {
        Sniffed::NotMedia(_) | Sniffed::Unknown if had_id3 => Sniffed::Native("mp3"),
        other => other,
    }
}

fn sniff_body(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed::Unknown;
    }
    if let Some(s) = sniff_magic(head) {
        return s;
    }
    if adts_chain(head, 0) {
        return Sniffed::Native("aac");
    }
    if let Some(name) = mpeg_audio_chain(head, 0) {
        return Sniffed::Native(name);
    }
    if looks_like_text(head) {
        return Sniffed::NotMedia("it looks like a text file".into());
    }
    // MPEG audio after some junk bytes.
    for off in 1..head.len().saturating_sub(4) {
        if head[off] == 0xFF
            && let Some(name) = mpeg_audio_chain(head, off)
        {
            return Sniffed::Native(name);
        }
    }
    Sniffed::Unknown
}

fn sniff_magic(h: &[u8]) -> Option<Sniffed> {
    let starts = |m: &[u8]| h.len() >= m.len() && &h[..m.len()] == m;
    let at = |off: usize, m: &[u8]| h.len() >= off + m.len() && &h[off..off + m.len()] == m;
    use Sniffed::*;
    let s = if (starts(b"RIFF") || starts(b"RF64") || starts(b"BW64")) && h.len() >= 12 {
        match &h[8..12] {
            b"WAVE" => Native("wav"),
            b"AVI " => Foreign("avi"),
            b"CDXA" => Foreign("mpeg (cdxa)"),
            b"WEBP" => NotMedia("it is a WebP image".into()),
            _ => Foreign("riff"),
        }
    } else if starts(b"FORM") && h.len() >= 12 {
        match &h[8..12] {
            b"AIFF" | b"AIFC" => Native("aiff"),
            b"8SVX" => Foreign("8svx"),
            _ => return None,
        }
    } else if starts(b"fLaC") {
        Native("flac")
    } else if starts(b"OggS") {
        // The first page holds the codec's identification header.
        let first_page = &h[..h.len().min(80)];
        if first_page.windows(8).any(|w| w == b"Speex   ") {
            Foreign("ogg (speex)")
        } else {
            Native("ogg")
        }
    } else if starts(b"caff") {
        Native("caf")
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let window = &h[..h.len().min(64)];
        if window.windows(4).any(|w| w == b"webm") {
            Native("webm")
        } else {
            Native("mkv")
        }
    } else if at(4, b"ftyp") && h.len() >= 12 {
        let brand = &h[8..12];
        match brand {
            b"M4A " | b"M4B " | b"M4P " => Native("m4a"),
            b"M4V " | b"M4VH" | b"M4VP" => Native("m4v"),
            b"qt  " => Native("mov"),
            _ if brand.starts_with(b"3gp") || brand.starts_with(b"3gs") => Native("3gp"),
            _ if brand.starts_with(b"3g2") => Native("3g2"),
            b"avif" | b"avis" | b"heic" | b"heix" | b"mif1" | b"msf1" => {
                NotMedia("it is a HEIF/AVIF image".into())
            }
            _ => Native("mp4"),
        }
    } else if at(4, b"moov") || at(4, b"mdat") || at(4, b"wide") || at(4, b"free") || at(4, b"skip")
    {
        Native("mov")
    } else if starts(b"#!AMR") {
        Foreign("amr")
    } else if starts(&[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        Foreign("asf")
    } else if starts(b"FLV\x01") {
        Foreign("flv")
    } else if starts(&[0, 0, 1, 0xBA]) {
        Foreign("mpeg-ps")
    } else if starts(&[0, 0, 1, 0xB3]) {
        Foreign("mpeg video")
    } else if h.len() >= 377 && h[0] == 0x47 && h[188] == 0x47 && h[376] == 0x47 {
        Foreign("mpeg-ts")
    } else if h.len() >= 389 && h[4] == 0x47 && h[196] == 0x47 && h[388] == 0x47 {
        Foreign("m2ts")
    } else if starts(b".RMF") {
        Foreign("realmedia")
    } else if starts(b"MAC ") {
        Foreign("ape")
    } else if starts(b"wvpk") {
        Foreign("wavpack")
    } else if starts(b"TTA1") {
        Foreign("tta")
    } else if starts(b"MPCK") || starts(b"MP+") {
        Foreign("musepack")
    } else if starts(b".snd") {
        Foreign("au")
    } else if starts(b"Creative Voice File") {
        Foreign("voc")
    } else if starts(b"DSD ") {
        Foreign("dsf")
    } else if starts(b"FRM8") {
        Foreign("dff")
    } else if starts(&[0x0B, 0x77]) && h.len() >= 8 {
        Foreign("ac3")
    } else if starts(&[0x7F, 0xFE, 0x80, 0x01]) {
        Foreign("dts")
    } else if starts(b"MThd") {
        NotMedia("it is a MIDI file (notes, not recorded audio)".into())
    } else if starts(b"\x89PNG") {
        NotMedia("it is a PNG image".into())
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        NotMedia("it is a JPEG image".into())
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        NotMedia("it is a GIF image".into())
    } else if starts(b"%PDF") {
        NotMedia("it is a PDF document".into())
    } else if starts(b"PK\x03\x04") {
        NotMedia("it is a ZIP archive (or an office document)".into())
    } else if starts(&[0x1F, 0x8B]) {
        NotMedia("it is a gzip archive".into())
    } else if starts(b"7z\xBC\xAF\x27\x1C") {
        NotMedia("it is a 7-Zip archive".into())
    } else if starts(b"Rar!") {
        NotMedia("it is a RAR archive".into())
    } else if starts(b"\x7FELF") {
        NotMedia("it is an executable".into())
    } else if starts(b"SQLite format 3") {
        NotMedia("it is an SQLite database".into())
    } else {
        return None;
    };
    Some(s)
}

/// A WAV header written by a streaming writer (e.g. `ffmpeg ... -f wav pipe:`): the RIFF or
/// `data` size is 0xFFFFFFFF, meaning "until the end of the file", so hitting the end of the
/// file is normal, not a truncation.
pub(crate) fn wav_open_ended(head: &[u8]) -> bool {
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return false;
    }
    if head[4..8] == [0xFF; 4] {
        return true;
    }
    let mut pos = 12;
    while pos + 8 <= head.len() {
        let id = &head[pos..pos + 4];
        let size = u32::from_le_bytes([head[pos + 4], head[pos + 5], head[pos + 6], head[pos + 7]]);
        if id == b"data" {
            return size == u32::MAX;
        }
        pos += 8 + size as usize + (size as usize & 1);
    }
    false
}

/// Heuristic: no NUL bytes, valid UTF-8 (or almost all printable ASCII).
pub(crate) fn looks_like_text(head: &[u8]) -> bool {
    let h = &head[..head.len().min(8192)];
    if h.is_empty() || h.contains(&0) {
        return false;
    }
    // UTF-8 (allowing a multi-byte sequence cut at the end of the window).
    match std::str::from_utf8(h) {
        Ok(_) => return true,
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 > h.len() => return true,
        Err(_) => {}
    }
    let printable = h
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    printable * 100 >= h.len() * 97
}

/// Length and layer name of the MPEG audio frame whose header starts at `h[0..4]`.
fn mpeg_frame(h: &[u8]) -> Option<(usize, u32, &'static str)> {
    if h.len() < 4 || h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
    let layer = (h[1] >> 1) & 3; // 1: III, 2: II, 3: I
    let br_idx = (h[2] >> 4) as usize;
    let sr_idx = ((h[2] >> 2) & 3) as usize;
    let pad = ((h[2] >> 1) & 1) as usize;
    if version == 1 || layer == 0 || br_idx == 0 || br_idx == 15 || sr_idx == 3 {
        return None;
    }
    const V1L1: [u32; 15] = [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ];
    const V1L2: [u32; 15] = [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ];
    const V1L3: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2L1: [u32; 15] = [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ];
    const V2L23: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let sr = match version {
        3 => [44100u32, 48000, 32000][sr_idx],
        2 => [22050, 24000, 16000][sr_idx],
        _ => [11025, 12000, 8000][sr_idx],
    };
    let br = match (version == 3, layer) {
        (true, 3) => V1L1[br_idx],
        (true, 2) => V1L2[br_idx],
        (true, _) => V1L3[br_idx],
        (false, 3) => V2L1[br_idx],
        (false, _) => V2L23[br_idx],
    } * 1000;
    let len = match layer {
        3 => (12 * br / sr) as usize * 4 + pad * 4,
        2 => (144 * br / sr) as usize + pad,
        _ => {
            if version == 3 {
                (144 * br / sr) as usize + pad
            } else {
                (72 * br / sr) as usize + pad
            }
        }
    };
    let name = match layer {
        3 => "mp1",
        2 => "mp2",
        _ => "mp3",
    };
    // Key identifying the stream: version, layer, sample rate must stay constant.
    let key = ((h[1] as u32) << 8) | (h[2] as u32 & 0x0C);
    if len < 24 {
        return None;
    }
    Some((len, key, name))
}

/// At least 3 consecutive, consistent MPEG audio frames starting at `off` (or fewer if the
/// head ends first, but at least 2 then).
fn mpeg_audio_chain(h: &[u8], off: usize) -> Option<&'static str> {
    let (len0, key0, name) = mpeg_frame(&h[off..])?;
    let mut pos = off + len0;
    let mut frames = 1;
    while frames < 3 {
        if pos + 4 > h.len() {
            return (frames >= 2 || (off == 0 && pos >= h.len())).then_some(name);
        }
        match mpeg_frame(&h[pos..]) {
            Some((len, key, _)) if key == key0 => {
                pos += len;
                frames += 1;
            }
            _ => return None,
        }
    }
    Some(name)
}

/// At least 3 consecutive ADTS frames starting at `off`.
fn adts_chain(h: &[u8], off: usize) -> bool {
    let mut pos = off;
    let mut frames = 0;
    while frames < 3 {
        if pos + 7 > h.len() {
            return frames >= 2;
        }
        let f = &h[pos..];
        if f[0] != 0xFF || f[1] & 0xF6 != 0xF0 || ((f[2] >> 2) & 0xF) >= 13 {
            return false;
        }
        let len = (((f[3] & 3) as usize) << 11) | ((f[4] as usize) << 3) | ((f[5] as usize) >> 5);
        if len < 7 {
            return false;
        }
        pos += len;
        frames += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary() {
        assert!(looks_like_text(b"hello world\nthis is text\n"));
        assert!(looks_like_text("中文字幕 text".as_bytes()));
        assert!(!looks_like_text(&[0u8, 1, 2, 3]));
        assert_eq!(
            sniff(b"just some text\n"),
            Sniffed::NotMedia("it looks like a text file".into())
        );
    }

    #[test]
    fn magic() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.resize(64, 1);
        assert_eq!(sniff(&wav), Sniffed::Native("wav"));
        let mut asf = vec![0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11];
        asf.resize(64, 0);
        assert_eq!(sniff(&asf), Sniffed::Foreign("asf"));
    }
}
