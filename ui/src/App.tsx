import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { commands, type AppInfo, type JobEvent, type JobTicket, type Settings } from "./bindings";
import { AppContext, type AppCtx, type Route } from "./context";
import { I18nProvider, normalizeLang, translate, type Lang } from "./i18n";
import { call, channel, showError, tryCall } from "./lib/call";
import { basename } from "./lib/format";
import { queueReducer } from "./lib/queue";
import { Toasts } from "./components/ui";
import { Icon } from "./components/Icon";
import { Onboarding } from "./components/Onboarding";
import { LibraryScreen } from "./screens/Library";
import { ImportScreen } from "./screens/Import";
import { RecordScreen } from "./screens/Record";
import { SettingsScreen } from "./screens/Settings";
import { MeetingScreen } from "./screens/Meeting";

declare global {
  interface Window {
    __tingji?: { importPaths: (paths: string[]) => void };
  }
}

export function applyTheme(theme: string) {
  const root = document.documentElement;
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
  else delete root.dataset.theme;
}

let keySeq = 0;

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [bootError, setBootError] = useState<string | null>(null);
  const [route, setRoute] = useState<Route>({ screen: "library" });
  const [libraryRev, setLibraryRev] = useState(0);
  const [queue, dispatch] = useReducer(queueReducer, []);
  const [dragging, setDragging] = useState(false);
  const nonce = useRef(0);
  /** The settings as last saved (or loaded): each save applies its change on top of these. */
  const savedSettings = useRef<Settings | null>(null);
  const saving = useRef<Promise<boolean>>(Promise.resolve(true));

  useEffect(() => {
    void (async () => {
      const [i, s] = await Promise.all([tryCall(commands.appInfo()), tryCall(commands.getSettings())]);
      if (i.status === "error") return setBootError(`${i.error.code}: ${i.error.message}`);
      if (s.status === "error") return setBootError(`${s.error.code}: ${s.error.message}`);
      setInfo(i.data);
      savedSettings.current = s.data;
      setSettings(s.data);
    })();
  }, []);

  const lang: Lang = normalizeLang(settings?.ui_language);
  useEffect(() => {
    applyTheme(settings?.theme ?? "system");
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = translate(lang, "app.name") === "听记" ? "听记 Tingji" : "Tingji 听记";
  }, [settings?.theme, lang]);

  // Saves run one after another, each applying its change on top of the last saved settings:
  // two quick changes (language, then theme) both stick instead of the second saving a stale copy.
  const saveSettings = useCallback((patch: Partial<Settings>) => {
    const run = async () => {
      const base = savedSettings.current;
      if (base === null) return false;
      const next = { ...base, ...patch };
      const r = await call(commands.saveSettings(next));
      if (r === undefined) return false;
      savedSettings.current = next;
      setSettings(next);
      return true;
    };
    saving.current = saving.current.then(run, run);
    return saving.current;
  }, []);

  const refreshInfo = useCallback(async () => {
    const i = await call(commands.appInfo());
    if (i) setInfo(i);
  }, []);

  const openMeeting = useCallback((id: number, seekMs: number | null = null) => {
    nonce.current += 1;
    setRoute({ screen: "meeting", id, seekMs, nonce: nonce.current });
  }, []);

  /** Starts one import for `path` on its own channel (also used by retry). */
  const startImport = useCallback((key: string, path: string, attempt: number) => {
    const ch = channel<JobEvent>((event) => {
      dispatch({ type: "event", key, attempt, event });
      if (event.kind === "done") setLibraryRev((r) => r + 1);
    });
    void tryCall(commands.importFiles([path], { model: null, language: null }, ch)).then((r) => {
      if (r.status === "ok") dispatch({ type: "tickets", key, attempt, tickets: r.data });
      else dispatch({ type: "startFailed", key, attempt, error: r.error });
    });
  }, []);

  /** THE import entry point: drag-and-drop, "Add files" and `window.__tingji.importPaths` all call this. */
  const importPaths = useCallback(
    (paths: string[]) => {
      const clean = paths.map((p) => p.trim()).filter(Boolean);
      if (clean.length === 0) return;
      for (const path of clean) {
        const key = `q${++keySeq}`;
        dispatch({ type: "add", key, path, label: basename(path) });
        startImport(key, path, 1);
      }
      setRoute({ screen: "import" });
    },
    [startImport],
  );

  const retry = useCallback(
    (key: string) => {
      const item = queue.find((i) => i.key === key);
      if (!item) return;
      dispatch({ type: "retry", key });
      startImport(key, item.path, item.attempt + 1);
    },
    [queue, startImport],
  );

  /** Jobs that were not started by an import (recovery) still show in the queue. */
  const trackTickets = useCallback((tickets: JobTicket[], key: string) => {
    dispatch({ type: "tickets", key, attempt: 1, tickets });
  }, []);

  const recover = useCallback(() => {
    const key = `q${++keySeq}`;
    dispatch({ type: "add", key, path: "", label: "" });
    const ch = channel<JobEvent>((event) => {
      dispatch({ type: "event", key, attempt: 1, event });
      if (event.kind === "done") setLibraryRev((r) => r + 1);
    });
    void tryCall(commands.recoverRecordings(ch)).then((r) => {
      if (r.status === "ok") trackTickets(r.data, key);
      else {
        dispatch({ type: "startFailed", key, attempt: 1, error: r.error });
        showError(r.error);
      }
      void refreshInfo();
    });
    setRoute({ screen: "import" });
  }, [trackTickets, refreshInfo]);

  useEffect(() => {
    window.__tingji = { importPaths };
  }, [importPaths]);

  useEffect(() => {
    let unlisten: (() => void) | null = null;
    let disposed = false;
    void (async () => {
      try {
        const { getCurrentWebview } = await import("@tauri-apps/api/webview");
        const un = await getCurrentWebview().onDragDropEvent((e) => {
          const p = e.payload;
          if (p.type === "enter" || p.type === "over") setDragging(true);
          else if (p.type === "leave") setDragging(false);
          else {
            setDragging(false);
            window.__tingji?.importPaths(p.paths);
          }
        });
        if (disposed) un();
        else unlisten = un;
      } catch {
        // Not inside Tauri (unit tests): drag-and-drop of paths is unavailable.
      }
    })();
    return () => {
      disposed = true;
      unlisten?.();
    };
  }, []);

  const ctx: AppCtx | null = useMemo(
    () =>
      info && settings
        ? { info, settings, saveSettings, refreshInfo, navigate: setRoute, openMeeting, importPaths, libraryRev }
        : null,
    [info, settings, saveSettings, refreshInfo, openMeeting, importPaths, libraryRev],
  );

  if (bootError) {
    return (
      <I18nProvider lang={lang}>
        <div className="boot-error" role="alert">
          <h1>{translate(lang, "error.title")}</h1>
          <p>{bootError}</p>
        </div>
      </I18nProvider>
    );
  }
  if (!ctx) {
    return <div className="boot-loading">{translate(lang, "common.loading")}</div>;
  }
  const t = (k: Parameters<typeof translate>[1]) => translate(lang, k);
  const active = route.screen === "meeting" ? "library" : route.screen;
  const running = queue.filter((i) => i.status === "queued" || i.status === "running" || i.status === "starting").length;
  const nav: ("library" | "import" | "record" | "settings")[] = ["library", "import", "record", "settings"];

  return (
    <AppContext.Provider value={ctx}>
      <I18nProvider lang={lang}>
        <div className="app">
          <aside className="sidebar">
            <div className="brand">
              <span className="brand-mark">听</span>
              <div>
                <div className="brand-name">{t("app.name")}</div>
                <div className="brand-tag">{t("app.tagline")}</div>
              </div>
            </div>
            <nav>
              {nav.map((id) => (
                <button key={id} className={`nav-item${active === id ? " active" : ""}`} data-testid={`nav-${id}`} onClick={() => setRoute({ screen: id })} aria-current={active === id ? "page" : undefined}>
                  <Icon name={id} />
                  <span>{t(`nav.${id}`)}</span>
                  {id === "import" && running > 0 && <span className="badge">{running}</span>}
                </button>
              ))}
            </nav>
            <div className="sidebar-foot">{translate(lang, "settings.version", { version: info?.version ?? "" })}</div>
          </aside>
          <main className="main">
            {route.screen === "library" && <LibraryScreen />}
            {route.screen === "import" && <ImportScreen queue={queue} onRetry={retry} onClear={() => dispatch({ type: "clearFinished" })} />}
            <RecordScreen active={route.screen === "record"} onRecover={recover} />
            {route.screen === "settings" && <SettingsScreen />}
            {route.screen === "meeting" && <MeetingScreen key={route.id} id={route.id} seekMs={route.seekMs} seekNonce={route.nonce} />}
          </main>
          {dragging && (
            <div className="drop-overlay" data-testid="drop-overlay">
              <div>{t("drop.overlay")}</div>
            </div>
          )}
          {!ctx.settings.onboarded && <Onboarding />}
          <Toasts />
        </div>
      </I18nProvider>
    </AppContext.Provider>
  );
}
