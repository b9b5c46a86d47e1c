import { useEffect, useRef } from "react";
import { useT } from "../i18n";
import { mmss } from "../lib/format";
import { Icon } from "./Icon";

export const SPEEDS = [0.75, 1, 1.25, 1.5, 2] as const;

/** Draws peaks (0..1) as mirrored bars, played part in the accent colour. */
function draw(canvas: HTMLCanvasElement, peaks: number[], fraction: number) {
  const ctx = canvas.getContext?.("2d");
  if (!ctx) return;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  const h = canvas.clientHeight || 56;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const styles = getComputedStyle(canvas);
  const played = styles.getPropertyValue("--accent").trim() || "#4f6ef7";
  const rest = styles.getPropertyValue("--wave").trim() || "#c5cbe0";
  const n = peaks.length || 1;
  const bw = w / n;
  for (let i = 0; i < peaks.length; i++) {
    const v = Math.max(0.04, Math.min(1, peaks[i] ?? 0));
    const bh = v * (h - 4);
    ctx.fillStyle = i / n <= fraction ? played : rest;
    ctx.fillRect(i * bw, (h - bh) / 2, Math.max(1, bw * 0.7), bh);
  }
}

export function Waveform({ peaks, positionMs, durationMs, onSeek }: { peaks: number[]; positionMs: number; durationMs: number; onSeek: (ms: number) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const fraction = durationMs > 0 ? positionMs / durationMs : 0;
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    draw(c, peaks, fraction);
  }, [peaks, fraction]);
  useEffect(() => {
    const c = ref.current;
    if (!c || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => draw(c, peaks, fraction));
    ro.observe(c);
    return () => ro.disconnect();
  }, [peaks, fraction]);
  return (
    <canvas
      ref={ref}
      className="waveform"
      data-testid="waveform"
      onClick={(e) => {
        const rect = e.currentTarget.getBoundingClientRect();
        const f = rect.width > 0 ? (e.clientX - rect.left) / rect.width : 0;
        onSeek(Math.round(Math.max(0, Math.min(1, f)) * durationMs));
      }}
    />
  );
}

export function PlayerBar({
  playing,
  positionMs,
  durationMs,
  rate,
  peaks,
  onToggle,
  onSeek,
  onRate,
}: {
  playing: boolean;
  positionMs: number;
  durationMs: number;
  rate: number;
  peaks: number[];
  onToggle: () => void;
  onSeek: (ms: number) => void;
  onRate: (r: number) => void;
}) {
  const t = useT();
  return (
    <div className="player card" data-testid="player">
      <button className="play-btn" data-testid="play-toggle" onClick={onToggle} aria-label={playing ? t("meeting.pause") : t("meeting.play")} title={playing ? t("meeting.pause") : t("meeting.play")}>
        <Icon name={playing ? "pause" : "play"} size={20} />
      </button>
      <span className="pos" data-testid="player-position">
        {mmss(positionMs)}
      </span>
      <Waveform peaks={peaks} positionMs={positionMs} durationMs={durationMs} onSeek={onSeek} />
      <span className="pos muted">{mmss(durationMs)}</span>
      <select className="speed" aria-label={t("meeting.speed")} title={t("meeting.speed")} data-testid="speed-select" value={rate} onChange={(e) => onRate(Number(e.target.value))}>
        {SPEEDS.map((s) => (
          <option key={s} value={s}>
            {s}×
          </option>
        ))}
      </select>
    </div>
  );
}
