import { useEffect, useRef, useSyncExternalStore, type ReactNode } from "react";
import { useT } from "../i18n";
import { mmss } from "../lib/format";
import { toastStore } from "../lib/toast";

export function Modal({ title, onClose, children, footer, testId, wide }: { title: string; onClose?: () => void; children: ReactNode; footer?: ReactNode; testId?: string; wide?: boolean }) {
  const t = useT();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current?.querySelector<HTMLElement>("input, select, textarea, button.primary");
    el?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && onClose) onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose?.()}>
      <div className={`modal${wide ? " wide" : ""}`} role="dialog" aria-modal="true" aria-label={title} data-testid={testId} ref={ref}>
        <div className="modal-head">
          <h2>{title}</h2>
          {onClose && (
            <button className="icon-btn" onClick={onClose} aria-label={t("common.close")} title={t("common.close")}>
              ×
            </button>
          )}
        </div>
        <div className="modal-body">{children}</div>
        {footer && <div className="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

export function ConfirmDialog({ title, body, confirmLabel, danger, onConfirm, onCancel }: { title: string; body: string; confirmLabel: string; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const t = useT();
  return (
    <Modal
      title={title}
      onClose={onCancel}
      testId="confirm-dialog"
      footer={
        <>
          <button onClick={onCancel}>{t("common.cancel")}</button>
          <button className={danger ? "danger" : "primary"} onClick={onConfirm} data-testid="confirm-ok">
            {confirmLabel}
          </button>
        </>
      }
    >
      <p>{body}</p>
    </Modal>
  );
}

export function Toasts() {
  const t = useT();
  const toasts = useSyncExternalStore(toastStore.subscribe, toastStore.snapshot);
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((x) => (
        <div key={x.id} className={`toast ${x.kind}`} role={x.kind === "error" ? "alert" : "status"} data-testid={`toast-${x.kind}`}>
          <div className="toast-text">
            {x.kind === "error" && (
              <strong>
                {t("error.title")} · <code>{x.title}</code>
              </strong>
            )}
            <span>{x.message}</span>
          </div>
          <button className="icon-btn" onClick={() => toastStore.dismiss(x.id)} aria-label={t("common.dismiss")}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function TimeLink({ ms, onSeek }: { ms: number; onSeek: (ms: number) => void }) {
  return (
    <button className="ts" data-testid="timestamp" data-ms={ms} onClick={() => onSeek(ms)}>
      {mmss(ms)}
    </button>
  );
}

export function Progress({ fraction, label }: { fraction: number | null; label?: string }) {
  const pct = fraction === null ? null : Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div className={`progress${pct === null ? " indeterminate" : ""}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined} aria-label={label}>
      <div className="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
    </div>
  );
}

export function Field({ label, children, hint }: { label: string; children: ReactNode; hint?: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="field-hint">{hint}</span>}
    </label>
  );
}

export const LANGS = ["auto", "zh", "en", "ja", "ko", "fr", "de", "es"] as const;

export type Option = { value: string; label: string };

/** A select over `options`, with an optional `first` entry for "none" / "the best installed". */
export function Choice({ value, onChange, options, first, disabled, testId }: { value: string; onChange: (value: string) => void; options: readonly Option[]; first?: Option; disabled?: boolean; testId?: string }) {
  return (
    <select data-testid={testId} value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled}>
      {first && <option value={first.value}>{first.label}</option>}
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

/** A model by name; "" is the best installed one. */
export function ModelChoice({ value, onChange, models, disabled, testId }: { value: string; onChange: (value: string) => void; models: readonly string[]; disabled?: boolean; testId?: string }) {
  const t = useT();
  return <Choice value={value} onChange={onChange} options={models.map((m) => ({ value: m, label: m }))} first={{ value: "", label: t("settings.bestInstalled") }} disabled={disabled} testId={testId} />;
}
