import { memo, useState, type ReactNode } from "react";
import { commands, type ActionView, type AskAnswer, type JobEvent, type MeetingView, type NoteKind, type NotesRequest } from "../bindings";
import { useApp } from "../context";
import { tryKey, useT } from "../i18n";
import { call, channel, showError } from "../lib/call";
import { mmss, timestampParts } from "../lib/format";
import { LANGS, Progress, TimeLink } from "./ui";
import { MindMap } from "./MindMap";
import { speakerColors } from "./Speakers";
import { Icon } from "./Icon";

export const NOTE_TABS: NoteKind[] = ["summary", "key_points", "keywords", "decisions", "chapters", "speakers", "qa", "actions", "mind_map", "translation", "sections"];
export const DEFAULT_KINDS: NoteKind[] = NOTE_TABS.slice(0, 9);
/** The bundled templates (`assets/templates/*.toml`, by their `name`). */
export const TEMPLATES = ["standup", "one-on-one", "interview", "lecture", "sales-call"] as const;

type Tab = NoteKind | "ask";

/** Text with [mm:ss] references turned into seek buttons. */
export function CitedText({ text, onSeek }: { text: string; onSeek: (ms: number) => void }) {
  return (
    <>
      {timestampParts(text).map((p, i) =>
        p.kind === "text" ? (
          <span key={i}>{p.text}</span>
        ) : (
          <button key={i} className="ts" data-testid="citation" data-ms={p.ms} onClick={() => onSeek(p.ms)}>
            {p.text}
          </button>
        ),
      )}
    </>
  );
}

function Empty() {
  const t = useT();
  return <p className="muted">{t("notes.notGenerated")}</p>;
}

/** Renders one kind of notes. Exported for tests. */
export function NoteBody({ kind, meeting, onSeek, onToggleAction }: { kind: NoteKind; meeting: MeetingView; onSeek: (ms: number) => void; onToggleAction: (a: ActionView, done: boolean) => void }) {
  const t = useT();
  const n = meeting.notes;
  const names: Record<string, string> = {};
  for (const s of meeting.speakers) names[s.label] = s.name ?? s.label;
  // A summary names its speaker by label (or by name when written after a rename): same colour as the transcript.
  const colors = speakerColors(meeting.speakers);
  const colorOf = (who: string) => colors[who] ?? colors[meeting.speakers.find((s) => s.name === who)?.label ?? ""];
  let body: ReactNode = <Empty />;
  switch (kind) {
    case "summary":
      if (n?.summary) body = <p className="prose">{n.summary}</p>;
      break;
    case "key_points":
    case "decisions": {
      const pts = kind === "key_points" ? n?.key_points : n?.decisions;
      if (pts && pts.length)
        body = (
          <ul className="points">
            {pts.map((p, i) => (
              <li key={i}>
                {p.start_ms != null && <TimeLink ms={p.start_ms} onSeek={onSeek} />} <span>{p.text}</span>
              </li>
            ))}
          </ul>
        );
      break;
    }
    case "keywords":
      if (n?.keywords && n.keywords.length)
        body = (
          <div className="chips">
            {n.keywords.map((k) => (
              <span key={k} className="chip keyword" data-testid="keyword">
                {k}
              </span>
            ))}
          </div>
        );
      break;
    case "chapters":
      if (n?.chapters && n.chapters.length)
        body = (
          <ol className="chapters">
            {n.chapters.map((c, i) => (
              <li key={i} className="chapter">
                <button className="chapter-head" data-testid="chapter" data-ms={c.start_ms} onClick={() => onSeek(c.start_ms)}>
                  <span className="ts">{mmss(c.start_ms)}</span>
                  <span className="chapter-title">{c.title}</span>
                </button>
                <p className="muted">{c.summary}</p>
              </li>
            ))}
          </ol>
        );
      break;
    case "speakers":
      if (n?.speakers && n.speakers.length)
        body = (
          <ul className="speaker-summaries">
            {n.speakers.map((s, i) => (
              <li key={i}>
                <span className={`speaker-tag${colorOf(s.speaker) !== undefined ? ` spk spk-${colorOf(s.speaker)}` : ""}`} data-testid="speaker-summary-name">
                  {names[s.speaker] ?? s.speaker}
                </span>
                <p>{s.summary}</p>
              </li>
            ))}
          </ul>
        );
      break;
    case "qa":
      if (n?.qa && n.qa.length)
        body = (
          <ul className="qa">
            {n.qa.map((q, i) => (
              <li key={i}>
                <div className="q">
                  <span className="qa-tag">{t("notes.question")}</span>
                  <span>{q.question}</span>
                  <TimeLink ms={q.start_ms} onSeek={onSeek} />
                </div>
                <div className="a">
                  <span className="qa-tag a">{t("notes.answer")}</span>
                  <span>{q.answer}</span>
                </div>
              </li>
            ))}
          </ul>
        );
      break;
    case "actions":
      if (meeting.actions.length)
        body = (
          <ul className="actions-list">
            {meeting.actions.map((a) => (
              <li key={a.id} className={a.done ? "done" : ""} data-testid="action-item">
                <label className="check">
                  <input type="checkbox" checked={a.done} onChange={(e) => onToggleAction(a, e.target.checked)} data-testid="action-check" />
                  <span className="action-text">{a.text}</span>
                </label>
                <span className="action-meta">
                  {a.owner && <span className="chip">{t("notes.owner", { name: names[a.owner] ?? a.owner })}</span>}
                  {a.due && <span className="chip">{t("notes.due", { date: a.due })}</span>}
                  {a.source_ms != null && <TimeLink ms={a.source_ms} onSeek={onSeek} />}
                </span>
              </li>
            ))}
          </ul>
        );
      else if (n?.actions && n.actions.length)
        body = (
          <ul className="actions-list">
            {n.actions.map((a, i) => (
              <li key={i} data-testid="action-item">
                <span className="action-text">{a.task}</span>
                <span className="action-meta">
                  {a.owner && <span className="chip">{t("notes.owner", { name: names[a.owner] ?? a.owner })}</span>}
                  {a.due && <span className="chip">{t("notes.due", { date: a.due })}</span>}
                  <TimeLink ms={a.start_ms} onSeek={onSeek} />
                </span>
              </li>
            ))}
          </ul>
        );
      break;
    case "mind_map":
      if (n?.mind_map) body = <MindMap root={n.mind_map} />;
      break;
    case "translation":
      if (n?.translation)
        body = (
          <ol className="bilingual" data-testid="bilingual">
            {meeting.segments.map((s, i) => (
              <li key={s.idx}>
                <TimeLink ms={s.start_ms} onSeek={onSeek} />
                <div>
                  <p className="orig">{s.text}</p>
                  <p className="trans">{n.translation?.segments[i] ?? ""}</p>
                </div>
              </li>
            ))}
          </ol>
        );
      break;
    case "sections":
      if (n?.sections && n.sections.length)
        body = (
          <div className="sections">
            {n.sections.map((s, i) => (
              <section key={i}>
                <h4>{s.title}</h4>
                <p className="prose">
                  <CitedText text={s.body} onSeek={onSeek} />
                </p>
              </section>
            ))}
          </div>
        );
      break;
  }
  return (
    <div className={`note-body note-${kind}`} data-testid={`notes-body-${kind}`}>
      {body}
    </div>
  );
}

