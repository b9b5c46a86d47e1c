import { useEffect, useState } from "react";
import { commands, type ExportFormatItem, type ExportResult } from "../bindings";
import { useApp } from "../context";
import { tryKey, useT } from "../i18n";
import { call } from "../lib/call";
import { formatBytes } from "../lib/format";
import { Field, Modal, Progress } from "./ui";

export function ExportDialog({ meetingId, onClose }: { meetingId: number; onClose: () => void }) {
  const t = useT();
  const { info } = useApp();
  const [formats, setFormats] = useState<ExportFormatItem[]>([]);
  const [format, setFormat] = useState("");
  const [checked, setChecked] = useState<Record<string, boolean>>({});
  const [path, setPath] = useState(info.data_dir);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ExportResult | null>(null);

  useEffect(() => {
    void call(commands.exportFormats()).then((f) => {
      if (!f) return;
      setFormats(f);
      const first = f[0];
      if (first) {
        setFormat(first.id);
        setChecked(Object.fromEntries(first.sections.map((s) => [s, true])));
      }
    });
  }, []);

  const current = formats.find((f) => f.id === format);
  const pick = (id: string) => {
    setFormat(id);
    setResult(null);
    const f = formats.find((x) => x.id === id);
    setChecked(Object.fromEntries((f?.sections ?? []).map((s) => [s, true])));
  };

  const run = async () => {
    if (!current) return;
    setBusy(true);
    setResult(null);
    const sections = current.sections;
    const r = await call(
      commands.exportMeeting(meetingId, {
        format: current.id,
        path: path.trim(),
        with: sections.filter((s) => checked[s]),
        without: sections.filter((s) => !checked[s]),
      }),
    );
    setBusy(false);
    if (r) setResult(r);
  };

  return (
    <Modal
      title={t("export.title")}
      onClose={onClose}
      testId="export-dialog"
      footer={
        <>
          <button onClick={onClose}>{t("common.close")}</button>
          <button className="primary" data-testid="export-run" onClick={() => void run()} disabled={busy || !current || !path.trim()}>
            {t("export.run")}
          </button>
        </>
      }
    >
      <Field label={t("export.format")}>
        <select data-testid="export-format" value={format} onChange={(e) => pick(e.target.value)}>
          {formats.map((f) => (
            <option key={f.id} value={f.id}>
              {f.id.toUpperCase()} (.{f.extension})
            </option>
          ))}
        </select>
      </Field>
      {current && current.sections.length > 0 && (
        <fieldset className="sections-box">
          <legend>{t("export.sections")}</legend>
          {current.sections.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" data-testid={`export-section-${s}`} checked={!!checked[s]} onChange={(e) => setChecked({ ...checked, [s]: e.target.checked })} />
              {tryKey(t, `export.section.${s}`, s)}
            </label>
          ))}
        </fieldset>
      )}
      <Field label={t("export.path")}>
        <input data-testid="export-path" value={path} onChange={(e) => setPath(e.target.value)} />
      </Field>
      {busy && (
        <div>
          <Progress fraction={null} />
          <span className="muted small">{t("export.running")}</span>
        </div>
      )}
      {result && (
        <p className="ok-text" data-testid="export-result">
          {t("export.result", { path: result.path, size: formatBytes(result.bytes) })}
        </p>
      )}
    </Modal>
  );
}
