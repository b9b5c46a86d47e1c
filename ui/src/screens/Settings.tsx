import { useEffect, useState } from "react";
import { commands, type CatalogItem, type JobEvent, type LlmSettings, type ProviderPreset } from "../bindings";
import { useApp } from "../context";
import { useT } from "../i18n";
import { call, channel, showError, tryCall } from "../lib/call";
import { formatBytes, isLoopbackUrl, mmss } from "../lib/format";
import { Choice, ConfirmDialog, Field, LANGS, ModelChoice, Progress } from "../components/ui";
import { toastStore } from "../lib/toast";
import { Voiceprints } from "../components/Voiceprints";

type Dl = { fraction: number | null; stage: string; eta: number | null; jobId: number | null };

export function SettingsScreen() {
  const t = useT();
  const { info, settings, saveSettings, refreshInfo } = useApp();
  const [catalog, setCatalog] = useState<CatalogItem[]>([]);
  const [llmCatalog, setLlmCatalog] = useState<CatalogItem[]>([]);
  const [speakerModels, setSpeakerModels] = useState<CatalogItem[]>([]);
  const [presets, setPresets] = useState<ProviderPreset[]>([]);
  const [downloads, setDownloads] = useState<Record<string, Dl>>({});
  const [importDir, setImportDir] = useState("");
  const [importName, setImportName] = useState("");
  const [importing, setImporting] = useState<Dl | null>(null);
  const [toDelete, setToDelete] = useState<string | null>(null);
  const [apiKey, setApiKey] = useState("");
  const [testState, setTestState] = useState<{ kind: "idle" | "running" } | { kind: "ok"; text: string } | { kind: "error"; code: string; message: string }>({ kind: "idle" });
  const [llm, setLlm] = useState<LlmSettings>(settings.llm);

  const loadCatalog = () => void call(commands.whisperCatalog()).then((c) => c && setCatalog(c));
  const loadLlmCatalog = () => void call(commands.llmCatalog()).then((c) => c && setLlmCatalog(c));
  const loadSpeakerModels = () => void call(commands.speakerModels()).then((m) => m && setSpeakerModels([m]));
  const loadPresets = () => void call(commands.providerPresets()).then((p) => p && setPresets(p));
  useEffect(() => {
    loadCatalog();
    loadLlmCatalog();
    loadSpeakerModels();
    loadPresets();
  }, []);

  const preset = presets.find((p) => p.id === llm.provider);
  const isBuiltin = llm.provider === "builtin";
  // Local is decided by where the server is, not by the preset: Ollama on another host is not.
  const isLocal = isBuiltin || isLoopbackUrl(llm.base_url || preset?.base_url || "");

  const saveLlm = (next: LlmSettings) => {
    setLlm(next);
    void saveSettings({ llm: next });
  };

  const jobChannel = (onUpdate: (d: Dl | null) => void, onDone: () => void) =>
    channel<JobEvent>((e) => {
      if (e.kind === "progress") onUpdate({ fraction: e.fraction, stage: e.stage, eta: e.eta_ms, jobId: e.job_id });
      else if (e.kind === "done") {
        onUpdate(null);
        onDone();
      } else if (e.kind === "failed") {
        showError(e.error);
        onUpdate(null);
      } else if (e.kind === "cancelled") onUpdate(null);
    });

  /** Downloads a whisper model, a built-in chat model or the speaker models from its catalog. */
  const download = async (kind: "whisper" | "llm" | "speakers", name: string) => {
    setDownloads((d) => ({ ...d, [name]: { fraction: 0, stage: "", eta: null, jobId: null } }));
    const ch = jobChannel(
      (d) =>
        setDownloads((all) => {
          const next = { ...all };
          if (d) next[name] = d;
          else delete next[name];
          return next;
        }),
      () => {
        if (kind === "whisper") loadCatalog();
        else if (kind === "speakers") loadSpeakerModels();
        else {
          loadLlmCatalog();
          loadPresets();
        }
        void refreshInfo();
      },
    );
    const r = await call(kind === "whisper" ? commands.downloadWhisperModel(name, ch) : kind === "speakers" ? commands.downloadSpeakerModels(ch) : commands.downloadLlmModel(name, ch));
    if (r === undefined)
      setDownloads((all) => {
        const next = { ...all };
        delete next[name];
        return next;
      });
    else setDownloads((all) => (all[name] ? { ...all, [name]: { ...all[name], jobId: r.job_id } } : all));
  };

  const importModel = async () => {
    setImporting({ fraction: null, stage: "", eta: null, jobId: null });
    const ch = jobChannel(setImporting, () => {
      setImportDir("");
      setImportName("");
      loadCatalog();
      void refreshInfo();
    });
    const r = await call(commands.importWhisperModel(importDir.trim(), importName.trim(), ch));
    if (r === undefined) setImporting(null);
  };

  const deleteModel = async () => {
    if (!toDelete) return;
    const r = await call(commands.deleteWhisperModel(toDelete));
    setToDelete(null);
    if (r !== undefined) {
      loadCatalog();
      void refreshInfo();
    }
  };

  const saveKey = async (key: string | null) => {
    const r = await call(commands.setApiKey(llm.provider, key));
    if (r !== undefined) {
      setApiKey("");
      toastStore.push("info", "", t("settings.apiKeySaved"));
      loadPresets();
    }
  };

  const test = async () => {
    setTestState({ kind: "running" });
    const r = await tryCall(commands.testConnection(llm));
    if (r.status === "ok") setTestState({ kind: "ok", text: t("settings.testOk", { model: r.data.model, ms: r.data.latency_ms, reply: r.data.reply }) });
    else setTestState({ kind: "error", code: r.error.code, message: r.error.message });
  };

  const modelNames = info.whisper_models.map((m) => m.name);
  const langOptions = (langs: readonly (typeof LANGS)[number][]) => langs.map((l) => ({ value: l, label: t(`lang.${l}`) }));

  return (
    <div className="screen settings">
      <header className="screen-head">
        <h1>{t("settings.title")}</h1>
      </header>

      <section className="card settings-section">
        <h2>{t("settings.general")}</h2>
        <div className="grid2">
          <Field label={t("settings.uiLanguage")}>
            <select data-testid="lang-select" value={settings.ui_language} onChange={(e) => void saveSettings({ ui_language: e.target.value })}>
              <option value="zh">中文</option>
              <option value="en">English</option>
            </select>
          </Field>
          <Field label={t("settings.theme")}>
            <select data-testid="theme-select" value={settings.theme} onChange={(e) => void saveSettings({ theme: e.target.value })}>
              {(["system", "light", "dark"] as const).map((th) => (
                <option key={th} value={th}>
                  {t(`settings.theme.${th}`)}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field label={t("settings.dataDir")}>
          <code className="path" data-testid="data-dir">
            {info.data_dir}
          </code>
        </Field>
      </section>

      <section className="card settings-section">
        <h2>{t("settings.transcription")}</h2>
        <div className="grid3">
          <Field label={t("settings.fileModel")}>
            <ModelChoice testId="file-model-select" value={settings.file_model ?? ""} onChange={(m) => void saveSettings({ file_model: m || null })} models={modelNames} />
          </Field>
          <Field label={t("settings.liveModel")}>
            <ModelChoice testId="live-model-select" value={settings.live_model ?? ""} onChange={(m) => void saveSettings({ live_model: m || null })} models={modelNames} />
          </Field>
          <Field label={t("settings.language")}>
            <Choice value={settings.language} onChange={(l) => void saveSettings({ language: l })} options={langOptions(LANGS)} />
          </Field>
        </div>
        <h3>{t("settings.installed")}</h3>
        {info.whisper_models.length === 0 ? (
          <p className="muted">{t("settings.noModels")}</p>
        ) : (
          <ul className="model-list" data-testid="installed-models">
            {info.whisper_models.map((m) => (
              <li key={m.name} className="model-row">
                <span className="model-name">{m.name}</span>
                <span className="muted small">
                  {formatBytes(m.size_bytes)} · {m.multilingual ? t("settings.multilingual") : t("settings.englishOnly")}
                </span>
                <span className="spacer" />
                <button className="small ghost danger-hover" onClick={() => setToDelete(m.name)}>
                  {t("common.delete")}
                </button>
              </li>
            ))}
          </ul>
        )}
        <h3>{t("settings.catalog")}</h3>
        <CatalogList items={catalog} downloads={downloads} onDownload={(n) => void download("whisper", n)} testId="catalog" />
        <h3>{t("settings.speakerModels")}</h3>
        <p className="muted small">{t("settings.speakerModelsHint")}</p>
        <CatalogList items={speakerModels} downloads={downloads} onDownload={(n) => void download("speakers", n)} testId="speaker-models" />
        <h3>{t("settings.importModel")}</h3>
        <div className="row wrap">
          <input className="grow" placeholder={t("settings.importDir")} aria-label={t("settings.importDir")} value={importDir} onChange={(e) => setImportDir(e.target.value)} />
          <input placeholder={t("settings.importName")} aria-label={t("settings.importName")} value={importName} onChange={(e) => setImportName(e.target.value)} />
          <button onClick={() => void importModel()} disabled={!importDir.trim() || !importName.trim() || importing !== null}>
            {t("settings.import")}
          </button>
        </div>
        {importing && <Progress fraction={importing.fraction} />}
      </section>

      <Voiceprints />

      <section className="card settings-section">
        <h2>{t("settings.llm")}</h2>
        <div className="grid2">
          <Field label={t("settings.provider")}>
            <select data-testid="provider-select" value={llm.provider} onChange={(e) => saveLlm({ ...llm, provider: e.target.value, base_url: "", model: "" })}>
              <option value="builtin">{t("settings.builtin")}</option>
              {presets
                .filter((p) => p.id !== "builtin")
                .map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.label}
                  </option>
                ))}
            </select>
          </Field>
          <div className="privacy">
            {isLocal ? (
              <span className="chip ok" data-testid="provider-privacy">
                {t("settings.local")}
              </span>
            ) : (
              <span className="chip warn" data-testid="provider-privacy">
                {t("settings.cloud")}
              </span>
            )}
          </div>
        </div>
        {isBuiltin ? (
          <>
            <Field label={t("settings.builtinModel")}>
              {info.llm_models.length === 0 ? (
                <span className="muted" data-testid="no-builtin">
                  {t("settings.noBuiltin")}
                </span>
              ) : (
                <ModelChoice testId="builtin-model-select" value={llm.model} onChange={(m) => saveLlm({ ...llm, model: m })} models={info.llm_models} />
              )}
            </Field>
            <h3>{t("settings.llmCatalog")}</h3>
            <CatalogList items={llmCatalog} downloads={downloads} onDownload={(n) => void download("llm", n)} testId="llm-catalog" />
          </>
        ) : (
          <>
            <div className="grid2">
              <Field label={t("settings.baseUrl")}>
                <input data-testid="base-url" value={llm.base_url} placeholder={preset?.base_url ?? ""} onChange={(e) => setLlm({ ...llm, base_url: e.target.value })} onBlur={() => saveLlm(llm)} />
              </Field>
              <Field label={t("settings.model")}>
                <input value={llm.model} placeholder={preset?.default_model ?? ""} onChange={(e) => setLlm({ ...llm, model: e.target.value })} onBlur={() => saveLlm(llm)} />
              </Field>
            </div>
            {(preset?.needs_key ?? true) && (
              <Field label={t("settings.apiKey")} hint={preset?.has_key ? t("settings.apiKeySet") : t("settings.apiKeyMissing")}>
                <div className="row">
                  <input type="password" className="grow" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.target.value)} data-testid="api-key" />
                  <button onClick={() => void saveKey(apiKey)} disabled={!apiKey}>
                    {t("settings.apiKeySave")}
                  </button>
                  {preset?.has_key && (
                    <button className="ghost" onClick={() => void saveKey(null)}>
                      {t("settings.apiKeyClear")}
                    </button>
                  )}
                </div>
              </Field>
            )}
          </>
        )}
        <Field label={t("settings.notesLanguage")}>
          <Choice value={llm.notes_language} onChange={(l) => saveLlm({ ...llm, notes_language: l })} first={{ value: "", label: t("settings.sameAsTranscript") }} options={langOptions(LANGS.filter((l) => l !== "auto"))} />
        </Field>
        <div className="row">
          <button data-testid="test-connection" onClick={() => void test()} disabled={testState.kind === "running"}>
            {testState.kind === "running" ? t("settings.testing") : t("settings.test")}
          </button>
          <span className="test-result" data-testid="test-result">
            {testState.kind === "ok" && <span className="ok-text">{testState.text}</span>}
            {testState.kind === "error" && (
              <span className="error-text" role="alert">
                <code>{testState.code}</code> {testState.message}
              </span>
            )}
          </span>
        </div>
      </section>
      {toDelete && (
        <ConfirmDialog title={t("settings.deleteModel", { name: toDelete })} body={t("settings.deleteModelBody")} confirmLabel={t("common.delete")} danger onConfirm={() => void deleteModel()} onCancel={() => setToDelete(null)} />
      )}
    </div>
  );
}

