import { useState } from "react";
import { commands, type MeetingView, type SegmentView, type SpeakerItem } from "../bindings";
import { useT } from "../i18n";
import { call, jobChannel } from "../lib/call";
import { mmss } from "../lib/format";
import { Progress } from "./ui";

/** Speaker colours (CSS classes `spk-0` … `spk-7`). */
export const SPEAKER_COLORS = 8;

/** A colour index per speaker label, in the meeting's speaker order, so a speaker keeps its colour when renamed. */
export function speakerColors(speakers: SpeakerItem[]): Record<string, number> {
  return Object.fromEntries(speakers.map((s, i) => [s.label, i % SPEAKER_COLORS]));
}

/** Who talks when, under the player: one coloured band per stretch of a speaker; a click seeks there. */
export function SpeakerStrip({ segments, durationMs, colors, names, onSeek }: { segments: SegmentView[]; durationMs: number; colors: Record<string, number>; names: Record<string, string>; onSeek: (ms: number) => void }) {
  if (durationMs <= 0 || Object.keys(colors).length < 2) return null;
  // Consecutive segments of one speaker become one band (a long meeting stays a few hundred elements).
  const bands: { label: string; start: number; end: number }[] = [];
  for (const s of segments) {
    if (!s.speaker || colors[s.speaker] === undefined) continue;
    const last = bands[bands.length - 1];
    if (last && last.label === s.speaker && s.start_ms - last.end < 2000) last.end = s.end_ms;
    else bands.push({ label: s.speaker, start: s.start_ms, end: s.end_ms });
  }
  return (
    <div className="speaker-strip" data-testid="speaker-strip" aria-hidden="true">
      {bands.map((b, i) => (
        <span
          key={i}
          className={`spk spk-${colors[b.label]}`}
          data-speaker={b.label}
          title={`${names[b.label] ?? b.label} ${mmss(b.start)}–${mmss(b.end)}`}
          style={{ left: `${(100 * b.start) / durationMs}%`, width: `${Math.max(0.2, (100 * (b.end - b.start)) / durationMs)}%` }}
          onClick={() => onSeek(b.start)}
        />
      ))}
    </div>
  );
}

/** A meeting's speakers: colour, name (renaming changes every line, the exports and the notes), a name a voiceprint gave with how sure it is, and merge. */
export function Speakers({ meeting, colors, open, onToggle, onChanged }: { meeting: MeetingView; colors: Record<string, number>; open: boolean; onToggle: (open: boolean) => void; onChanged: () => void }) {
  const t = useT();
  const [names, setNames] = useState<Record<string, string>>(() => Object.fromEntries(meeting.speakers.map((s) => [s.label, s.name ?? ""])));
  const [from, setFrom] = useState("");
  const [into, setInto] = useState("");
  const rename = async (label: string, force = false) => {
    const name = (names[label] ?? "").trim();
    const old = meeting.speakers.find((s) => s.label === label)?.name ?? "";
    if (name === old && !force) return;
    if ((await call(commands.renameSpeaker(meeting.id, label, name || null))) !== undefined) onChanged();
  };
  const merge = async () => {
    if (!from || !into || from === into) return;
    if ((await call(commands.mergeSpeakers(meeting.id, from, into))) !== undefined) {
      setFrom("");
      setInto("");
      onChanged();
    }
  };
  if (meeting.speakers.length === 0 && !meeting.audio_path) return null;
  return (
    <details className="speakers card" data-testid="speakers-panel" open={open} onToggle={(e) => onToggle(e.currentTarget.open)}>
      <summary>
        {t("meeting.speakers")} ({meeting.speakers.length})
      </summary>
      <ul>
        {meeting.speakers.map((s) => (
          <li key={s.label} className="row" data-testid="speaker-row" data-label={s.label}>
            <span className={`speaker-tag spk spk-${colors[s.label] ?? 0}`}>{s.label}</span>
            <input
              aria-label={`${t("meeting.speakerName")} ${s.label}`}
              data-testid="speaker-name"
              placeholder={t("meeting.speakerName")}
              value={names[s.label] ?? ""}
              onChange={(e) => setNames({ ...names, [s.label]: e.target.value })}
              onBlur={() => void rename(s.label)}
              onKeyDown={(e) => e.key === "Enter" && void rename(s.label)}
            />
            {s.matched !== null && (
              <>
                <span className="chip voiceprint" data-testid="speaker-matched" title={t("meeting.voiceprintHint")}>
                  {t("meeting.voiceprint", { score: s.matched })}
                </span>
                <button className="tiny" data-testid="speaker-confirm" onClick={() => void rename(s.label, true)}>
                  {t("meeting.confirmName")}
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {meeting.speakers.length > 1 && (
        <div className="row wrap">
          <select aria-label={t("meeting.speakers")} value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">{t("meeting.speakers")}…</option>
            {meeting.speakers.map((s) => (
              <option key={s.label} value={s.label}>
                {s.name ?? s.label}
              </option>
            ))}
          </select>
          <select aria-label={t("meeting.mergeInto")} value={into} onChange={(e) => setInto(e.target.value)}>
            <option value="">{t("meeting.mergeInto")}</option>
            {meeting.speakers
              .filter((s) => s.label !== from)
              .map((s) => (
                <option key={s.label} value={s.label}>
                  {s.name ?? s.label}
                </option>
              ))}
          </select>
          <button className="small" onClick={() => void merge()} disabled={!from || !into}>
            {t("meeting.merge")}
          </button>
        </div>
      )}
      {meeting.audio_path && <Rediarize meetingId={meeting.id} onDone={onChanged} />}
    </details>
  );
}

/** Tell the speakers apart again from the audio, as a background job: with a count to split a voice taken for two people (or to join them). */
function Rediarize({ meetingId, onDone }: { meetingId: number; onDone: () => void }) {
  const t = useT();
  const [count, setCount] = useState("");
  const [job, setJob] = useState<{ jobId: number | null; fraction: number | null; eta: number | null } | null>(null);
  const run = async () => {
    setJob({ jobId: null, fraction: null, eta: null });
    const ch = jobChannel((e) => setJob({ jobId: e.job_id, fraction: e.fraction, eta: e.eta_ms }), () => setJob(null), onDone);
    const r = await call(commands.rediarizeMeeting(meetingId, count ? Number(count) : null, ch));
    if (r === undefined) setJob(null);
    else setJob((j) => (j ? { ...j, jobId: r.job_id } : j));
  };
  return (
    <div className="row wrap rediarize" data-testid="rediarize">
      <span className="muted small">{t("meeting.rediarize")}</span>
      <select aria-label={t("meeting.speakerCount")} data-testid="rediarize-count" value={count} onChange={(e) => setCount(e.target.value)} disabled={!!job}>
        <option value="">{t("meeting.countAuto")}</option>
        {[1, 2, 3, 4, 5, 6, 7, 8].map((n) => (
          <option key={n} value={String(n)}>
            {t("meeting.countN", { count: n })}
          </option>
        ))}
      </select>
      {job ? (
        <span className="row rediarize-progress" data-testid="rediarize-progress">
          <Progress fraction={job.fraction} />
          {job.eta !== null && <span className="muted small">{t("common.eta", { time: mmss(job.eta) })}</span>}
          <button className="small" onClick={() => job.jobId !== null && void call(commands.cancelJob(job.jobId))}>
            {t("common.cancel")}
          </button>
        </span>
      ) : (
        <button className="small" data-testid="rediarize-run" onClick={() => void run()}>
          {t("meeting.rediarizeRun")}
        </button>
      )}
    </div>
  );
}
