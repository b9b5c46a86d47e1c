import { useState } from "react";
import { commands, type TimeRange } from "../bindings";
import { useApp } from "../context";
import { useT } from "../i18n";
import { call, jobChannel } from "../lib/call";
import { mmss } from "../lib/format";
import { Choice, Field, LANGS, Modal, ModelChoice, Progress } from "./ui";

export function RetranscribeDialog({ meetingId, selection, onClose, onDone }: { meetingId: number; selection: TimeRange | null; onClose: () => void; onDone: () => void }) {
  const t = useT();
  const { info, settings } = useApp();
  const [model, setModel] = useState(settings.file_model ?? "");
  const [language, setLanguage] = useState(settings.language || "auto");
  const [useRange, setUseRange] = useState(selection !== null);
  const [job, setJob] = useState<{ jobId: number | null; stage: string; fraction: number | null; eta: number | null } | null>(null);

  const run = async () => {
    setJob({ jobId: null, stage: "", fraction: null, eta: null });
    const ch = jobChannel((e) => setJob({ jobId: e.job_id, stage: e.stage, fraction: e.fraction, eta: e.eta_ms }), () => setJob(null), onDone);
    const r = await call(commands.retranscribe(meetingId, { model: model || null, language: language === "auto" ? null : language }, useRange ? selection : null, ch));
    if (r === undefined) setJob(null);
    else setJob((j) => (j ? { ...j, jobId: r.job_id } : j));
  };

  return (
    <Modal
      title={t("retr.title")}
      onClose={job ? undefined : onClose}
      testId="retranscribe-dialog"
      footer={
        job ? (
          <button onClick={() => job.jobId !== null && void call(commands.cancelJob(job.jobId))}>{t("common.cancel")}</button>
        ) : (
          <>
            <button onClick={onClose}>{t("common.cancel")}</button>
            <button className="primary" data-testid="retranscribe-run" onClick={() => void run()}>
              {t("retr.run")}
            </button>
          </>
        )
      }
    >
      <Field label={t("retr.model")}>
        <ModelChoice testId="retranscribe-model" value={model} onChange={setModel} models={info.whisper_models.map((m) => m.name)} disabled={!!job} />
      </Field>
      <Field label={t("retr.language")}>
        <Choice value={language} onChange={setLanguage} options={LANGS.map((l) => ({ value: l, label: t(`lang.${l}`) }))} disabled={!!job} />
      </Field>
      {selection ? (
        <label className="check">
          <input type="checkbox" checked={useRange} onChange={(e) => setUseRange(e.target.checked)} disabled={!!job} />
          {t("retr.range")} ({mmss(selection.start_ms)}–{mmss(selection.end_ms)})
        </label>
      ) : (
        <p className="muted small">{t("retr.rangeNone")}</p>
      )}
      {job && (
        <div data-testid="retranscribe-progress">
          <Progress fraction={job.fraction} />
          <span className="muted small">
            {job.stage}
            {job.eta !== null && ` · ${t("common.eta", { time: mmss(job.eta) })}`}
          </span>
        </div>
      )}
    </Modal>
  );
}
