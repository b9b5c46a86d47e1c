import { useCallback, useEffect, useRef, useState } from "react";
import { commands, type DeviceItem, type JobEvent, type MarkKindDto, type RecordEvent } from "../bindings";
import { useApp } from "../context";
import { useT } from "../i18n";
import { call, channel, showError } from "../lib/call";
import { addCaption, type Caption } from "../lib/captions";
import { mmss } from "../lib/format";
import { Choice, Field, Progress } from "../components/ui";
import { Icon } from "../components/Icon";
import { toastStore } from "../lib/toast";

type Phase = "idle" | "starting" | "recording" | "stopping" | "transcribing";

const NONE = "__none__";
const MARK_KEYS: Record<string, MarkKindDto> = { k: "key", q: "question", t: "todo" };

function Meter({ label, value, testId }: { label: string; value: number | null; testId: string }) {
  const v = value ?? 0;
  return (
    <div className="meter" data-testid={testId} data-level={v.toFixed(2)}>
      <span className="meter-label">{label}</span>
      <div className="meter-track">
        <div className="meter-fill" style={{ width: `${Math.round(Math.min(1, v) * 100)}%` }} />
      </div>
    </div>
  );
}

export function RecordScreen({ active, onRecover }: { active: boolean; onRecover: () => void }) {
  const t = useT();
  const { info, openMeeting } = useApp();
  const [devices, setDevices] = useState<DeviceItem[]>([]);
  const [mic, setMic] = useState("default");
  const [system, setSystem] = useState(NONE);
  const [live, setLive] = useState(true);
  const [title, setTitle] = useState("");
  const [phase, setPhase] = useState<Phase>("idle");
  const [paused, setPaused] = useState(false);
  const [levels, setLevels] = useState<{ mic: number | null; system: number | null }>({ mic: null, system: null });
  const [elapsed, setElapsed] = useState(0);
  const [captions, setCaptions] = useState<Caption[]>([]);
  const [marks, setMarks] = useState<{ kind: MarkKindDto; at_ms: number }[]>([]);
  const [job, setJob] = useState<{ stage: string; fraction: number | null; eta: number | null }>({ stage: "", fraction: null, eta: null });
  const captionsRef = useRef<HTMLOListElement>(null);
  const loaded = useRef(false);

  useEffect(() => {
    if (!active || loaded.current) return;
    loaded.current = true;
    void call(commands.listDevices()).then((d) => {
      if (!d) return;
      setDevices(d);
      const defMic = d.find((x) => x.role === "mic" && x.is_default) ?? d.find((x) => x.role === "mic");
      if (defMic) setMic(defMic.id);
      else setMic(NONE);
    });
  }, [active]);

  useEffect(() => {
    const el = captionsRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [captions]);

  const onRecordEvent = useCallback((e: RecordEvent) => {
    switch (e.kind) {
      case "started":
        setPhase("recording");
        break;
      case "levels":
        setLevels({ mic: e.mic, system: e.system });
        setElapsed(e.elapsed_ms);
        setPaused(e.paused);
        break;
      case "caption":
        setCaptions((c) => addCaption(c, e));
        break;
      case "mark":
        setMarks((m) => [...m, { kind: e.mark, at_ms: e.at_ms }]);
        break;
      case "warning":
        toastStore.push("info", t("record.warning"), e.message);
        break;
      case "stopped":
        setElapsed(e.duration_ms);
        break;
      case "failed":
        showError(e.error);
        setPhase("idle");
        break;
    }
  }, [t]);

  const start = async () => {
    setCaptions([]);
    setMarks([]);
    setElapsed(0);
    setPaused(false);
    setPhase("starting");
    const r = await call(
      commands.startRecording(
        { mic: mic === NONE ? null : mic, system: system === NONE ? null : system, live_captions: live, title: title.trim() || null },
        channel<RecordEvent>(onRecordEvent),
      ),
    );
    if (r === undefined) setPhase("idle");
    else setPhase((p) => (p === "starting" ? "recording" : p));
  };

  const stop = async () => {
    setPhase("stopping");
    const ch = channel<JobEvent>((e) => {
      if (e.kind === "progress") setJob({ stage: e.stage, fraction: e.fraction, eta: e.eta_ms });
      else if (e.kind === "done") {
        setPhase("idle");
        setJob({ stage: "", fraction: null, eta: null });
        if (e.meeting_id !== null) openMeeting(e.meeting_id);
      } else if (e.kind === "failed") {
        showError(e.error);
        setPhase("idle");
      } else if (e.kind === "cancelled") setPhase("idle");
    });
    const r = await call(commands.stopRecording(ch));
    if (r === undefined) setPhase("recording");
    else setPhase((p) => (p === "stopping" ? "transcribing" : p));
  };

  const togglePause = async () => {
    const r = await call(paused ? commands.resumeRecording() : commands.pauseRecording());
    if (r !== undefined) setPaused(!paused);
  };

  const mark = useCallback((kind: MarkKindDto) => void call(commands.markRecording(kind)), []);

  useEffect(() => {
    if (!active || phase !== "recording") return;
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const kind = MARK_KEYS[e.key.toLowerCase()];
      if (kind) {
        e.preventDefault();
        mark(kind);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [active, phase, mark]);

  const recording = phase === "recording" || phase === "stopping";
  const none = { value: NONE, label: t("record.none") };
  const deviceOptions = (role: DeviceItem["role"]) =>
    devices.filter((d) => d.role === role).map((d) => ({ value: d.id, label: d.is_default ? `${d.name} (${t("common.default")})` : d.name }));
  const speakerName = (s: string) => (s === "me" ? t("record.me") : s === "them" ? t("record.them") : s);

  return (
    <div className="screen record" hidden={!active}>
      <header className="screen-head">
        <h1>{t("record.title")}</h1>
      </header>
      {info.pending_recordings.length > 0 && phase === "idle" && (
        <div className="banner" data-testid="recover-banner">
          <div>
            <strong>{t("record.recoverTitle")}</strong>
            <div className="small">{t("record.recoverBody", { count: info.pending_recordings.length })}</div>
          </div>
          <button className="primary" data-testid="recover-run" onClick={onRecover}>
            {t("record.recover")}
          </button>
        </div>
      )}
      <div className="record-grid">
        <section className="card record-controls">
          <Field label={t("record.mic")}>
            <Choice testId="mic-select" value={mic} onChange={setMic} first={none} options={deviceOptions("mic")} disabled={phase !== "idle"} />
          </Field>
          <Field label={t("record.system")}>
            <Choice testId="system-select" value={system} onChange={setSystem} first={none} options={deviceOptions("system")} disabled={phase !== "idle"} />
          </Field>
          <Field label={t("record.meetingTitle")}>
            <input value={title} onChange={(e) => setTitle(e.target.value)} disabled={phase !== "idle"} data-testid="record-title" />
          </Field>
          <label className="check">
            <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} disabled={phase !== "idle"} />
            {t("record.liveCaptions")}
          </label>
          <div className="meters">
            <Meter label={t("record.mic")} value={levels.mic} testId="level-mic" />
            <Meter label={t("record.system")} value={levels.system} testId="level-system" />
          </div>
          <div className="elapsed-row">
            <span className={`rec-dot${recording && !paused ? " live" : ""}`} aria-hidden />
            <span className="muted small">{recording ? (paused ? t("record.paused") : t("record.recording")) : t("record.elapsed")}</span>
            <span className="elapsed" data-testid="record-elapsed">
              {mmss(elapsed)}
            </span>
          </div>
          <div className="row">
            {phase === "idle" || phase === "starting" ? (
              <button className="primary big rec" data-testid="record-start" onClick={() => void start()} disabled={phase === "starting" || (mic === NONE && system === NONE)}>
                <Icon name="mic" /> {t("record.start")}
              </button>
            ) : (
              <>
                <button data-testid="record-pause" onClick={() => void togglePause()} disabled={phase !== "recording"}>
                  <Icon name={paused ? "play" : "pause"} /> {paused ? t("record.resume") : t("record.pause")}
                </button>
                <button className="danger" data-testid="record-stop" onClick={() => void stop()} disabled={phase !== "recording"}>
                  <Icon name="stop" /> {t("record.stop")}
                </button>
              </>
            )}
          </div>
          {recording && (
            <div className="mark-buttons">
              {(["key", "question", "todo"] as const).map((k) => (
                <button key={k} className={`small mark-btn mark-${k}`} data-testid={`mark-${k}`} onClick={() => mark(k)}>
                  <Icon name="flag" size={14} /> {t(`mark.${k}`)}
                </button>
              ))}
            </div>
          )}
          {recording && <p className="muted small">{t("record.hotkeys")}</p>}
          {phase === "transcribing" && (
            <div className="transcribing" data-testid="record-transcribing">
              <div className="small">{t("record.transcribing")}</div>
              <Progress fraction={job.fraction} />
              <div className="muted small">
                {job.stage}
                {job.eta !== null && ` · ${t("common.eta", { time: mmss(job.eta) })}`}
              </div>
            </div>
          )}
        </section>
        <section className="card captions-card">
          <h2>{t("record.captions")}</h2>
          {marks.length > 0 && (
            <div className="marks-row" data-testid="record-marks">
              {marks.map((m, i) => (
                <span key={i} className={`chip mark-${m.kind}`}>
                  {t(`mark.${m.kind}`)} {mmss(m.at_ms)}
                </span>
              ))}
            </div>
          )}
          {captions.length === 0 ? (
            <p className="muted">{t("record.noCaptions")}</p>
          ) : (
            <ol className="captions" ref={captionsRef}>
              {captions.map((c) => (
                <li key={c.id} className={`caption ${c.speaker}${c.is_final ? "" : " partial"}`} data-testid="caption" data-final={c.is_final}>
                  <span className="caption-who">{speakerName(c.speaker)}</span>
                  <span className="caption-time">{mmss(c.start_ms)}</span>
                  <span className="caption-text">{c.text}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </div>
  );
}
