import { Channel } from "@tauri-apps/api/core";
import type { AppError, JobEvent } from "../bindings";

/** What every generated command resolves to. */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };
import { toastStore } from "./toast";

/** Shows an error to the user (never swallowed). */
export function showError(error: AppError | Error | unknown) {
  if (error && typeof error === "object" && "code" in error && "message" in error) {
    const e = error as AppError;
    toastStore.push("error", e.code, e.message);
  } else if (error instanceof Error) {
    toastStore.push("error", "error", error.message);
  } else {
    toastStore.push("error", "error", String(error));
  }
}

/**
 * Awaits a command; on error shows a toast and resolves to `undefined`.
 * (Unit commands resolve to `null` on success, so `=== undefined` always means "failed".)
 */
export async function call<T>(p: Promise<Result<T, AppError>>): Promise<T | undefined> {
  try {
    const r = await p;
    if (r.status === "ok") return r.data;
    showError(r.error);
    return undefined;
  } catch (e) {
    showError(e);
    return undefined;
  }
}

/** Like `call` but returns the error instead of showing it (for inline display). */
export async function tryCall<T>(p: Promise<Result<T, AppError>>): Promise<Result<T, AppError>> {
  try {
    return await p;
  } catch (e) {
    return { status: "error", error: { code: "internal", message: e instanceof Error ? e.message : String(e) } };
  }
}

export function channel<T>(onMessage: (m: T) => void): Channel<T> {
  return new Channel<T>(onMessage);
}

/** A job's event channel for a dialog: progress goes to `onProgress`; when the job ends `onEnd` runs, then `onDone` if it succeeded (a failure is shown as an error). */
export function jobChannel(onProgress: (e: Extract<JobEvent, { kind: "progress" }>) => void, onEnd: () => void, onDone: () => void): Channel<JobEvent> {
  return channel<JobEvent>((e) => {
    if (e.kind === "progress") onProgress(e);
    else if (e.kind === "done" || e.kind === "failed" || e.kind === "cancelled") {
      onEnd();
      if (e.kind === "done") onDone();
      if (e.kind === "failed") showError(e.error);
    }
  });
}
