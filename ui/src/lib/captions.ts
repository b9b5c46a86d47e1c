export type Caption = { id: number; speaker: string; start_ms: number; end_ms: number; text: string; is_final: boolean };

let seq = 0;

/** Adds a live caption: a partial replaces the same speaker's pending partial; a final settles it. */
export function addCaption(list: Caption[], c: Omit<Caption, "id">): Caption[] {
  const idx = list.findIndex((x) => !x.is_final && x.speaker === c.speaker);
  if (idx >= 0) {
    const next = list.slice();
    const old = next[idx];
    next[idx] = { ...c, id: old ? old.id : ++seq };
    return next;
  }
  return [...list, { ...c, id: ++seq }];
}
