import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { I18nProvider } from "../i18n";
import { SpeakerStrip, Speakers, speakerColors } from "../components/Speakers";
import { Transcript } from "../components/Transcript";
import { initialMeetings } from "../mock/fixtures";
import type { MeetingView } from "../bindings";

const weekly = initialMeetings()[1] as MeetingView;
const names = Object.fromEntries(weekly.speakers.map((s) => [s.label, s.name ?? s.label]));

afterEach(() => clearMocks());

describe("speaker colours", () => {
  it("each speaker has its own colour, kept by label when renamed", () => {
    const c = speakerColors(weekly.speakers);
    expect(Object.values(c)).toEqual([0, 1, 2]);
    const renamed = speakerColors(weekly.speakers.map((s) => ({ ...s, name: "X" })));
    expect(renamed).toEqual(c);
  });
  it("transcript lines and the player strip share a speaker's colour", () => {
    const colors = speakerColors(weekly.speakers);
    render(
      <I18nProvider lang="zh">
        <Transcript segments={weekly.segments} speakerNames={names} speakerColors={colors} marks={[]} positionMs={0} onSeek={vi.fn()} onEdit={vi.fn()} onAddMark={vi.fn()} />
        <SpeakerStrip segments={weekly.segments} durationMs={weekly.duration_ms} colors={colors} names={names} onSeek={vi.fn()} />
      </I18nProvider>,
    );
    const tags = screen.getAllByTestId("segment-speaker");
    const byName = new Map(tags.map((t) => [t.textContent, t.dataset.color]));
    expect(byName.get("王敏")).toBe("0");
    expect(byName.get("李雷")).toBe("1");
    expect(new Set(byName.values()).size).toBe(3);
    const bands = screen.getByTestId("speaker-strip").querySelectorAll("span");
    // Consecutive lines of one speaker are one band; every band starts where one of its lines does.
    expect(bands.length).toBeGreaterThan(2);
    expect(bands.length).toBeLessThanOrEqual(weekly.segments.length);
    for (const b of bands) expect(b.className).toBe(`spk spk-${colors[b.dataset.speaker ?? ""]}`);
  });
  it("one voice needs no strip", () => {
    const { container } = render(<SpeakerStrip segments={weekly.segments} durationMs={1000} colors={{ A: 0 }} names={{}} onSeek={vi.fn()} />);
    expect(container.innerHTML).toBe("");
  });
});

describe("Speakers panel", () => {
  it("a name from a voiceprint shows its score and confirming makes it the user's", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "rename_speaker") calls.push(args);
      return null;
    });
    const onChanged = vi.fn();
    render(
      <I18nProvider lang="en">
        <Speakers meeting={weekly} colors={speakerColors(weekly.speakers)} open onToggle={vi.fn()} onChanged={onChanged} />
      </I18nProvider>,
    );
    const matched = screen.getAllByTestId("speaker-matched");
    expect(matched.map((m) => m.textContent)).toEqual(["voiceprint 87%"]);
    fireEvent.click(screen.getByTestId("speaker-confirm"));
    await vi.waitFor(() => expect(onChanged).toHaveBeenCalled());
    expect(calls).toEqual([{ id: 2, label: "B", name: "李雷" }]);
  });
});
