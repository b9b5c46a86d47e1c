import type { ActionView, MeetingNotes, MeetingView, SegmentView, WordView } from "../bindings";

/** Splits `text` into words spread evenly over [start, end). Latin: by spaces; CJK: two characters a word. */
export function words(text: string, start: number, end: number): WordView[] {
  const cjk = /[\u4e00-\u9fff]/.test(text);
  const parts: string[] = [];
  if (cjk) {
    const chars = [...text];
    for (let i = 0; i < chars.length; i += 2) parts.push(chars.slice(i, i + 2).join(""));
  } else {
    text.split(" ").forEach((w, i) => parts.push(i === 0 ? w : ` ${w}`));
  }
  const step = (end - start) / parts.length;
  return parts.map((p, i) => ({ text: p, start_ms: Math.round(start + i * step), end_ms: Math.round(start + (i + 1) * step) }));
}

export function seg(idx: number, start: number, end: number, speaker: string | null, text: string): SegmentView {
  return { idx, start_ms: start, end_ms: end, speaker, text, words: words(text, start, end) };
}

export const JFK_SEGMENTS: SegmentView[] = [
  seg(0, 0, 3600, "SPEAKER_00", "And so my fellow Americans,"),
  seg(1, 3600, 7400, "SPEAKER_00", "ask not what your country can do for you,"),
  seg(2, 7400, 11000, "SPEAKER_00", "ask what you can do for your country."),
];

export const JFK_NOTES_EN: MeetingNotes = {
  version: 1,
  language: "en",
  model: "builtin/qwen2.5-3b-instruct",
  prompt_version: "1",
  summary: "President Kennedy calls on his fellow Americans to stop asking what their country can do for them and instead ask what they can do for their country — a call to civic duty and public service.",
  key_points: [
    { text: "Kennedy addresses the nation directly as “my fellow Americans”.", start_ms: 0 },
    { text: "Citizens should not ask what the country can do for them.", start_ms: 3600 },
    { text: "They should ask what they can do for the country.", start_ms: 7400 },
  ],
  keywords: ["civic duty", "public service", "citizenship", "inaugural address", "Kennedy"],
  decisions: [{ text: "Service to the country is set as the theme of the new administration.", start_ms: 7400 }],
  chapters: [
    { title: "Address to the nation", summary: "The speaker turns to his audience.", start_ms: 0, end_ms: 3600 },
    { title: "Ask not…", summary: "The famous inversion: what you can do for your country.", start_ms: 3600, end_ms: 11000 },
  ],
  speakers: [{ speaker: "SPEAKER_00", summary: "Delivers the closing call to action of the inaugural address." }],
  qa: [{ question: "What should citizens ask?", answer: "What they can do for their country.", start_ms: 7400 }],
  actions: [{ task: "Find one way to serve your community this month", owner: "Every citizen", due: "1961-02-20", start_ms: 7400 }],
  mind_map: {
    text: "Inaugural address",
    children: [
      { text: "Audience", children: [{ text: "Fellow Americans" }] },
      {
        text: "Call to action",
        children: [
          { text: "Ask not", children: [{ text: "what your country can do for you", children: [{ text: "too deep — cut at level 4" }] }] },
          { text: "Ask", children: [{ text: "what you can do for your country" }] },
        ],
      },
    ],
  },
  translation: { language: "zh", segments: ["因此，我的美国同胞们，", "不要问你的国家能为你做什么，", "而要问你能为你的国家做什么。"] },
  usage: { prompt_tokens: 812, completion_tokens: 640, requests: 9 },
};