/** Models that can be downloaded, each with its progress, ETA and cancel while it downloads. */
function CatalogList({ items, downloads, onDownload, testId }: { items: CatalogItem[]; downloads: Record<string, Dl>; onDownload: (name: string) => void; testId: string }) {
  const t = useT();
  return (
    <ul className="model-list" data-testid={testId}>
      {items.map((c) => {
        const dl = downloads[c.name];
        return (
          <li key={c.name} className="model-row" data-testid="catalog-item">
            <span className="model-name">{c.name}</span>
            <span className="muted small">{formatBytes(c.size_bytes)}</span>
            <span className="spacer" />
            {dl ? (
              <span className="dl">
                <Progress fraction={dl.fraction} label={c.name} />
                <span className="muted small">
                  {dl.fraction !== null ? `${Math.round(dl.fraction * 100)}%` : ""}
                  {dl.eta !== null ? ` · ${t("common.eta", { time: mmss(dl.eta) })}` : ""}
                </span>
                {dl.jobId !== null && (
                  <button className="small ghost" onClick={() => void call(commands.cancelJob(dl.jobId ?? 0))}>
                    {t("common.cancel")}
                  </button>
                )}
              </span>
            ) : c.installed ? (
              <span className="chip ok">{t("settings.installedBadge")}</span>
            ) : (
              <button className="small" data-testid="catalog-download" onClick={() => onDownload(c.name)}>
                {t("settings.download")}
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}
