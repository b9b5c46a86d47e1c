/* Mock backend for the browser tests and demos: Tauri's mockIPC with fixture data and jobs that emit events. */
import { mockConvertFileSrc, mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import type {
  AppError,
  AppInfo,
  CatalogItem,
  DeviceItem,
  ExportFormatItem,
  JobEvent,
  JobTicket,
  MarkKindDto,
  MeetingItem,
  MeetingView,
  NotesRequest,
  ProviderPreset,
  RecordEvent,
  RecordRequest,
  Settings,
  SearchHitItem,
  VoiceprintItem,
  TranscribeRequest,
} from "../bindings";
import { JFK_NOTES_EN, JFK_SEGMENTS, actionsFrom, initialMeetings, zhNotes } from "./fixtures";

type Args = Record<string, unknown>;

const fail = (code: string, message: string): AppError => ({ code, message });
const basename = (p: string) => p.split(/[\\/]/).filter(Boolean).pop() ?? p;

export function installMocks() {
  const params = new URLSearchParams(location.search);
  const DATA = "/home/user/.local/share/tingji";
  const state = {
    settings: {
      ui_language: params.get("lang") ?? "zh",
      theme: params.get("theme") ?? "light",
      file_model: null,
      live_model: null,
      language: "auto",
      llm: { provider: "builtin", base_url: "", model: "", notes_language: "" },
      onboarded: params.get("onboarded") !== "0",
    } as Settings,
    info: {
      version: "0.1.0",
      data_dir: DATA,
      library_dir: `${DATA}/library`,
      recordings_dir: `${DATA}/recordings`,
      first_run: params.get("onboarded") === "0",
      whisper_models: [
        { name: "large-v3-turbo", size_bytes: 1_620_000_000, multilingual: true },
        { name: "base", size_bytes: 147_000_000, multilingual: true },
        { name: "tiny.en", size_bytes: 77_000_000, multilingual: false },
      ],
      llm_models: params.get("builtin") === "0" ? [] : ["qwen2.5-coder-0.5b-instruct-q4_k_m", "qwen2.5-7b-instruct-q4_k_m"],
      pending_recordings: params.get("pending") === "1" ? [{ path: `${DATA}/recordings/2026-11-27T10-00.wav`, title: "Interrupted standup", started_ms: Date.UTC(2026, 10, 27, 10) }] : [],
    } as AppInfo,
    meetings: initialMeetings(),
    voiceprints: [
      { name: "王敏", speech_ms: 1_260_000, speakers: 3 },
      { name: "李雷", speech_ms: 540_000, speakers: 2 },
      { name: "Interviewer", speech_ms: 95_000, speakers: 1 },
    ] as VoiceprintItem[],
    nextMeeting: 10,
    nextJob: 1,
    nextAction: 1000,
    attempts: new Map<string, number>(),
    jobs: new Map<number, { timers: ReturnType<typeof setTimeout>[]; ch: Channel<JobEvent> }>(),
    catalog: [
      { name: "tiny", size_bytes: 75_000_000, installed: false },
      { name: "tiny.en", size_bytes: 77_000_000, installed: true },
      { name: "base", size_bytes: 147_000_000, installed: true },
      { name: "small", size_bytes: 488_000_000, installed: false },
      { name: "medium", size_bytes: 1_530_000_000, installed: false },
      { name: "large-v3-turbo", size_bytes: 1_620_000_000, installed: true },
    ] as CatalogItem[],
    speakerModels: { name: "segmentation-3.0 + CAM++", size_bytes: 35_239_608, installed: params.get("speakers") === "1" } as CatalogItem,
    llmCatalog: [
      { name: "qwen2.5-coder-1.5b-instruct-q4_k_m", size_bytes: 1_117_320_768, installed: false },
      { name: "qwen2.5-coder-0.5b-instruct-q4_k_m", size_bytes: 491_400_064, installed: params.get("builtin") !== "0" },
    ] as CatalogItem[],
    keys: new Set<string>(["deepseek"]),
    recording: null as null | { ch: Channel<RecordEvent>; timer: ReturnType<typeof setInterval>; elapsed: number; paused: boolean; tick: number; title: string | null },
    calls: [] as { cmd: string; args: Args }[],
  };

  const meeting = (id: unknown): MeetingView => {
    const m = state.meetings.find((x) => x.id === id);
    if (!m) throw fail("not_found", `no meeting ${String(id)}`);
    return m;
  };
  const item = (m: MeetingView): MeetingItem => ({
    id: m.id,
    title: m.title,
    created_ms: m.created_ms,
    duration_ms: m.duration_ms,
    source_kind: m.source_kind,
    folder: m.folder,
    tags: m.tags,
    language: m.language,
    has_notes: m.notes !== null,
  });
  const addMeeting = (title: string, kind: string): number => {
    const id = state.nextMeeting++;
    state.meetings.unshift({
      ...structuredClone(initialMeetings()[0] as MeetingView),
      id,
      title,
      created_ms: Date.now(),
      source_kind: kind,
      folder: null,
      tags: [],
      notes: null,
      actions: [],
      marks: [],
      versions: [{ id: id * 10, label: "v1", model: "large-v3-turbo", created_ms: Date.now(), current: true }],
      segments: structuredClone(JFK_SEGMENTS),
    });
    return id;
  };

  /** Runs a fake job: queued → started → progress steps → done/failed. */
  const runJob = (
    ch: Channel<JobEvent>,
    label: string,
    opts: { steps?: number; stepMs?: number; stages?: string[]; text?: string[]; fail?: AppError; onDone?: () => { meeting_id?: number | null; path?: string | null } },
  ): JobTicket => {
    const job_id = state.nextJob++;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const send = (e: JobEvent) => ch.onmessage(e);
    state.jobs.set(job_id, { timers, ch });
    const steps = opts.steps ?? 6;
    const stepMs = opts.stepMs ?? 250;
    timers.push(setTimeout(() => send({ kind: "queued", job_id, label }), 10));
    timers.push(setTimeout(() => send({ kind: "started", job_id }), 60));
    for (let i = 1; i <= steps; i++) {
      timers.push(
        setTimeout(() => {
          const stages = opts.stages ?? ["decoding", "transcribing"];
          const stage = stages[Math.min(stages.length - 1, Math.floor(((i - 1) / steps) * stages.length))] ?? "";
          send({ kind: "progress", job_id, stage, fraction: i / (steps + 1), eta_ms: (steps + 1 - i) * stepMs * 4 });
          const chunk = opts.text?.[i - 1];
          if (chunk) send({ kind: "text", job_id, text: chunk });
          if (opts.fail && i === Math.ceil(steps / 2)) {
            for (const t of timers) clearTimeout(t);
            state.jobs.delete(job_id);
            send({ kind: "failed", job_id, error: opts.fail });
          }
        }, 60 + i * stepMs),
      );
    }
    timers.push(
      setTimeout(() => {
        state.jobs.delete(job_id);
        const r = opts.onDone?.() ?? {};
        send({ kind: "done", job_id, meeting_id: r.meeting_id ?? null, path: r.path ?? null });
      }, 60 + (steps + 1) * stepMs),
    );
    return { job_id, label };
  };

  const importOne = (path: string, ch: Channel<JobEvent>): JobTicket[] => {
    const n = (state.attempts.get(path) ?? 0) + 1;
    state.attempts.set(path, n);
    const files = path.endsWith("/") ? [`${path}part-1.m4a`, `${path}part-2.m4a`] : [path];
    return files.map((file) => {
      const name = basename(file);
      const broken = /broken|corrupt/.test(file) || (/flaky/.test(file) && n === 1);
      const slow = /slow|long/.test(file);
      return runJob(ch, name, {
        steps: slow ? 200 : 6,
        stepMs: slow ? 300 : 200,
        fail: broken ? fail("unsupported_format", `${name}: no audio stream found (ffmpeg: Invalid data found when processing input)`) : undefined,
        onDone: () => ({ meeting_id: addMeeting(name.replace(/\.[^.]+$/, ""), "imported") }),
      });
    });
  };

  const search = (q: string): SearchHitItem[] => {
    const needle = q.toLowerCase();
    const hits: SearchHitItem[] = [];
    for (const m of state.meetings)
      for (const s of m.segments) {
        const i = s.text.toLowerCase().indexOf(needle);
        if (i >= 0) hits.push({ meeting_id: m.id, title: m.title, segment_idx: s.idx, start_ms: s.start_ms, snippet: `${s.text.slice(0, i)}[${s.text.slice(i, i + q.length)}]${s.text.slice(i + q.length)}` });
      }
    return hits;
  };

  const formats: ExportFormatItem[] = [
    { id: "md", extension: "md", sections: ["summary", "chapters", "actions", "transcript", "timestamps", "speakers"] },
    { id: "docx", extension: "docx", sections: ["summary", "chapters", "actions", "transcript", "timestamps"] },
    { id: "pdf", extension: "pdf", sections: ["summary", "chapters", "transcript"] },
    { id: "txt", extension: "txt", sections: ["timestamps", "speakers"] },
    { id: "srt", extension: "srt", sections: [] },
    { id: "vtt", extension: "vtt", sections: [] },
    { id: "json", extension: "json", sections: [] },
  ];
  const presets: ProviderPreset[] = [
    { id: "dashscope", label: "阿里云百炼 DashScope", base_url: "https://dashscope.aliyuncs.com/compatible-mode/v1", default_model: "qwen-plus", local: false, needs_key: true, has_key: false },
    { id: "openai", label: "OpenAI", base_url: "https://api.openai.com/v1", default_model: "gpt-4o-mini", local: false, needs_key: true, has_key: false },
    { id: "deepseek", label: "DeepSeek", base_url: "https://api.deepseek.com/v1", default_model: "deepseek-chat", local: false, needs_key: true, has_key: true },
    { id: "ollama", label: "Ollama", base_url: "http://localhost:11434/v1", default_model: "qwen2.5:7b", local: true, needs_key: false, has_key: false },
    { id: "lmstudio", label: "LM Studio", base_url: "http://localhost:1234/v1", default_model: "", local: true, needs_key: false, has_key: false },
    { id: "custom", label: "Custom (OpenAI-compatible)", base_url: "", default_model: "", local: false, needs_key: true, has_key: false },
  ];
  const devices: DeviceItem[] = [
    { id: "alsa:sysdefault:0", name: "Built-in Microphone", role: "mic", is_default: true },
    { id: "usb:yeti", name: "Blue Yeti", role: "mic", is_default: false },
    { id: "pulse:monitor:0", name: "Monitor of Built-in Audio", role: "system", is_default: true },
  ];
  const CAPTIONS: [string, string][] = [
    ["me", "Good morning, let's get started with the weekly sync."],
    ["them", "Sure. The transcription engine is about forty percent faster now."],
    ["me", "Great, let's make live captions next week's focus."],
    ["them", "I will send the comparison numbers by Friday."],
  ];

  const handlers: Record<string, (a: Args) => unknown> = {
    app_info: () => state.info,
    get_settings: () => state.settings,
    save_settings: (a) => {
      state.settings = a.settings as Settings;
      return null;
    },
    provider_presets: () => presets.map((p) => ({ ...p, has_key: state.keys.has(p.id) })),
    set_api_key: (a) => {
      if (a.key) state.keys.add(a.provider as string);
      else state.keys.delete(a.provider as string);
      return null;
    },
    test_connection: (a) => {
      const llm = a.llm as Settings["llm"];
      if (llm.base_url.includes("bad") || (llm.provider !== "builtin" && presets.find((p) => p.id === llm.provider)?.needs_key && !state.keys.has(llm.provider)))
        throw fail("llm_unreachable", `could not reach ${llm.base_url || llm.provider}: connection refused`);
      return { model: llm.model || "qwen2.5-3b-instruct", latency_ms: 412, reply: "OK — 你好！" };
    },
    whisper_catalog: () => state.catalog,
    download_whisper_model: (a) =>
      runJob(a.onEvent as Channel<JobEvent>, a.name as string, {
        stages: ["downloading"],
        steps: 8,
        stepMs: 200,
        onDone: () => {
          const c = state.catalog.find((x) => x.name === a.name);
          if (c) {
            c.installed = true;
            state.info.whisper_models.push({ name: c.name, size_bytes: c.size_bytes, multilingual: !c.name.endsWith(".en") });
          }
          return {};
        },
      }),
    speaker_models: () => state.speakerModels,
    download_speaker_models: (a) =>
      runJob(a.onEvent as Channel<JobEvent>, state.speakerModels.name, {
        stages: ["downloading segmentation-3.0", "downloading CAM++"],
        steps: 8,
        stepMs: 200,
        onDone: () => {
          state.speakerModels.installed = true;
          return {};
        },
      }),
    llm_catalog: () => state.llmCatalog,
    download_llm_model: (a) =>
      runJob(a.onEvent as Channel<JobEvent>, a.name as string, {
        stages: ["downloading"],
        steps: 8,
        stepMs: 200,
        onDone: () => {
          const c = state.llmCatalog.find((x) => x.name === a.name);
          if (c) {
            c.installed = true;
            state.info.llm_models.push(c.name);
          }
          return {};
        },
      }),
    import_whisper_model: (a) =>
      runJob(a.onEvent as Channel<JobEvent>, a.name as string, {
        stages: ["copying"],
        steps: 3,
        onDone: () => {
          state.info.whisper_models.push({ name: a.name as string, size_bytes: 500_000_000, multilingual: true });
          return {};
        },
      }),
    delete_whisper_model: (a) => {
      state.info.whisper_models = state.info.whisper_models.filter((m) => m.name !== a.name);
      for (const c of state.catalog) if (c.name === a.name) c.installed = false;
      return null;
    },
    list_meetings: (a) => {
      const q = a.query as { folder: string | null; tag: string | null; sort: string };
      let list = state.meetings.filter((m) => (!q.folder || m.folder === q.folder) && (!q.tag || m.tags.includes(q.tag)));
      const cmp: Record<string, (x: MeetingView, y: MeetingView) => number> = {
        newest: (x, y) => y.created_ms - x.created_ms,
        oldest: (x, y) => x.created_ms - y.created_ms,
        title: (x, y) => x.title.localeCompare(y.title),
        longest: (x, y) => y.duration_ms - x.duration_ms,
      };
      list = [...list].sort(cmp[q.sort] ?? cmp.newest);
      return list.map(item);
    },
    search_meetings: (a) => search(a.query as string),
    get_meeting: (a) => structuredClone(meeting(a.id)),
    rename_meeting: (a) => {
      meeting(a.id).title = a.title as string;
      return null;
    },
    set_folder: (a) => {
      meeting(a.id).folder = (a.folder as string | null) ?? null;
      return null;
    },
    set_tags: (a) => {
      meeting(a.id).tags = a.tags as string[];
      return null;
    },
    delete_meeting: (a) => {
      meeting(a.id);
      state.meetings = state.meetings.filter((m) => m.id !== a.id);
      return null;
    },
    rename_speaker: (a) => {
      const s = meeting(a.id).speakers.find((x) => x.label === a.label);
      if (!s) throw fail("not_found", `no speaker ${String(a.label)}`);
      s.name = (a.name as string | null) ?? null;
      s.matched = null;
      return null;
    },
    list_voiceprints: () => state.voiceprints,
    rename_voiceprint: (a) => {
      const v = state.voiceprints.find((x) => x.name === a.name);
      if (!v) throw fail("not_found", `voiceprint ${String(a.name)} not found`);
      if (state.voiceprints.some((x) => x !== v && x.name === a.newName)) throw fail("invalid_input", `a voiceprint named ${String(a.newName)} exists; merge the two instead`);
      for (const m of state.meetings) for (const s of m.speakers) if (s.name === v.name) s.name = a.newName as string;
      v.name = a.newName as string;
      return null;
    },
    merge_voiceprints: (a) => {
      const f = state.voiceprints.find((x) => x.name === a.from);
      const i = state.voiceprints.find((x) => x.name === a.into);
      if (!f || !i) throw fail("not_found", "voiceprint not found");
      i.speech_ms += f.speech_ms;
      i.speakers += f.speakers;
      state.voiceprints = state.voiceprints.filter((x) => x !== f);
      return null;
    },
    forget_voiceprint: (a) => {
      if (!state.voiceprints.some((x) => x.name === a.name)) throw fail("not_found", `voiceprint ${String(a.name)} not found`);
      state.voiceprints = state.voiceprints.filter((x) => x.name !== a.name);
      return null;
    },
    merge_speakers: (a) => {
      const m = meeting(a.id);
      for (const s of m.segments) if (s.speaker === a.from) s.speaker = a.into as string;
      m.speakers = m.speakers.filter((s) => s.label !== a.from);
      return null;
    },
    edit_segment: (a) => {
      const s = meeting(a.id).segments.find((x) => x.idx === a.segmentIdx);
      if (!s) throw fail("not_found", "no such segment");
      s.text = a.text as string;
      const ws = (a.text as string).split(" ");
      const step = (s.end_ms - s.start_ms) / ws.length;
      s.words = ws.map((w, i) => ({ text: i ? ` ${w}` : w, start_ms: Math.round(s.start_ms + i * step), end_ms: Math.round(s.start_ms + (i + 1) * step) }));
      return null;
    },
    set_user_notes: (a) => {
      meeting(a.id).user_notes = a.markdown as string;
      return null;
    },
    set_action_done: (a) => {
      for (const m of state.meetings) for (const x of m.actions) if (x.id === a.itemId) x.done = a.done as boolean;
      return null;
    },
    add_mark: (a) => {
      meeting(a.id).marks.push({ segment_idx: a.segmentIdx as number, kind: a.kind as MarkKindDto });
      return null;
    },
    set_current_version: (a) => {
      for (const m of state.meetings) if (m.versions.some((v) => v.id === a.versionId)) for (const v of m.versions) v.current = v.id === a.versionId;
      return null;
    },
    waveform: (a) => {
      const n = a.buckets as number;
      let x = Number(a.id) * 9301 + 49297;
      const rnd = () => ((x = (x * 9301 + 49297) % 233280) / 233280);
      let env = 0.5;
      return Array.from({ length: n }, (_, i) => {
        env = Math.min(1, Math.max(0.1, env + (rnd() - 0.5) * 0.25));
        const silence = i % 97 < 4 ? 0.15 : 1;
        return Math.min(1, (0.15 + 0.85 * env * rnd()) * silence);
      });
    },
    import_files: (a) => (a.paths as string[]).flatMap((p) => importOne(p, a.onEvent as Channel<JobEvent>)),
    retranscribe: (a) => {
      const m = meeting(a.id);
      const req = a.request as TranscribeRequest;
      return runJob(a.onEvent as Channel<JobEvent>, m.title, {
        onDone: () => {
          const id = Math.max(...m.versions.map((v) => v.id), m.id * 10) + 1;
          for (const v of m.versions) v.current = false;
          m.versions.unshift({ id, label: `v${m.versions.length + 1}`, model: req.model ?? "large-v3-turbo", created_ms: Date.now(), current: true });
          return { meeting_id: m.id };
        },
      });
    },
    rediarize_meeting: (a) => {
      const m = meeting(a.id);
      const n = (a.speakers as number | null) ?? m.speakers.length + 1;
      return runJob(a.onEvent as Channel<JobEvent>, m.title, {
        stages: ["speakers"],
        onDone: () => {
          // The mock splits the last speaker's lines among new labels up to the count.
          const labels = m.speakers.map((s) => s.label);
          for (let i = labels.length; i < n; i++) {
            const label = `S${i + 1}`;
            m.speakers.push({ label, name: null, matched: null });
            labels.push(label);
          }
          m.segments.forEach((s, i) => (s.speaker = labels[i % Math.min(n, labels.length)] ?? s.speaker));
          m.speakers = m.speakers.filter((s) => m.segments.some((g) => g.speaker === s.label));
          return { meeting_id: m.id };
        },
      });
    },
    cancel_job: (a) => {
      const job = state.jobs.get(a.jobId as number);
      if (!job) throw fail("not_found", `no running job ${String(a.jobId)}`);
      for (const t of job.timers) clearTimeout(t);
      state.jobs.delete(a.jobId as number);
      setTimeout(() => job.ch.onmessage({ kind: "cancelled", job_id: a.jobId as number }), 20);
      return null;
    },
    generate_notes: (a) => {
      const m = meeting(a.id);
      const req = a.request as NotesRequest;
      const zh = (req.language ?? m.language) === "zh";
      const notes = zh && m.language === "zh" ? zhNotes(m.segments) : structuredClone(JFK_NOTES_EN);
      const text = (notes.summary ?? "").match(/.{1,12}/gsu) ?? [];
      const kinds = ["summary", "key_points", "keywords", "decisions", "chapters", "speakers", "qa", "actions", "mind_map"];
      return runJob(a.onEvent as Channel<JobEvent>, m.title, {
        steps: Math.max(9, text.length),
        stepMs: 120,
        stages: kinds.map((k, i) => `notes ${i + 1}/${kinds.length}: ${k}`),
        text,
        onDone: () => {
          m.notes = { ...notes, template: req.template ?? undefined };
          m.actions = actionsFrom(notes, state.nextAction);
          state.nextAction += 100;
          return { meeting_id: m.id };
        },
      });
    },
    ask_meeting: (a) => {
      const m = meeting(a.id);
      const s1 = m.segments[1];
      const s2 = m.segments[2] ?? s1;
      if (!s1 || !s2) throw fail("not_found", "empty transcript");
      const mm = (ms: number) => `${String(Math.floor(ms / 60000)).padStart(2, "0")}:${String(Math.floor((ms % 60000) / 1000)).padStart(2, "0")}`;
      return {
        answer:
          m.language === "zh"
            ? `会上确认了两件事 [${mm(s1.start_ms)}]，并安排了后续工作 [${mm(s2.start_ms)}]。`
            : `He asks citizens not to expect things from the state [${mm(s1.start_ms)}] but to serve it [${mm(s2.start_ms)}].`,
        citations: [
          { start_ms: s1.start_ms, text: s1.text },
          { start_ms: s2.start_ms, text: s2.text },
        ],
      };
    },
    export_formats: () => formats,
    export_meeting: (a) => {
      const m = meeting(a.id);
      const req = a.request as { format: string; path: string };
      const f = formats.find((x) => x.id === req.format);
      if (!f) throw fail("unsupported_format", `unknown export format ${req.format}`);
      if (!req.path.startsWith("/")) throw fail("invalid_path", `not an absolute path: ${req.path}`);
      const path = req.path.endsWith(`.${f.extension}`) ? req.path : `${req.path.replace(/\/$/, "")}/${m.title}.${f.extension}`;
      return new Promise((r) => setTimeout(() => r({ path, bytes: 18_432 }), 300));
    },
    list_devices: () => devices,
    start_recording: (a) => {
      if (state.recording) throw fail("busy", "a recording is already running");
      const req = a.request as RecordRequest;
      const ch = a.onEvent as Channel<RecordEvent>;
      const rec = { ch, elapsed: 0, paused: false, tick: 0, title: req.title, timer: setInterval(() => undefined, 1000) };
      clearInterval(rec.timer);
      state.recording = rec;
      setTimeout(() => ch.onmessage({ kind: "started", path: `${DATA}/recordings/rec.wav` }), 30);
      rec.timer = setInterval(() => {
        rec.tick++;
        if (!rec.paused) rec.elapsed += 100;
        const lv = (k: number) => (rec.paused ? 0 : 0.25 + 0.6 * Math.abs(Math.sin(rec.tick / k)));
        ch.onmessage({ kind: "levels", mic: req.mic ? lv(3) : null, system: req.system ? lv(5) : null, elapsed_ms: rec.elapsed, paused: rec.paused });
        if (!rec.paused && req.live_captions && rec.tick % 6 === 0) {
          const n = rec.tick / 6;
          const line = CAPTIONS[Math.floor((n - 1) / 2) % CAPTIONS.length] ?? ["me", ""];
          const final = n % 2 === 0;
          const text = final ? line[1] : line[1].split(" ").slice(0, 4).join(" ") + "…";
          const start = Math.max(0, rec.elapsed - 1200);
          ch.onmessage({ kind: "caption", speaker: line[0], start_ms: start, end_ms: rec.elapsed, text, is_final: final });
        }
      }, 100);
      return null;
    },
    pause_recording: () => {
      if (!state.recording) throw fail("not_recording", "no recording is running");
      state.recording.paused = true;
      return null;
    },
    resume_recording: () => {
      if (!state.recording) throw fail("not_recording", "no recording is running");
      state.recording.paused = false;
      return null;
    },
    mark_recording: (a) => {
      const rec = state.recording;
      if (!rec) throw fail("not_recording", "no recording is running");
      rec.ch.onmessage({ kind: "mark", mark: a.kind as MarkKindDto, at_ms: rec.elapsed });
      return null;
    },
    stop_recording: (a) => {
      const rec = state.recording;
      if (!rec) throw fail("not_recording", "no recording is running");
      clearInterval(rec.timer);
      state.recording = null;
      rec.ch.onmessage({ kind: "stopped", path: `${DATA}/recordings/rec.wav`, duration_ms: rec.elapsed });
      const title = rec.title ?? (state.settings.ui_language === "zh" ? "新录音" : "New recording");
      return runJob(a.onEvent as Channel<JobEvent>, title, { steps: 5, stepMs: 200, onDone: () => ({ meeting_id: addMeeting(title, "recorded") }) });
    },
    recover_recordings: (a) => {
      const pend = state.info.pending_recordings;
      state.info.pending_recordings = [];
      return pend.map((p) => runJob(a.onEvent as Channel<JobEvent>, p.title ?? basename(p.path), { onDone: () => ({ meeting_id: addMeeting(p.title ?? "Recovered", "recorded") }) }));
    },
  };

  mockWindows("main");
  mockConvertFileSrc("linux");
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Args;
      state.calls.push({ cmd, args: a });
      const h = handlers[cmd];
      if (!h) throw fail("not_implemented", `mock has no command ${cmd}`);
      return h(a);
    },
    { shouldMockEvents: true },
  );

  (window as unknown as { __tingjiMock: unknown }).__tingjiMock = {
    state,
    /** Simulates Tauri's native file drop (the same event the real webview emits). */
    drop: (paths: string[]) =>
      (window as unknown as { __TAURI_INTERNALS__: { invoke: (c: string, a: unknown) => Promise<unknown> } }).__TAURI_INTERNALS__.invoke("plugin:event|emit", {
        event: "tauri://drag-drop",
        payload: { paths, position: { x: 100, y: 100 } },
      }),
  };
}
