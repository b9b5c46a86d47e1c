import type { AppError, JobEvent, JobTicket } from "../bindings";

export type QueueStatus = "starting" | "queued" | "running" | "done" | "failed" | "cancelled";

export type QueueItem = {
  /** Local id (stable across retries). */
  key: string;
  /** What to pass to importFiles again on retry. */
  path: string;
  label: string;
  jobId: number | null;
  status: QueueStatus;
  stage: string;
  fraction: number | null;
  etaMs: number | null;
  error: AppError | null;
  meetingId: number | null;
  /** The channel generation; events of an older attempt are ignored. */
  attempt: number;
};

export type QueueAction =
  | { type: "add"; key: string; path: string; label: string }
  | { type: "tickets"; key: string; attempt: number; tickets: JobTicket[] }
  | { type: "event"; key: string; attempt: number; event: JobEvent }
  | { type: "startFailed"; key: string; attempt: number; error: AppError }
  | { type: "retry"; key: string }
  | { type: "clearFinished" };

export const FINISHED: QueueStatus[] = ["done", "failed", "cancelled"];

function blank(key: string, path: string, label: string, attempt: number): QueueItem {
  return { key, path, label, jobId: null, status: "starting", stage: "", fraction: null, etaMs: null, error: null, meetingId: null, attempt };
}

/** Where an event or ticket for `jobId` belongs: the item with that job, else the item `key` if it has no job yet. */
function findOrAdopt(items: QueueItem[], key: string, attempt: number, jobId: number, label: string): [QueueItem[], number] {
  const byJob = items.findIndex((i) => i.jobId === jobId);
  if (byJob >= 0) return [items, byJob];
  const own = items.findIndex((i) => i.key === key);
  const item = items[own];
  if (!item || item.attempt !== attempt) return [items, -1];
  if (item.jobId === null) {
    const next = items.slice();
    next[own] = { ...item, jobId, label: label || item.label };
    return [next, own];
  }
  // A folder expanded into several files: one more row right after its siblings.
  const child: QueueItem = { ...blank(`${key}/${jobId}`, label || item.path, label || item.path, 0), jobId };
  const next = items.slice();
  let at = own + 1;
  while (at < next.length && next[at]?.key.startsWith(`${key}/`)) at++;
  next.splice(at, 0, child);
  return [next, at];
}

export function applyEvent(item: QueueItem, ev: JobEvent): QueueItem {
  if (FINISHED.includes(item.status) && ev.kind !== "done" && ev.kind !== "failed" && ev.kind !== "cancelled") return item;
  switch (ev.kind) {
    case "queued":
      return { ...item, status: "queued", label: ev.label || item.label };
    case "started":
      return { ...item, status: "running" };
    case "progress":
      return { ...item, status: "running", stage: ev.stage, fraction: ev.fraction ?? item.fraction, etaMs: ev.eta_ms ?? null };
    case "text":
      return item;
    case "done":
      return { ...item, status: "done", fraction: 1, etaMs: null, meetingId: ev.meeting_id ?? null };
    case "failed":
      return { ...item, status: "failed", error: ev.error, etaMs: null };
    case "cancelled":
      return { ...item, status: "cancelled", etaMs: null };
  }
}

export function queueReducer(items: QueueItem[], action: QueueAction): QueueItem[] {
  switch (action.type) {
    case "add":
      return [...items, blank(action.key, action.path, action.label, 1)];
    case "tickets": {
      let next = items;
      for (const t of action.tickets) {
        const [n, idx] = findOrAdopt(next, action.key, action.attempt, t.job_id, t.label);
        next = n;
        const it = next[idx];
        if (it && it.status === "starting") {
          next = next.slice();
          next[idx] = { ...it, status: "queued" };
        }
      }
      return next;
    }
    case "event": {
      const label = action.event.kind === "queued" ? action.event.label : "";
      const [n, idx] = findOrAdopt(items, action.key, action.attempt, action.event.job_id, label);
      const it = n[idx];
      if (!it) return items;
      const next = n === items ? items.slice() : n;
      next[idx] = applyEvent(it, action.event);
      return next;
    }
    case "startFailed":
      return items.map((i) => (i.key === action.key && i.attempt === action.attempt ? { ...i, status: "failed", error: action.error } : i));
    case "retry":
      return items.map((i) => (i.key === action.key ? blank(i.key, i.path, i.label, i.attempt + 1) : i));
    case "clearFinished":
      return items.filter((i) => !FINISHED.includes(i.status));
  }
}
