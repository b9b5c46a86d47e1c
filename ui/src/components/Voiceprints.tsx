import { useEffect, useState } from "react";
import { commands, type VoiceprintItem } from "../bindings";
import { useT } from "../i18n";
import { call } from "../lib/call";
import { mmss } from "../lib/format";
import { ConfirmDialog } from "./ui";

/** Settings → voiceprints: the voices the user named, which name the same voices in later meetings. Rename, merge two, forget one. */
export function Voiceprints() {
  const t = useT();
  const [items, setItems] = useState<VoiceprintItem[] | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [toForget, setToForget] = useState<string | null>(null);
  const [from, setFrom] = useState("");
  const [into, setInto] = useState("");
  const load = async () => {
    const list = await call(commands.listVoiceprints());
    if (list === undefined) return;
    setItems(list);
    setNames(Object.fromEntries(list.map((v) => [v.name, v.name])));
  };
  useEffect(() => void load(), []);
  const rename = async (name: string) => {
    const next = (names[name] ?? "").trim();
    if (!next || next === name) return setNames({ ...names, [name]: name });
    if ((await call(commands.renameVoiceprint(name, next))) !== undefined) void load();
  };
  const merge = async () => {
    if (!from || !into || from === into) return;
    if ((await call(commands.mergeVoiceprints(from, into))) !== undefined) {
      setFrom("");
      setInto("");
      void load();
    }
  };
  const forget = async () => {
    const name = toForget;
    setToForget(null);
    if (name && (await call(commands.forgetVoiceprint(name))) !== undefined) void load();
  };
  return (
    <section className="card settings-section" data-testid="voiceprints">
      <h2>{t("settings.voiceprints")}</h2>
      <p className="muted">{t("settings.voiceprintsHint")}</p>
      {items && items.length === 0 && <p className="muted" data-testid="voiceprints-empty">{t("settings.noVoiceprints")}</p>}
      <ul className="voiceprint-list">
        {items?.map((v) => (
          <li key={v.name} className="row" data-testid="voiceprint-row">
            <input aria-label={t("settings.voiceprintName")} data-testid="voiceprint-name" value={names[v.name] ?? v.name} onChange={(e) => setNames({ ...names, [v.name]: e.target.value })} onBlur={() => void rename(v.name)} onKeyDown={(e) => e.key === "Enter" && void rename(v.name)} />
            <span className="muted">{t("settings.voiceprintInfo", { speech: mmss(v.speech_ms), count: v.speakers })}</span>
            <button className="small danger" data-testid="voiceprint-forget" onClick={() => setToForget(v.name)}>
              {t("settings.forget")}
            </button>
          </li>
        ))}
      </ul>
      {items && items.length > 1 && (
        <div className="row wrap">
          <select aria-label={t("settings.voiceprints")} value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">{t("settings.voiceprints")}…</option>
            {items.map((v) => (
              <option key={v.name}>{v.name}</option>
            ))}
          </select>
          <select aria-label={t("meeting.mergeInto")} value={into} onChange={(e) => setInto(e.target.value)}>
            <option value="">{t("meeting.mergeInto")}</option>
            {items
              .filter((v) => v.name !== from)
              .map((v) => (
                <option key={v.name}>{v.name}</option>
              ))}
          </select>
          <button className="small" onClick={() => void merge()} disabled={!from || !into}>
            {t("meeting.merge")}
          </button>
        </div>
      )}
      {toForget && <ConfirmDialog title={t("settings.forgetTitle", { name: toForget })} body={t("settings.forgetBody")} confirmLabel={t("settings.forget")} danger onConfirm={() => void forget()} onCancel={() => setToForget(null)} />}
    </section>
  );
}
