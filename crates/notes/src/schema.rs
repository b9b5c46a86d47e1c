//! JSON schemas given to the model (a grammar on llama.cpp, `response_format` elsewhere) and the
//! lenient readers that turn what a small model wrote into typed values. Readers accept the
//! usual slips (a number as a string, a bare array instead of the wrapping object, other key
//! names for the same thing) and reject only what cannot be used; their error text goes back
//! to the model in the repair prompt.

use serde_json::{Value, json};

use tingji_transcript::notes::NoteKind;

/// Arrays are bounded: with a grammar and no bound, small models list until they hit the
/// length limit.
fn item_array(props: Value, required: &[&str], max: usize) -> Value {
    json!({ "type": "array", "maxItems": max, "items": { "type": "object", "properties": props, "required": required } })
}

fn object(key: &str, inner: Value) -> Value {
    json!({ "type": "object", "properties": { key: inner }, "required": [key] })
}

fn mind_node(depth: usize) -> Value {
    if depth == 1 {
        json!({ "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] })
    } else {
        // At most 6 branches, 4 sub-points, 3 leaves: a tree that fits one answer.
        let max = [0, 0, 3, 4, 6][depth.min(4)];
        json!({
            "type": "object",
            "properties": { "text": { "type": "string" }, "children": { "type": "array", "maxItems": max, "items": mind_node(depth - 1) } },
            "required": ["text", "children"]
        })
    }
}

/// The schema for one output kind (what the prompt of that kind asks for).
pub fn for_kind(kind: NoteKind) -> Value {
    let s = json!({ "type": "string" });
    let n = json!({ "type": "integer" });
    let opt = json!({ "type": ["string", "null"] });
    match kind {
        NoteKind::Summary => object("summary", s),
        NoteKind::KeyPoints => object("key_points", item_array(json!({ "text": s, "segment": n }), &["text", "segment"], 8)),
        NoteKind::Keywords => object("keywords", json!({ "type": "array", "maxItems": 15, "items": s })),
        NoteKind::Decisions => object("decisions", item_array(json!({ "text": s, "segment": n }), &["text", "segment"], 10)),
        NoteKind::Chapters => object(
            "chapters",
            item_array(json!({ "title": s, "summary": s, "start_segment": n }), &["title", "summary", "start_segment"], 8),
        ),
        NoteKind::Speakers => object("speakers", item_array(json!({ "speaker": s, "summary": s }), &["speaker", "summary"], 12)),
        NoteKind::Qa => object(
            "qa",
            item_array(json!({ "question": s, "answer": s, "segment": n }), &["question", "answer", "segment"], 10),
        ),
        NoteKind::Actions => object(
            "actions",
            item_array(json!({ "task": s, "owner": opt, "due": opt, "segment": n }), &["task", "owner", "due", "segment"], 15),
        ),
        NoteKind::MindMap => mind_node(4),
        NoteKind::Translation => translation(None),
        NoteKind::Sections => object("sections", item_array(json!({ "title": s, "body": s }), &["title", "body"], 12)),
    }
}

/// A translation: one string per source line, in order (exactly `lines` of them when known).
/// Positions, not segment numbers: a small model copies the example's number or restarts the
/// count, but a grammar can hold it to the right number of strings.
pub fn translation(lines: Option<usize>) -> Value {
    let mut list = json!({ "type": "array", "items": { "type": "string" }, "maxItems": lines.unwrap_or(100) });
    if let Some(n) = lines {
        list["minItems"] = json!(n);
    }
    object("lines", list)
}

/// A template's sections: the titles are fixed, so the grammar only lets the model fill bodies.
pub fn sections(titles: &[&str]) -> Value {
    // Every section, each with something in it (a small model otherwise returns empty bodies).
    let mut list = item_array(json!({ "title": { "type": "string", "enum": titles }, "body": { "type": "string", "minLength": 1 } }), &["title", "body"], titles.len());
    list["minItems"] = json!(titles.len());
    object("sections", list)
}

pub fn ask() -> Value {
    json!({
        "type": "object",
        "properties": { "answer": { "type": "string" }, "segments": { "type": "array", "items": { "type": "integer" } } },
        "required": ["answer", "segments"]
    })
}

/// The first JSON value in a model's reply (code fences and chatter around it ignored). A reply
/// cut off by the length limit keeps its complete elements (see [`salvage`]).
pub fn extract_json(text: &str) -> Result<Value, String> {
    let start = text.find(['{', '[']).ok_or_else(|| "the reply contains no JSON object".to_string())?;
    let mut it = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    match it.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) if e.is_eof() => salvage(&text[start..]).ok_or_else(|| format!("invalid JSON ({e})")),
        Some(Err(e)) => Err(format!("invalid JSON ({e})")),
        None => Err("the reply contains no JSON object".into()),
    }
}