type Msg = { role: "user"; text: string } | { role: "bot"; answer: AskAnswer };

function AskChat({ meetingId, onSeek }: { meetingId: number; onSeek: (ms: number) => void }) {
  const t = useT();
  const [q, setQ] = useState("");
  const [msgs, setMsgs] = useState<Msg[]>([]);
  const [busy, setBusy] = useState(false);
  const ask = async () => {
    const question = q.trim();
    if (!question) return;
    setMsgs((m) => [...m, { role: "user", text: question }]);
    setQ("");
    setBusy(true);
    const a = await call(commands.askMeeting(meetingId, question));
    setBusy(false);
    if (a) setMsgs((m) => [...m, { role: "bot", answer: a }]);
  };
  return (
    <div className="ask" data-testid="notes-body-ask">
      <div className="ask-log">
        {msgs.length === 0 && <p className="muted">{t("notes.ask.empty")}</p>}
        {msgs.map((m, i) =>
          m.role === "user" ? (
            <div key={i} className="bubble user">
              {m.text}
            </div>
          ) : (
            <div key={i} className="bubble bot" data-testid="ask-answer">
              <p>
                <CitedText text={m.answer.answer} onSeek={onSeek} />
              </p>
              {m.answer.citations.length > 0 && (
                <div className="cites">
                  <span className="muted small">{t("notes.ask.sources")}</span>
                  {m.answer.citations.map((c, j) => (
                    <button key={j} className="cite" data-testid="citation" data-ms={c.start_ms} onClick={() => onSeek(c.start_ms)}>
                      <span className="ts">{mmss(c.start_ms)}</span> <span className="cite-text">{c.text}</span>
                    </button>
                  ))}
                </div>
              )}
            </div>
          ),
        )}
        {busy && <div className="bubble bot muted">…</div>}
      </div>
      <form
        className="ask-form"
        onSubmit={(e) => {
          e.preventDefault();
          void ask();
        }}
      >
        <input data-testid="ask-input" value={q} placeholder={t("notes.ask.placeholder")} onChange={(e) => setQ(e.target.value)} aria-label={t("notes.ask.placeholder")} />
        <button className="primary" data-testid="ask-send" disabled={busy || !q.trim()}>
          {t("notes.ask.send")}
        </button>
      </form>
    </div>
  );
}

type Job = { jobId: number | null; stage: string; fraction: number | null; eta: number | null; text: string };

