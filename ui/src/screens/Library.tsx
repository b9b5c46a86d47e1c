import { useEffect, useState } from "react";
import { commands, type MeetingItem, type SearchHitItem, type SortKey } from "../bindings";
import { useApp } from "../context";
import { useLang, useT } from "../i18n";
import { call } from "../lib/call";
import { formatDate, mmss, snippetParts } from "../lib/format";
import { ConfirmDialog } from "../components/ui";
import { Icon } from "../components/Icon";

export function LibraryScreen() {
  const t = useT();
  const lang = useLang();
  const { openMeeting, navigate, libraryRev } = useApp();
  const [items, setItems] = useState<MeetingItem[] | null>(null);
  const [all, setAll] = useState<MeetingItem[]>([]);
  const [folder, setFolder] = useState<string>("");
  const [tag, setTag] = useState<string>("");
  const [sort, setSort] = useState<SortKey>("newest");
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHitItem[] | null>(null);
  const [toDelete, setToDelete] = useState<MeetingItem | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    void (async () => {
      const [filtered, everything] = await Promise.all([
        call(commands.listMeetings({ folder: folder || null, tag: tag || null, sort })),
        call(commands.listMeetings({ folder: null, tag: null, sort })),
      ]);
      if (stale) return;
      setItems(filtered ?? []);
      setAll(everything ?? []);
    })();
    return () => {
      stale = true;
    };
  }, [folder, tag, sort, reload, libraryRev]);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setHits(null);
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      void call(commands.searchMeetings(q)).then((h) => {
        if (!stale) setHits(h ?? []);
      });
    }, 200);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [query]);

  const folders = [...new Set(all.map((m) => m.folder).filter((f): f is string => !!f))].sort();
  const tags = [...new Set(all.flatMap((m) => m.tags))].sort();

  const doDelete = async () => {
    if (!toDelete) return;
    const r = await call(commands.deleteMeeting(toDelete.id));
    setToDelete(null);
    if (r !== undefined) setReload((n) => n + 1);
  };

  return (
    <div className="screen library">
      <header className="screen-head">
        <h1>{t("library.title")}</h1>
        <div className="search">
          <span className="search-icon" aria-hidden>
            <Icon name="search" size={16} />
          </span>
          <input type="search" data-testid="search-input" placeholder={t("library.search")} value={query} onChange={(e) => setQuery(e.target.value)} aria-label={t("library.search")} />
        </div>
      </header>

      {hits !== null ? (
        <section className="hits" data-testid="search-results">
          <div className="muted small">{hits.length ? t("library.hits", { count: hits.length }) : t("library.noHits", { query: query.trim() })}</div>
          {hits.map((h) => (
            <button key={`${h.meeting_id}-${h.segment_idx}`} className="card hit" data-testid="search-hit" onClick={() => openMeeting(h.meeting_id, h.start_ms)}>
              <div className="hit-head">
                <span className="hit-title">{h.title}</span>
                <span className="ts">{mmss(h.start_ms)}</span>
              </div>
              <div className="hit-snippet">
                {snippetParts(h.snippet).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
              </div>
            </button>
          ))}
        </section>
      ) : (
        <>
          <div className="toolbar">
            <select aria-label={t("meeting.folder")} data-testid="folder-filter" value={folder} onChange={(e) => setFolder(e.target.value)}>
              <option value="">{t("library.allFolders")}</option>
              {folders.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
            <select aria-label={t("meeting.tags")} data-testid="tag-filter" value={tag} onChange={(e) => setTag(e.target.value)}>
              <option value="">{t("library.allTags")}</option>
              {tags.map((f) => (
                <option key={f} value={f}>
                  #{f}
                </option>
              ))}
            </select>
            <select aria-label={t("library.sort")} data-testid="sort-select" value={sort} onChange={(e) => setSort(e.target.value as SortKey)}>
              {(["newest", "oldest", "title", "longest"] as const).map((s) => (
                <option key={s} value={s}>
                  {t(`library.sort.${s}`)}
                </option>
              ))}
            </select>
            <span className="spacer" />
            {items && <span className="muted small">{t("library.count", { count: items.length })}</span>}
          </div>
          {items === null ? (
            <div className="muted">{t("common.loading")}</div>
          ) : items.length === 0 ? (
            <div className="empty card">
              <p>{t("library.empty")}</p>
              <div className="row">
                <button className="primary" onClick={() => navigate({ screen: "import" })}>
                  {t("import.add")}
                </button>
                <button onClick={() => navigate({ screen: "record" })}>{t("record.start")}</button>
              </div>
            </div>
          ) : (
            <ul className="meeting-list">
              {items.map((m) => (
                <li key={m.id} className="card meeting-row" data-testid="meeting-row" data-id={m.id}>
                  <button className="meeting-main" onClick={() => openMeeting(m.id)}>
                    <span className={`kind-dot ${m.source_kind}`} title={m.source_kind === "recorded" ? t("library.recorded") : t("library.imported")} aria-hidden>
                      <Icon name={m.source_kind === "recorded" ? "mic" : "import"} size={16} />
                    </span>
                    <span className="meeting-text">
                      <span className="meeting-title">{m.title}</span>
                      <span className="meeting-meta">
                        <span>{formatDate(m.created_ms, lang)}</span>
                        <span>· {mmss(m.duration_ms)}</span>
                        {m.folder && <span className="folder">· ▸ {m.folder}</span>}
                      </span>
                    </span>
                    <span className="meeting-tags">
                      {m.tags.map((tg) => (
                        <span key={tg} className="chip">
                          #{tg}
                        </span>
                      ))}
                      {m.has_notes && <span className="chip accent" data-testid="notes-badge">{t("library.notes")}</span>}
                    </span>
                  </button>
                  <button className="icon-btn danger-hover" data-testid="meeting-delete" aria-label={t("library.delete")} title={t("library.delete")} onClick={() => setToDelete(m)}>
                    <Icon name="trash" size={16} />
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {toDelete && (
        <ConfirmDialog title={t("library.deleteTitle", { title: toDelete.title })} body={t("library.deleteBody")} confirmLabel={t("common.delete")} danger onConfirm={() => void doDelete()} onCancel={() => setToDelete(null)} />
      )}
    </div>
  );
}
