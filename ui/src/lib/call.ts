import { Channel } from "@tauri-apps/api/core";
import type { AppError } from "../bindings";

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