const ZH_LINES: [string, string][] = [
  ["A", "大家好，我们开始今天的产品周会，先过一下第三季度的路线图。"],
  ["B", "转写引擎这周已经切换到新的本地模型，长会议的速度提升了大约百分之四十。"],
  ["A", "很好。那导读功能的章节划分现在稳定吗？上周有用户反馈章节太碎。"],
  ["C", "我们调整了提示词，章节最少三分钟，现在每小时大概八到十个章节。"],
  ["B", "另外实时字幕在中英混说的场景下还有一些错别字，需要再优化。"],
  ["A", "这个列为下周重点。谁来负责？"],
  ["B", "我来跟进，周五前给出对比数据。"],
  ["C", "还有一个问题：导出 Word 的时候表格样式在 WPS 里会错位。"],
  ["A", "先记成待办，由设计和开发一起看一下。"],
  ["C", "好的。最后是隐私说明页，法务那边已经审核通过了。"],
  ["A", "那我们周三发布测试版。今天就到这里，谢谢大家。"],
];

export function zhSegments(): SegmentView[] {
  let t = 0;
  return ZH_LINES.map(([sp, text], i) => {
    const len = 6000 + text.length * 260;
    const s = seg(i, t, t + len, sp, text);
    t += len + 800;
    return s;
  });
}

export function zhNotes(segments: SegmentView[]): MeetingNotes {
  const at = (i: number) => segments[i]?.start_ms ?? 0;
  return {
    version: 1,
    language: "zh",
    model: "builtin/qwen2.5-3b-instruct",
    prompt_version: "1",
    summary: "本次产品周会回顾了第三季度路线图：本地转写引擎提速约 40%，导读章节划分经调整后趋于稳定；实时字幕在中英混说场景仍需优化，Word 导出在 WPS 中存在表格错位问题；隐私说明已通过法务审核，测试版定于周三发布。",
    key_points: [
      { text: "新的本地模型让长会议转写速度提升约 40%。", start_ms: at(1) },
      { text: "章节最短三分钟，每小时约 8–10 个章节。", start_ms: at(3) },
      { text: "中英混说的实时字幕仍有错别字。", start_ms: at(4) },
    ],
    keywords: ["路线图", "本地模型", "导读", "实时字幕", "导出", "隐私"],
    decisions: [
      { text: "实时字幕优化列为下周重点。", start_ms: at(5) },
      { text: "测试版周三发布。", start_ms: at(10) },
    ],
    chapters: [
      { title: "开场与路线图", summary: "主持人说明议程。", start_ms: at(0), end_ms: at(1) },
      { title: "转写与导读进展", summary: "引擎提速，章节划分更稳定。", start_ms: at(1), end_ms: at(4) },
      { title: "问题与待办", summary: "实时字幕和 Word 导出的问题及负责人。", start_ms: at(4), end_ms: at(9) },
      { title: "发布安排", summary: "隐私说明通过审核，周三发布测试版。", start_ms: at(9), end_ms: segments[segments.length - 1]?.end_ms ?? 0 },
    ],
    speakers: [
      { speaker: "A", summary: "主持会议，确认重点并安排发布时间。" },
      { speaker: "B", summary: "汇报转写引擎进展，负责实时字幕优化。" },
      { speaker: "C", summary: "介绍导读章节调整，提出 Word 导出问题。" },
    ],
    qa: [
      { question: "导读的章节划分现在稳定吗？", answer: "已调整提示词，章节最少三分钟，每小时约八到十个。", start_ms: at(2) },
      { question: "实时字幕优化由谁负责？", answer: "由 B 跟进，周五前给出对比数据。", start_ms: at(5) },
    ],
    actions: [
      { task: "给出实时字幕中英混说的对比数据", owner: "B", due: "周五", start_ms: at(6) },
      { task: "排查 WPS 中 Word 导出表格错位", owner: "设计与开发", start_ms: at(8) },
    ],
    mind_map: {
      text: "产品周会",
      children: [
        { text: "进展", children: [{ text: "转写提速 40%" }, { text: "章节更稳定", children: [{ text: "最短三分钟" }] }] },
        { text: "问题", children: [{ text: "实时字幕错别字" }, { text: "WPS 表格错位" }] },
        { text: "发布", children: [{ text: "周三测试版" }] },
      ],
    },
    translation: {
      language: "en",
      segments: [
        "Hi everyone, let's start today's product weekly and go through the Q3 roadmap.",
        "The transcription engine switched to the new local model this week; long meetings are about 40% faster.",
        "Great. Are the chapters in the notes stable now? Users said they were too fragmented last week.",
        "We tuned the prompt: chapters are at least three minutes, about eight to ten per hour.",
        "Live captions still have typos when people mix Chinese and English.",
        "Let's make that next week's focus. Who owns it?",
        "I'll follow up with comparison data by Friday.",
        "One more issue: exported Word tables are misaligned in WPS.",
        "Log it as a to-do for design and engineering.",
        "OK. Finally, legal has approved the privacy page.",
        "Then we ship the beta on Wednesday. That's all for today, thanks.",
      ],
    },
    usage: { prompt_tokens: 2410, completion_tokens: 1320, requests: 9 },
  };
}

