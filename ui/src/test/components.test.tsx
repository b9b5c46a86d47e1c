import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { I18nProvider } from "../i18n";
import { Transcript } from "../components/Transcript";
import { NoteBody, NOTE_TABS } from "../components/NotesPanel";
import { MindMap, limitDepth, mindDepth } from "../components/MindMap";
import { initialMeetings } from "../mock/fixtures";
import type { MeetingView, NoteKind } from "../bindings";

const [jfk, weekly] = initialMeetings() as [MeetingView, MeetingView, MeetingView];

function renderTranscript(onSeek = vi.fn(), positionMs = 0) {
  const onEdit = vi.fn().mockResolvedValue(true);
  const onAddMark = vi.fn();
  const r = render(
    <I18nProvider lang="en">
      <Transcript segments={jfk.segments} speakerNames={{ SPEAKER_00: "JFK" }} marks={jfk.marks} positionMs={positionMs} onSeek={onSeek} onEdit={onEdit} onAddMark={onAddMark} />
    </I18nProvider>,
  );
  return { ...r, onSeek, onEdit, onAddMark };
}

describe("Transcript", () => {
  it("clicking a word seeks to its start", () => {
    const { onSeek } = renderTranscript();
    const word = screen.getAllByTestId("word").find((w) => w.textContent === " country");
    expect(word).toBeDefined();
    fireEvent.click(word as HTMLElement);
    expect(onSeek).toHaveBeenCalledWith(Number(word?.dataset.startMs));
    expect(Number(word?.dataset.startMs)).toBeGreaterThan(3600);
  });
  it("highlights the segment at the position", () => {
    renderTranscript(vi.fn(), 8000);
    const segs = screen.getAllByTestId("segment");
    expect(segs.map((s) => s.dataset.current)).toEqual(["false", "false", "true"]);
  });
  it("timestamps seek and marks show", () => {
    const { onSeek } = renderTranscript();
    fireEvent.click(screen.getAllByTestId("timestamp")[2] as HTMLElement);
    expect(onSeek).toHaveBeenCalledWith(7400);
    expect(screen.getAllByTestId("segment-mark")[0]?.textContent).toBe("Key point");
  });
  it("edits a segment and adds a mark", async () => {
    const { onEdit, onAddMark } = renderTranscript();
    fireEvent.click(screen.getAllByTestId("segment-edit")[0] as HTMLElement);
    fireEvent.change(screen.getByTestId("segment-editor"), { target: { value: "And so, my fellow Americans," } });
    fireEvent.click(screen.getByTestId("segment-save"));
    expect(onEdit).toHaveBeenCalledWith(0, "And so, my fellow Americans,");
    fireEvent.click(screen.getAllByTestId("add-mark-todo")[1] as HTMLElement);
    expect(onAddMark).toHaveBeenCalledWith(1, "todo");
  });
});

describe("Notes", () => {
  const kinds = NOTE_TABS.filter((k) => k !== "sections");
  it.each(kinds)("renders %s (en and zh)", (kind: NoteKind) => {
    for (const [m, lang] of [
      [jfk, "en"],
      [weekly, "zh"],
    ] as const) {
      const { unmount } = render(
        <I18nProvider lang={lang}>
          <NoteBody kind={kind} meeting={m} onSeek={vi.fn()} onToggleAction={vi.fn()} />
        </I18nProvider>,
      );
      const body = screen.getByTestId(`notes-body-${kind}`);
      expect(body.textContent?.length ?? 0).toBeGreaterThan(5);
      expect(within(body).queryByText(lang === "en" ? "Not generated yet." : "尚未生成。")).toBeNull();
      unmount();
    }
  });
  it("chapters seek, keywords are chips, actions toggle", () => {
    const onSeek = vi.fn();
    const onToggle = vi.fn();
    const { rerender } = render(
      <I18nProvider lang="zh">
        <NoteBody kind="chapters" meeting={weekly} onSeek={onSeek} onToggleAction={onToggle} />
      </I18nProvider>,
    );
    const chapters = screen.getAllByTestId("chapter");
    expect(chapters).toHaveLength(4);
    fireEvent.click(chapters[2] as HTMLElement);
    expect(onSeek).toHaveBeenCalledWith(weekly.notes?.chapters?.[2]?.start_ms);
    rerender(
      <I18nProvider lang="zh">
        <NoteBody kind="keywords" meeting={weekly} onSeek={onSeek} onToggleAction={onToggle} />
      </I18nProvider>,
    );
    expect(screen.getAllByTestId("keyword").map((k) => k.textContent)).toContain("实时字幕");
    rerender(
      <I18nProvider lang="zh">
        <NoteBody kind="actions" meeting={weekly} onSeek={onSeek} onToggleAction={onToggle} />
      </I18nProvider>,
    );
    // Owners are stored as speaker labels and shown under the speaker's name (B is 李雷).
    expect(screen.getByText("负责人：李雷")).toBeTruthy();
    fireEvent.click(screen.getAllByTestId("action-check")[0] as HTMLElement);
    expect(onToggle).toHaveBeenCalledWith(weekly.actions[0], true);
  });
  it("translation is bilingual", () => {
    render(
      <I18nProvider lang="en">
        <NoteBody kind="translation" meeting={jfk} onSeek={vi.fn()} onToggleAction={vi.fn()} />
      </I18nProvider>,
    );
    const rows = screen.getByTestId("bilingual").querySelectorAll("li");
    expect(rows).toHaveLength(3);
    expect(rows[1]?.textContent).toContain("ask not what your country");
    expect(rows[1]?.textContent).toContain("不要问你的国家能为你做什么");
  });
  it("missing kinds say not generated", () => {
    render(
      <I18nProvider lang="en">
        <NoteBody kind="sections" meeting={jfk} onSeek={vi.fn()} onToggleAction={vi.fn()} />
      </I18nProvider>,
    );
    expect(screen.getByText("Not generated yet.")).toBeTruthy();
  });
});

describe("MindMap", () => {
  it("cuts trees deeper than four levels", () => {
    const root = jfk.notes?.mind_map;
    expect(root).toBeDefined();
    if (!root) return;
    expect(mindDepth(root)).toBe(5);
    expect(mindDepth(limitDepth(root))).toBe(4);
    render(<MindMap root={root} />);
    const depths = screen.getAllByTestId("mind-node").map((n) => Number(n.dataset.depth));
    expect(Math.max(...depths)).toBe(4);
    expect(screen.queryByText("too deep — cut at level 4")).toBeNull();
    expect(screen.getByText("what your country can do for you")).toBeTruthy();
  });
});
