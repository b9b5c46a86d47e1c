import { memo, useEffect, useMemo, useRef, useState } from "react";
import type { MarkItem, MarkKindDto, SegmentView, TimeRange } from "../bindings";
import { useT } from "../i18n";
import { segmentAt } from "../lib/format";
import { TimeLink } from "./ui";
import { Icon } from "./Icon";

type Props = {
  segments: SegmentView[];
  speakerNames: Record<string, string>;
  /** Colour index (0–7) of each speaker label. */
  speakerColors?: Record<string, number>;
  marks: MarkItem[];
  positionMs: number;
  onSeek: (ms: number) => void;
  onEdit: (idx: number, text: string) => Promise<boolean>;
  onAddMark: (idx: number, kind: MarkKindDto) => void;
  onSelectRange?: (range: TimeRange | null) => void;
  /** Translations shown under each segment (bilingual view). */
  translations?: string[] | null;
};

const SegmentRow = memo(function SegmentRow({
  seg,
  speaker,
  color,
  marks,
  current,
  activeWordMs,
  onSeek,
  onEdit,
  onAddMark,
  translation,
}: {
  seg: SegmentView;
  speaker: string | null;
  color: number | null;
  marks: MarkKindDto[];
  current: boolean;
  activeWordMs: number | null;
  onSeek: (ms: number) => void;
  onEdit: (idx: number, text: string) => Promise<boolean>;
  onAddMark: (idx: number, kind: MarkKindDto) => void;
  translation: string | null;
}) {
  const t = useT();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(seg.text);
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (current && !editing) ref.current?.scrollIntoView?.({ block: "nearest", behavior: "smooth" });
  }, [current, editing]);
  const save = async () => {
    if (await onEdit(seg.idx, draft.trim())) setEditing(false);
  };
  return (
    <li ref={ref} className={`segment${current ? " current" : ""}${color !== null ? ` spk spk-${color}` : ""}`} data-testid="segment" data-idx={seg.idx} data-current={current}>
      <div className="seg-head">
        {speaker && (
          <span className={`speaker-tag${color !== null ? ` spk spk-${color}` : ""}`} data-testid="segment-speaker" data-color={color ?? undefined}>
            {speaker}
          </span>
        )}
        <TimeLink ms={seg.start_ms} onSeek={onSeek} />
        {marks.map((k, i) => (
          <span key={i} className={`chip mark-${k}`} data-testid="segment-mark">
            {t(`mark.${k}`)}
          </span>
        ))}
        <span className="seg-actions">
          {(["key", "question", "todo"] as const).map((k) => (
            <button key={k} className={`tiny mark-${k}`} title={`${t("mark.add")}: ${t(`mark.${k}`)}`} aria-label={`${t("mark.add")}: ${t(`mark.${k}`)}`} data-testid={`add-mark-${k}`} onClick={() => onAddMark(seg.idx, k)}>
              {t(`mark.${k}`)}
            </button>
          ))}
          <button
            className="tiny"
            data-testid="segment-edit"
            title={t("meeting.editSegment")}
            aria-label={t("meeting.editSegment")}
            onClick={() => {
              setDraft(seg.text);
              setEditing(true);
            }}
          >
            <Icon name="edit" size={13} />
          </button>
        </span>
      </div>
      {editing ? (
        <div className="seg-edit">
          <textarea
            data-testid="segment-editor"
            value={draft}
            rows={Math.max(2, Math.ceil(draft.length / 60))}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void save();
              if (e.key === "Escape") setEditing(false);
            }}
            autoFocus
          />
          <div className="row">
            <button className="small primary" data-testid="segment-save" onClick={() => void save()}>
              {t("common.save")}
            </button>
            <button className="small" onClick={() => setEditing(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </div>
      ) : (
        <p
          className="seg-text"
          onDoubleClick={() => {
            setDraft(seg.text);
            setEditing(true);
          }}
        >
          {seg.words.length > 0
            ? seg.words.map((w, i) => (
                <span
                  key={i}
                  className={`word${activeWordMs === w.start_ms ? " active" : ""}`}
                  data-testid="word"
                  data-start-ms={w.start_ms}
                  data-end-ms={w.end_ms}
                  onClick={() => onSeek(w.start_ms)}
                >
                  {w.text}
                </span>
              ))
            : <span data-start-ms={seg.start_ms} data-end-ms={seg.end_ms} onClick={() => onSeek(seg.start_ms)}>{seg.text}</span>}
        </p>
      )}
      {translation && <p className="seg-translation" data-testid="segment-translation">{translation}</p>}
    </li>
  );
});

const NO_MARKS: MarkKindDto[] = [];

function msOf(node: Node | null, attr: "startMs" | "endMs"): number | null {
  const el = node instanceof Element ? node : node?.parentElement;
  const span = el?.closest<HTMLElement>("[data-start-ms]");
  const v = span?.dataset[attr];
  return v === undefined ? null : Number(v);
}

export function Transcript({ segments, speakerNames, speakerColors, marks, positionMs, onSeek, onEdit, onAddMark, onSelectRange, translations }: Props) {
  const current = segmentAt(segments, positionMs);
  const cur = segments[current];
  const inside = cur && positionMs <= cur.end_ms + 1500;
  const activeWord = inside ? cur.words.filter((w) => w.start_ms <= positionMs).pop()?.start_ms ?? null : null;
  const marksBy = useMemo(() => {
    const by: Record<number, MarkKindDto[]> = {};
    for (const m of marks) (by[m.segment_idx] ??= []).push(m.kind);
    return by;
  }, [marks]);

  const onMouseUp = () => {
    if (!onSelectRange) return;
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed) return onSelectRange(null);
    const a = msOf(sel.anchorNode, "startMs");
    const b = msOf(sel.focusNode, "startMs");
    const ae = msOf(sel.anchorNode, "endMs");
    const be = msOf(sel.focusNode, "endMs");
    if (a === null || b === null || ae === null || be === null) return onSelectRange(null);
    onSelectRange({ start_ms: Math.min(a, b), end_ms: Math.max(ae, be) });
  };

  return (
    <ol className="transcript" data-testid="transcript" onMouseUp={onMouseUp}>
      {segments.map((s, i) => (
        <SegmentRow
          key={s.idx}
          seg={s}
          speaker={s.speaker ? speakerNames[s.speaker] ?? s.speaker : null}
          color={s.speaker ? speakerColors?.[s.speaker] ?? null : null}
          marks={marksBy[s.idx] ?? NO_MARKS}
          current={i === current && !!inside}
          activeWordMs={i === current ? activeWord : null}
          onSeek={onSeek}
          onEdit={onEdit}
          onAddMark={onAddMark}
          translation={translations?.[i] ?? null}
        />
      ))}
    </ol>
  );
}