export function actionsFrom(notes: MeetingNotes | null, firstId: number): ActionView[] {
  return (notes?.actions ?? []).map((a, i) => ({ id: firstId + i, text: a.task, owner: a.owner ?? null, due: a.due ?? null, source_ms: a.start_ms, done: false }));
}

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 9, 30);

export function initialMeetings(): MeetingView[] {
  const zhSegs = zhSegments();
  const zh = zhNotes(zhSegs);
  const jfk: MeetingView = {
    id: 1,
    title: "JFK inaugural address",
    created_ms: NOW,
    duration_ms: 11000,
    source_kind: "imported",
    folder: "Speeches",
    tags: ["history", "demo"],
    language: "en",
    audio_path: "/home/user/.local/share/tingji/library/1/audio.opus",
    speakers: [{ label: "SPEAKER_00", name: "John F. Kennedy", matched: null }],
    segments: JFK_SEGMENTS,
    marks: [{ segment_idx: 1, kind: "key" }],
    versions: [
      { id: 11, label: "v2", model: "large-v3-turbo", created_ms: NOW, current: true },
      { id: 10, label: "v1", model: "base", created_ms: NOW - 3600_000, current: false },
    ],
    user_notes: "",
    notes: JFK_NOTES_EN,
    actions: actionsFrom(JFK_NOTES_EN, 100),
  };
  const weekly: MeetingView = {
    id: 2,
    title: "产品周会：第三季度路线图",
    created_ms: NOW - DAY,
    duration_ms: zhSegs[zhSegs.length - 1]?.end_ms ?? 0,
    source_kind: "recorded",
    folder: "团队",
    tags: ["周会", "路线图"],
    language: "zh",
    audio_path: "/home/user/.local/share/tingji/library/2/audio.opus",
    speakers: [
      { label: "A", name: "王敏", matched: null },
      { label: "B", name: "李雷", matched: 87 },
      { label: "C", name: null, matched: null },
    ],
    segments: zhSegs,
    marks: [{ segment_idx: 5, kind: "todo" }, { segment_idx: 2, kind: "question" }],
    versions: [{ id: 20, label: "v1", model: "large-v3-turbo", created_ms: NOW - DAY, current: true }],
    user_notes: "- 周三发布测试版\n",
    notes: zh,
    actions: actionsFrom(zh, 200),
  };
  const interview: MeetingView = {
    id: 3,
    title: "Customer interview — Acme Corp",
    created_ms: NOW - 3 * DAY,
    duration_ms: 42000,
    source_kind: "imported",
    folder: null,
    tags: ["research"],
    language: "en",
    audio_path: null,
    speakers: [
      { label: "SPEAKER_00", name: "Interviewer", matched: null },
      { label: "SPEAKER_01", name: null, matched: null },
    ],
    segments: [
      seg(0, 0, 9000, "SPEAKER_00", "Thanks for joining. How do you take notes in meetings today?"),
      seg(1, 9500, 21000, "SPEAKER_01", "Mostly by hand, and we lose the action items between meetings."),
      seg(2, 21500, 32000, "SPEAKER_00", "Would a local app that never uploads audio work for your legal team?"),
      seg(3, 32500, 42000, "SPEAKER_01", "Yes, that is exactly what they have been asking for."),
    ],
    marks: [],
    versions: [],
    user_notes: "",
    notes: null,
    actions: [],
  };
  return [jfk, weekly, interview];
}
