import { useCallback, useEffect, useRef, useState } from "react";
import { convertFileSrc } from "@tauri-apps/api/core";
import { commands, type MarkKindDto, type MeetingView, type TimeRange } from "../bindings";
import { useApp } from "../context";
import { useLang, useT } from "../i18n";
import { call } from "../lib/call";
import { formatDate, mmss } from "../lib/format";
import { PlayerBar } from "../components/Player";
import { Transcript } from "../components/Transcript";
import { NotesPanel } from "../components/NotesPanel";
import { ExportDialog } from "../components/ExportDialog";
import { RetranscribeDialog } from "../components/RetranscribeDialog";
import { Icon } from "../components/Icon";
import { SpeakerStrip, Speakers, speakerColors } from "../components/Speakers";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
}

function UserNotes({ meeting }: { meeting: MeetingView }) {
  const t = useT();
  const [text, setText] = useState(meeting.user_notes);
  const [state, setState] = useState<"idle" | "saving" | "saved">("idle");
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(text);
  const save = useCallback(async () => {
    setState("saving");
    const r = await call(commands.setUserNotes(meeting.id, latest.current));
    setState(r === undefined ? "idle" : "saved");
  }, [meeting.id]);
  useEffect(
    () => () => {
      if (timer.current) {
        clearTimeout(timer.current);
        void save();
      }
    },
    [save],
  );
  return (
    <div className="user-notes">
      <textarea
        data-testid="user-notes"
        value={text}
        placeholder={t("meeting.myNotesPlaceholder")}
        onChange={(e) => {
          setText(e.target.value);
          latest.current = e.target.value;
          if (timer.current) clearTimeout(timer.current);
          timer.current = setTimeout(() => {
            timer.current = null;
            void save();
          }, 700);
        }}
      />
      <span className="muted small" data-testid="user-notes-state">
        {state === "saving" ? t("meeting.saving") : state === "saved" ? t("meeting.saved") : ""}
      </span>
    </div>
  );
}

