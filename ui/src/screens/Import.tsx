import { useState } from "react";
import { commands } from "../bindings";
import { useApp } from "../context";
import { useT } from "../i18n";
import { call } from "../lib/call";
import { mmss } from "../lib/format";
import { FINISHED, type QueueItem } from "../lib/queue";
import { Progress } from "../components/ui";
import { Icon } from "../components/Icon";

export function QueueRow({ item, onRetry, onOpen }: { item: QueueItem; onRetry: (key: string) => void; onOpen: (id: number) => void }) {
  const t = useT();
  const active = !FINISHED.includes(item.status);
  const statusText = item.status === "starting" ? t("import.status.starting") : t(`import.status.${item.status}`);
  return (
    <li className={`card queue-item status-${item.status}`} data-testid="queue-item" data-status={item.status} data-path={item.path}>
      <div className="queue-top">
        <span className="queue-label" title={item.path}>
          {item.label || item.path}
        </span>
        <span className={`status-pill ${item.status}`} data-testid="queue-status">
          {statusText}
        </span>
      </div>
      {(item.status === "running" || item.status === "queued" || item.status === "starting" || item.status === "done") && (
        <Progress fraction={item.status === "done" ? 1 : item.fraction} label={item.label} />
      )}
      <div className="queue-bottom">
        <span className="muted small" data-testid="queue-stage">
          {item.status === "running" && item.stage}
          {item.status === "running" && item.fraction !== null && ` · ${Math.round(item.fraction * 100)}%`}
          {item.status === "running" && item.etaMs !== null && ` · ${t("common.eta", { time: mmss(item.etaMs) })}`}
        </span>
        {item.error && (
          <span className="queue-error" data-testid="queue-error" role="alert">
            <code>{item.error.code}</code> {item.error.message}
          </span>
        )}
        <span className="spacer" />
        {active && item.jobId !== null && (
          <button className="small" data-testid="queue-cancel" onClick={() => void call(commands.cancelJob(item.jobId ?? 0))}>
            {t("common.cancel")}
          </button>
        )}
        {(item.status === "failed" || item.status === "cancelled") && item.path && (
          <button className="small" data-testid="queue-retry" onClick={() => onRetry(item.key)}>
            {t("common.retry")}
          </button>
        )}
        {item.status === "done" && item.meetingId !== null && (
          <button className="small primary" data-testid="queue-open" onClick={() => onOpen(item.meetingId ?? 0)}>
            {t("common.open")}
          </button>
        )}
      </div>
    </li>
  );
}

export function ImportScreen({ queue, onRetry, onClear }: { queue: QueueItem[]; onRetry: (key: string) => void; onClear: () => void }) {
  const t = useT();
  const { importPaths, openMeeting } = useApp();
  const [text, setText] = useState("");
  const add = () => {
    importPaths(text.split(/\r?\n/));
    setText("");
  };
  return (
    <div className="screen import">
      <header className="screen-head">
        <h1>{t("import.title")}</h1>
      </header>
      <div className="dropzone card">
        <div className="dropzone-icon">
          <Icon name="import" size={36} />
        </div>
        <p>{t("import.hint")}</p>
        <div className="add-row">
          <textarea data-testid="import-paths" rows={2} value={text} placeholder={t("import.pathPlaceholder")} onChange={(e) => setText(e.target.value)} aria-label={t("import.pathPlaceholder")} />
          <button className="primary" data-testid="import-add" onClick={add} disabled={!text.trim()}>
            {t("import.add")}
          </button>
        </div>
      </div>
      <div className="section-head">
        <h2>{t("import.queue")}</h2>
        <span className="spacer" />
        {queue.some((i) => FINISHED.includes(i.status)) && (
          <button className="small ghost" onClick={onClear}>
            {t("import.clearDone")}
          </button>
        )}
      </div>
      {queue.length === 0 ? (
        <p className="muted">{t("import.empty")}</p>
      ) : (
        <ul className="queue" data-testid="queue">
          {queue.map((i) => (
            <QueueRow key={i.key} item={i} onRetry={onRetry} onOpen={(id) => openMeeting(id)} />
          ))}
        </ul>
      )}
    </div>
  );
}