export const NotesPanel = memo(function NotesPanel({ meeting, onSeek, onReload }: { meeting: MeetingView; onSeek: (ms: number) => void; onReload: () => void }) {
  const t = useT();
  const { settings } = useApp();
  const [tab, setTab] = useState<Tab>("summary");
  const [template, setTemplate] = useState<string>(meeting.notes?.template ?? "");
  const [language, setLanguage] = useState<string>(settings.llm.notes_language);
  const [translateTo, setTranslateTo] = useState<string>(meeting.notes?.translation?.language ?? "");
  const [job, setJob] = useState<Job | null>(null);
  const n = meeting.notes;

  const generate = async () => {
    const req: NotesRequest = {
      kinds: translateTo ? [...DEFAULT_KINDS, "translation"] : [],
      template: template || null,
      language: language || null,
      translate_to: translateTo || null,
    };
    setJob({ jobId: null, stage: "", fraction: null, eta: null, text: "" });
    const ch = channel<JobEvent>((e) => {
      switch (e.kind) {
        case "progress":
          setJob((j) => (j ? { ...j, jobId: e.job_id, stage: e.stage, fraction: e.fraction ?? j.fraction, eta: e.eta_ms } : j));
          break;
        case "text":
          setJob((j) => (j ? { ...j, jobId: e.job_id, text: j.text + e.text } : j));
          break;
        case "done":
          setJob(null);
          onReload();
          break;
        case "failed":
          setJob(null);
          showError(e.error);
          break;
        case "cancelled":
          setJob(null);
          break;
        default:
          break;
      }
    });
    const r = await call(commands.generateNotes(meeting.id, req, ch));
    if (r === undefined) setJob(null);
    else setJob((j) => (j ? { ...j, jobId: r.job_id } : j));
  };

  const toggleAction = async (a: ActionView, done: boolean) => {
    const r = await call(commands.setActionDone(a.id, done));
    if (r !== undefined) onReload();
  };

  const tabs: Tab[] = [...NOTE_TABS.filter((k) => k !== "sections" || (n?.sections?.length ?? 0) > 0), "ask"];

  return (
    <div className="notes-panel">
      <div className="notes-toolbar">
        <select aria-label={t("notes.template")} title={t("notes.template")} data-testid="notes-template" value={template} onChange={(e) => setTemplate(e.target.value)} disabled={!!job}>
          <option value="">{t("notes.template.default")}</option>
          {TEMPLATES.map((x) => (
            <option key={x} value={x}>
              {tryKey(t, `notes.template.${x.replace(/-/g, "_")}`, x)}
            </option>
          ))}
        </select>
        <select aria-label={t("notes.language")} title={t("notes.language")} data-testid="notes-language" value={language} onChange={(e) => setLanguage(e.target.value)} disabled={!!job}>
          <option value="">{t("notes.langAuto")}</option>
          {LANGS.filter((l) => l !== "auto").map((l) => (
            <option key={l} value={l}>
              {t(`lang.${l}`)}
            </option>
          ))}
        </select>
        <select aria-label={t("notes.translateTo")} title={t("notes.translateTo")} data-testid="notes-translate" value={translateTo} onChange={(e) => setTranslateTo(e.target.value)} disabled={!!job}>
          <option value="">{t("notes.noTranslation")}</option>
          {LANGS.filter((l) => l !== "auto").map((l) => (
            <option key={l} value={l}>
              → {t(`lang.${l}`)}
            </option>
          ))}
        </select>
        {job ? (
          <button className="small" data-testid="notes-cancel" onClick={() => job.jobId !== null && void call(commands.cancelJob(job.jobId))} disabled={job.jobId === null}>
            {t("common.cancel")}
          </button>
        ) : (
          <button className="small primary" data-testid="notes-generate" onClick={() => void generate()}>
            <Icon name="sparkle" size={14} /> {n ? t("notes.regenerate") : t("notes.generate")}
          </button>
        )}
      </div>
      {job && (
        <div className="notes-job" data-testid="notes-job">
          <Progress fraction={job.fraction} />
          <div className="muted small">
            {job.stage || t("notes.writing")}
            {job.fraction !== null && ` · ${Math.round(job.fraction * 100)}%`}
            {job.eta !== null && ` · ${t("common.eta", { time: mmss(job.eta) })}`}
          </div>
          {job.text && (
            <pre className="stream" data-testid="notes-stream">
              {job.text}
            </pre>
          )}
        </div>
      )}
      <div className="tabs" role="tablist">
        {tabs.map((k) => (
          <button key={k} role="tab" aria-selected={tab === k} className={`tab${tab === k ? " active" : ""}`} data-testid={`notes-tab-${k}`} onClick={() => setTab(k)}>
            {t(`notes.kind.${k}`)}
          </button>
        ))}
      </div>
      <div className="tab-body">
        {!n && tab !== "ask" && <p className="muted">{t("notes.empty")}</p>}
        {n && tab !== "ask" && <NoteBody kind={tab} meeting={meeting} onSeek={onSeek} onToggleAction={(a, d) => void toggleAction(a, d)} />}
        {tab === "ask" && <AskChat meetingId={meeting.id} onSeek={onSeek} />}
        {n && tab !== "ask" && (
          <p className="muted small notes-foot">
            {t("notes.model", { model: n.model })}
            {n.warnings && n.warnings.length > 0 && ` · ${t("notes.warnings")}: ${n.warnings.join("; ")}`}
          </p>
        )}
      </div>
    </div>
  );
});
