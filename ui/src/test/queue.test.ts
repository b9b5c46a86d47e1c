import { describe, expect, it } from "vitest";
import { queueReducer, type QueueItem } from "../lib/queue";

const add = (items: QueueItem[], key: string, path: string) => queueReducer(items, { type: "add", key, path, label: path });

describe("queue reducer", () => {
  it("tracks progress of a job to done", () => {
    let q = add([], "a", "/x/a.m4a");
    expect(q[0]?.status).toBe("starting");
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "queued", job_id: 7, label: "a.m4a" } });
    expect(q[0]).toMatchObject({ status: "queued", jobId: 7, label: "a.m4a" });
    q = queueReducer(q, { type: "tickets", key: "a", attempt: 1, tickets: [{ job_id: 7, label: "a.m4a" }] });
    expect(q).toHaveLength(1);
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "progress", job_id: 7, stage: "transcribing", fraction: 0.5, eta_ms: 3000 } });
    expect(q[0]).toMatchObject({ status: "running", fraction: 0.5, etaMs: 3000, stage: "transcribing" });
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "done", job_id: 7, meeting_id: 42, path: null } });
    expect(q[0]).toMatchObject({ status: "done", meetingId: 42, fraction: 1 });
  });

  it("one failure does not affect the others; retry resets and ignores stale events", () => {
    let q = add(add([], "a", "/a.m4a"), "b", "/b.m4a");
    q = queueReducer(q, { type: "tickets", key: "a", attempt: 1, tickets: [{ job_id: 1, label: "a" }] });
    q = queueReducer(q, { type: "tickets", key: "b", attempt: 1, tickets: [{ job_id: 2, label: "b" }] });
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "failed", job_id: 1, error: { code: "unsupported_format", message: "bad" } } });
    q = queueReducer(q, { type: "event", key: "b", attempt: 1, event: { kind: "progress", job_id: 2, stage: "x", fraction: 0.3, eta_ms: null } });
    expect(q.map((i) => i.status)).toEqual(["failed", "running"]);
    expect(q[0]?.error?.code).toBe("unsupported_format");
    q = queueReducer(q, { type: "retry", key: "a" });
    expect(q[0]).toMatchObject({ status: "starting", jobId: null, error: null, attempt: 2 });
    // a late event from the first attempt's job id is no longer attached to anything
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "progress", job_id: 1, stage: "old", fraction: 0.9, eta_ms: null } });
    expect(q[0]?.status).toBe("starting");
    q = queueReducer(q, { type: "event", key: "a", attempt: 2, event: { kind: "queued", job_id: 3, label: "a" } });
    expect(q[0]).toMatchObject({ status: "queued", jobId: 3 });
  });

  it("cancel and start failure", () => {
    let q = add([], "a", "/a.m4a");
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "started", job_id: 5 } });
    q = queueReducer(q, { type: "event", key: "a", attempt: 1, event: { kind: "cancelled", job_id: 5 } });
    expect(q[0]?.status).toBe("cancelled");
    q = add(q, "b", "/nope");
    q = queueReducer(q, { type: "startFailed", key: "b", attempt: 1, error: { code: "not_found", message: "no such file" } });
    expect(q[1]).toMatchObject({ status: "failed", error: { code: "not_found" } });
    q = queueReducer(q, { type: "clearFinished" });
    expect(q).toHaveLength(0);
  });

  it("a folder expands into one row per file", () => {
    let q = add([], "f", "/music/");
    q = queueReducer(q, { type: "tickets", key: "f", attempt: 1, tickets: [{ job_id: 1, label: "one.m4a" }, { job_id: 2, label: "two.m4a" }] });
    expect(q.map((i) => [i.jobId, i.label])).toEqual([
      [1, "one.m4a"],
      [2, "two.m4a"],
    ]);
    q = queueReducer(q, { type: "event", key: "f", attempt: 1, event: { kind: "done", job_id: 2, meeting_id: 9, path: null } });
    expect(q[1]?.status).toBe("done");
    expect(q[0]?.status).toBe("queued");
  });
});
