import { describe, expect, it } from "vitest";
import { basename, formatBytes, isLoopbackUrl, mmss, parseMmss, segmentAt, snippetParts, timestampParts } from "../lib/format";
import { addCaption } from "../lib/captions";

describe("format", () => {
  it("a server is local only when its host is this machine", () => {
    expect(isLoopbackUrl("http://127.0.0.1:11434/v1")).toBe(true);
    expect(isLoopbackUrl("http://localhost:8080/v1")).toBe(true);
    expect(isLoopbackUrl("http://[::1]:9/v1")).toBe(true);
    expect(isLoopbackUrl("http://10.0.0.5:11434/v1")).toBe(false);
    expect(isLoopbackUrl("https://api.openai.com/v1")).toBe(false);
    expect(isLoopbackUrl("http://127.0.0.1.evil.example/v1")).toBe(false);
    expect(isLoopbackUrl("")).toBe(false);
  });
  it("mmss", () => {
    expect(mmss(0)).toBe("00:00");
    expect(mmss(5_999)).toBe("00:05");
    expect(mmss(65_000)).toBe("01:05");
    expect(mmss(3_600_000 + 62_000)).toBe("1:01:02");
    expect(mmss(-5)).toBe("00:00");
  });
  it("parseMmss round-trips", () => {
    expect(parseMmss("01:05")).toBe(65_000);
    expect(parseMmss("1:01:02")).toBe(3_662_000);
    expect(parseMmss("1:75")).toBeNull();
    expect(parseMmss("abc")).toBeNull();
  });
  it("snippet highlights text between brackets", () => {
    expect(snippetParts("ask [not] what your [country]")).toEqual([
      { text: "ask ", hit: false },
      { text: "not", hit: true },
      { text: " what your ", hit: false },
      { text: "country", hit: true },
    ]);
  });
  it("finds [mm:ss] citations", () => {
    const parts = timestampParts("see [00:04] and [01:10].");
    expect(parts.filter((p) => p.kind === "time").map((p) => (p.kind === "time" ? p.ms : 0))).toEqual([4000, 70_000]);
    expect(timestampParts("no [refs] here")).toEqual([{ kind: "text", text: "no [refs] here" }]);
  });
  it("segmentAt", () => {
    const segs = [
      { start_ms: 0, end_ms: 1000 },
      { start_ms: 1000, end_ms: 2000 },
      { start_ms: 5000, end_ms: 6000 },
    ];
    expect(segmentAt(segs, 0)).toBe(0);
    expect(segmentAt(segs, 1500)).toBe(1);
    expect(segmentAt(segs, 4000)).toBe(1);
    expect(segmentAt(segs, 9000)).toBe(2);
    expect(segmentAt([], 9000)).toBe(-1);
  });
  it("bytes and basename", () => {
    expect(formatBytes(500)).toBe("500 B");
    expect(formatBytes(1_620_000_000)).toBe("1.5 GB");
    expect(basename("/a/b/c.m4a")).toBe("c.m4a");
    expect(basename("C:\\x\\y.wav")).toBe("y.wav");
  });
  it("captions: partial replaced by final, per speaker", () => {
    let c = addCaption([], { speaker: "me", start_ms: 0, end_ms: 1, text: "hel", is_final: false });
    c = addCaption(c, { speaker: "them", start_ms: 0, end_ms: 1, text: "yo", is_final: false });
    c = addCaption(c, { speaker: "me", start_ms: 0, end_ms: 2, text: "hello", is_final: true });
    expect(c.map((x) => [x.speaker, x.text, x.is_final])).toEqual([
      ["me", "hello", true],
      ["them", "yo", false],
    ]);
    c = addCaption(c, { speaker: "me", start_ms: 3, end_ms: 4, text: "next", is_final: false });
    expect(c).toHaveLength(3);
  });
});