export function MeetingScreen({ id, seekMs, seekNonce }: { id: number; seekMs: number | null; seekNonce: number }) {
  const t = useT();
  const lang = useLang();
  const { navigate } = useApp();
  const [meeting, setMeeting] = useState<MeetingView | null>(null);
  const [peaks, setPeaks] = useState<number[]>([]);
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [rate, setRate] = useState(1);
  const [editingTitle, setEditingTitle] = useState(false);
  const [title, setTitle] = useState("");
  // The speakers panel stays as the user left it across reloads; a name a voiceprint gave opens it.
  const [speakersOpen, setSpeakersOpen] = useState(false);
  const [folder, setFolder] = useState("");
  const [tags, setTags] = useState("");
  const [selection, setSelection] = useState<TimeRange | null>(null);
  const [dialog, setDialog] = useState<"export" | "retranscribe" | null>(null);
  const [pane, setPane] = useState<"notes" | "mine">("notes");
  const [bilingual, setBilingual] = useState(false);
  const audio = useRef<HTMLAudioElement>(null);
  const audioOk = useRef(false);
  const clock = useRef<ReturnType<typeof setInterval> | null>(null);
  const durationRef = useRef(0);
  const rateRef = useRef(1);

  const load = useCallback(async () => {
    const m = await call(commands.getMeeting(id));
    if (!m) return;
    setMeeting(m);
    if (m.speakers.some((s) => s.matched !== null)) setSpeakersOpen(true);
    durationRef.current = m.duration_ms;
    setTitle(m.title);
    setFolder(m.folder ?? "");
    setTags(m.tags.join(", "));
  }, [id]);

  useEffect(() => {
    void load();
    void call(commands.waveform(id, 600)).then((p) => p && setPeaks(p.map((v) => v ?? 0)));
  }, [id, load]);

  const stopClock = () => {
    if (clock.current) clearInterval(clock.current);
    clock.current = null;
  };
  useEffect(() => stopClock, []);

  const seek = useCallback((ms: number) => {
    const clamped = Math.max(0, durationRef.current > 0 ? Math.min(ms, durationRef.current) : ms);
    setPosition(clamped);
    const a = audio.current;
    if (a && audioOk.current) {
      try {
        a.currentTime = clamped / 1000;
      } catch {
        // not seekable yet; the position state still moved
      }
    }
  }, []);

  useEffect(() => {
    if (meeting && seekMs !== null) seek(seekMs);
    // seek once per navigation (nonce), after the meeting loaded
  }, [meeting !== null, seekMs, seekNonce, seek]); // eslint-disable-line react-hooks/exhaustive-deps

  const startClock = useCallback(() => {
    stopClock();
    setPlaying(true);
    clock.current = setInterval(() => {
      setPosition((p) => {
        const next = p + 100 * rateRef.current;
        if (durationRef.current > 0 && next >= durationRef.current) {
          stopClock();
          setPlaying(false);
          return durationRef.current;
        }
        return next;
      });
    }, 100);
  }, []);

  const toggle = useCallback(() => {
    const a = audio.current;
    if (playing) {
      stopClock();
      a?.pause();
      setPlaying(false);
      return;
    }
    if (a && audioOk.current) {
      a.play().then(
        () => setPlaying(true),
        () => startClock(),
      );
    } else startClock();
  }, [playing, startClock]);

  const changeRate = (r: number) => {
    setRate(r);
    rateRef.current = r;
    if (audio.current) audio.current.playbackRate = r;
  };

  const posRef = useRef(0);
  posRef.current = position;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (document.querySelector(".modal")) return;
      if (e.key === " " || e.code === "Space") {
        e.preventDefault();
        // a focused button would also "click" on space
        if (e.target instanceof HTMLButtonElement) e.target.blur();
        toggle();
      } else if (e.key === "ArrowLeft") {
        e.preventDefault();
        seek(posRef.current - 5000);
      } else if (e.key === "ArrowRight") {
        e.preventDefault();
        seek(posRef.current + 5000);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [toggle, seek]);

  const onEdit = useCallback(
    async (idx: number, text: string) => {
      const r = await call(commands.editSegment(id, idx, text));
      if (r === undefined) return false;
      await load();
      return true;
    },
    [id, load],
  );
  const onAddMark = useCallback(
    (idx: number, kind: MarkKindDto) => {
      void call(commands.addMark(id, idx, kind)).then((r) => {
        if (r !== undefined) void load();
      });
    },
    [id, load],
  );

  const reload = useCallback(() => void load(), [load]);

  if (!meeting) return <div className="screen muted">{t("common.loading")}</div>;

  const saveTitle = async () => {
    setEditingTitle(false);
    const v = title.trim();
    if (!v || v === meeting.title) return setTitle(meeting.title);
    if ((await call(commands.renameMeeting(id, v))) !== undefined) void load();
  };
  const saveFolder = async () => {
    const v = folder.trim();
    if (v === (meeting.folder ?? "")) return;
    if ((await call(commands.setFolder(id, v || null))) !== undefined) void load();
  };
  const saveTags = async () => {
    const list = tags
      .split(/[,，]/)
      .map((x) => x.trim().replace(/^#/, ""))
      .filter(Boolean);
    if (list.join(",") === meeting.tags.join(",")) return;
    if ((await call(commands.setTags(id, list))) !== undefined) void load();
  };

  const speakerNames: Record<string, string> = {};
  for (const s of meeting.speakers) speakerNames[s.label] = s.name ?? s.label;
  const colors = speakerColors(meeting.speakers);
  const currentVersion = meeting.versions.find((v) => v.current);

  return (
    <div className="screen meeting">
      <header className="meeting-head">
        <button className="ghost small" onClick={() => navigate({ screen: "library" })} data-testid="meeting-back">
          <Icon name="back" size={14} /> {t("meeting.back")}
        </button>
        <div className="title-row">
          {editingTitle ? (
            <input
              className="title-input"
              data-testid="title-input"
              value={title}
              autoFocus
              aria-label={t("meeting.rename")}
              onChange={(e) => setTitle(e.target.value)}
              onBlur={() => void saveTitle()}
              onKeyDown={(e) => {
                if (e.key === "Enter") void saveTitle();
                if (e.key === "Escape") {
                  setTitle(meeting.title);
                  setEditingTitle(false);
                }
              }}
            />
          ) : (
            <h1 className="meeting-title" data-testid="meeting-title" title={t("meeting.rename")} onClick={() => setEditingTitle(true)}>
              {meeting.title} <Icon name="edit" size={14} />
            </h1>
          )}
          <span className="spacer" />
          {meeting.versions.length > 0 && (
            <select
              aria-label={t("meeting.version")}
              title={t("meeting.version")}
              data-testid="version-select"
              value={currentVersion?.id ?? ""}
              onChange={(e) => void call(commands.setCurrentVersion(Number(e.target.value))).then((r) => {
                  if (r !== undefined) void load();
                })}
            >
              {meeting.versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.label} · {v.model}
                </option>
              ))}
            </select>
          )}
          <button onClick={() => setDialog("retranscribe")} data-testid="retranscribe-open">
            {t("meeting.retranscribe")}
          </button>
          <button className="primary" onClick={() => setDialog("export")} data-testid="export-open">
            {t("meeting.export")}
          </button>
        </div>
        <div className="meta-row">
          <span className="muted small">
            {formatDate(meeting.created_ms, lang)} · {mmss(meeting.duration_ms)} · {t("meeting.segments", { count: meeting.segments.length })}
          </span>
          <label className="inline-field">
            <span>{t("meeting.folder")}</span>
            <input value={folder} onChange={(e) => setFolder(e.target.value)} onBlur={() => void saveFolder()} onKeyDown={(e) => e.key === "Enter" && void saveFolder()} data-testid="folder-input" />
          </label>
          <label className="inline-field">
            <span>{t("meeting.tags")}</span>
            <input value={tags} placeholder={t("meeting.tagsPlaceholder")} onChange={(e) => setTags(e.target.value)} onBlur={() => void saveTags()} onKeyDown={(e) => e.key === "Enter" && void saveTags()} data-testid="tags-input" />
          </label>
        </div>
      </header>

      {meeting.audio_path ? (
        <audio
          ref={audio}
          src={convertFileSrc(meeting.audio_path)}
          preload="metadata"
          onLoadedMetadata={() => {
            audioOk.current = true;
            if (audio.current) {
              audio.current.playbackRate = rateRef.current;
              audio.current.currentTime = posRef.current / 1000;
            }
          }}
          onError={() => {
            audioOk.current = false;
          }}
          onTimeUpdate={(e) => {
            if (!clock.current && audioOk.current) setPosition(e.currentTarget.currentTime * 1000);
          }}
          onEnded={() => setPlaying(false)}
        />
      ) : (
        <p className="muted small">{t("meeting.noAudio")}</p>
      )}
      <PlayerBar playing={playing} positionMs={position} durationMs={meeting.duration_ms} rate={rate} peaks={peaks} onToggle={toggle} onSeek={seek} onRate={changeRate} />
      <SpeakerStrip segments={meeting.segments} durationMs={meeting.duration_ms} colors={colors} names={speakerNames} onSeek={seek} />
      <div className="muted tiny-hint">
        {t("meeting.shortcuts")}
        {selection && ` · ${t("meeting.selection", { from: mmss(selection.start_ms), to: mmss(selection.end_ms) })}`}
      </div>

      <div className="meeting-body">
        <section className="transcript-col">
          <Speakers key={meeting.speakers.map((s) => `${s.label}:${s.name ?? ""}:${s.matched ?? ""}`).join("|")} meeting={meeting} colors={colors} open={speakersOpen} onToggle={setSpeakersOpen} onChanged={() => void load()} />
          {meeting.notes?.translation && (
            <label className="check small bilingual-toggle">
              <input type="checkbox" data-testid="bilingual-toggle" checked={bilingual} onChange={(e) => setBilingual(e.target.checked)} />
              {t("meeting.bilingual")}
            </label>
          )}
          <Transcript translations={bilingual ? meeting.notes?.translation?.segments ?? null : null} segments={meeting.segments} speakerNames={speakerNames} speakerColors={colors} marks={meeting.marks} positionMs={position} onSeek={seek} onEdit={onEdit} onAddMark={onAddMark} onSelectRange={setSelection} />
        </section>
        <aside className="side-col card">
          <div className="pane-switch" role="tablist">
            <button role="tab" aria-selected={pane === "notes"} className={pane === "notes" ? "active" : ""} onClick={() => setPane("notes")} data-testid="pane-notes">
              <Icon name="sparkle" size={14} /> {t("notes.title")}
            </button>
            <button role="tab" aria-selected={pane === "mine"} className={pane === "mine" ? "active" : ""} onClick={() => setPane("mine")} data-testid="pane-mine">
              <Icon name="edit" size={14} /> {t("meeting.myNotes")}
            </button>
          </div>
          {pane === "notes" ? <NotesPanel meeting={meeting} onSeek={seek} onReload={reload} /> : <UserNotes meeting={meeting} />}
        </aside>
      </div>
      {dialog === "export" && <ExportDialog meetingId={id} onClose={() => setDialog(null)} />}
      {dialog === "retranscribe" && (
        <RetranscribeDialog
          meetingId={id}
          selection={selection}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            void load();
          }}
        />
      )}
    </div>
  );
}