/// A truncated JSON text closed after its last complete element: cut before a comma outside
/// strings (trying the latest first) and append the brackets still open there.
pub fn salvage(text: &str) -> Option<Value> {
    let mut stack: Vec<char> = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    let mut cuts: Vec<(usize, Vec<char>)> = Vec::new();
    for (i, c) in text.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => stack.push(c),
            '}' | ']' => {
                stack.pop();
            }
            ',' => cuts.push((i, stack.clone())),
            _ => {}
        }
    }
    // First: close what is open at the very end (a string cut mid-word included).
    let mut whole = text.trim_end().to_string();
    if in_str {
        if escaped {
            whole.pop();
        }
        whole.push('"');
    }
    for o in stack.iter().rev() {
        whole.push(if *o == '{' { '}' } else { ']' });
    }
    if let Ok(v) = serde_json::from_str(&whole) {
        return Some(v);
    }
    cuts.iter().rev().take(64).find_map(|(i, open)| {
        let mut s = text[..*i].to_string();
        for o in open.iter().rev() {
            s.push(if *o == '{' { '}' } else { ']' });
        }
        serde_json::from_str(&s).ok()
    })
}

/// The list under `key` (or under one of `aliases`), or the value itself when it is a list.
pub fn list<'a>(v: &'a Value, key: &str, aliases: &[&str]) -> Result<&'a Vec<Value>, String> {
    if let Some(a) = v.as_array() {
        return Ok(a);
    }
    for k in std::iter::once(&key).chain(aliases) {
        if let Some(a) = v.get(*k).and_then(Value::as_array) {
            return Ok(a);
        }
    }
    // A single-key object holding a list under another name.
    if let Some(o) = v.as_object()
        && o.len() == 1
        && let Some(a) = o.values().next().and_then(Value::as_array)
    {
        return Ok(a);
    }
    Err(format!("expected a list under \"{key}\""))
}

/// A non-empty string field, by the first key present.
pub fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k))
        .and_then(|x| match x {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("null") && !s.eq_ignore_ascii_case("none"))
}

/// A segment number: an integer, or a string holding one (`"12"`, `"[12]"`).
pub fn segment(v: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| v.get(*k)).and_then(|x| match x {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_chatter_and_fences() {
        let v = extract_json("Sure!\n```json\n{\"a\": [1, 2]}\n```\nHope that helps").unwrap();
        assert_eq!(v, json!({"a": [1, 2]}));
        assert!(extract_json("no json here").unwrap_err().contains("no JSON"));
        assert!(extract_json("{\"a\": ").unwrap_err().contains("invalid JSON"));
        // Cut off by the length limit: the complete elements survive.
        let v = extract_json("{\"keywords\": [\"a\", \"b, c\", \"d").unwrap();
        assert_eq!(v, json!({"keywords": ["a", "b, c", "d"]}));
        let v = extract_json("{\"summary\": \"We met and we met and we").unwrap();
        assert_eq!(v, json!({"summary": "We met and we met and we"}));
        let v = extract_json("{\"keywords\": [\"a\", \"b\", ").unwrap();
        assert_eq!(v, json!({"keywords": ["a", "b"]}));
        let v = extract_json("{\"actions\": [{\"task\": \"x\", \"segment\": 1}, {\"task\": \"y\"").unwrap();
        assert_eq!(v, json!({"actions": [{"task": "x", "segment": 1}, {"task": "y"}]}));
        // A dangling key cannot be closed: fall back to the last complete element.
        let v = extract_json("{\"actions\": [{\"task\": \"x\"}, {\"task\": ").unwrap();
        assert_eq!(v, json!({"actions": [{"task": "x"}]}));
    }

    #[test]
    fn lenient_readers() {
        let v = json!({"items": [{"task": " Send it ", "segment": "[7]"}]});
        let l = list(&v, "actions", &[]).unwrap();
        assert_eq!(text(&l[0], &["task"]).as_deref(), Some("Send it"));
        assert_eq!(segment(&l[0], &["segment"]), Some(7));
        assert_eq!(text(&json!({"owner": "null"}), &["owner"]), None);
        assert!(list(&json!({"a": 1, "b": 2}), "actions", &[]).is_err());
    }

    /// A grammar writes properties in the schema's order: the task before its owner, the
    /// question before its answer, a section's title before its body (a body that runs to the
    /// length limit must not leave the section without a title).
    #[test]
    fn properties_keep_the_order_they_are_written_in() {
        let keys = |v: &Value| v["properties"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let items = |k: NoteKind, key: &str| keys(&for_kind(k)["properties"][key]["items"]);
        assert_eq!(items(NoteKind::Actions, "actions"), ["task", "owner", "due", "segment"]);
        assert_eq!(items(NoteKind::Qa, "qa"), ["question", "answer", "segment"]);
        assert_eq!(items(NoteKind::Chapters, "chapters"), ["title", "summary", "start_segment"]);
        assert_eq!(keys(&sections(&["A", "B"])["properties"]["sections"]["items"]), ["title", "body"]);
        assert_eq!(keys(&ask()), ["answer", "segments"]);
        // And so it goes over the wire.
        let wire = serde_json::to_string(&for_kind(NoteKind::Actions)).unwrap();
        assert!(wire.find("\"task\"").unwrap() < wire.find("\"owner\"").unwrap(), "{wire}");
    }

    #[test]
    fn every_kind_has_an_object_schema() {
        for k in NoteKind::ALL {
            assert_eq!(for_kind(k)["type"], "object", "{k:?}");
        }
    }
}
