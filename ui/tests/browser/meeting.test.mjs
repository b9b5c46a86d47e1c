import { test } from "node:test";
import assert from "node:assert/strict";
import { perLang, shots, waitText } from "./harness.mjs";

const POS = '[data-testid="player-position"]';
const pos = (page) => page.locator(POS).textContent();

async function openMeeting(page, title) {
  await page.getByTestId("meeting-row").filter({ hasText: title }).locator(".meeting-main").click();
  await page.getByTestId("transcript").waitFor();
}

test("meeting view: words seek, keyboard, speed, waveform, edit, marks, speakers, notes", (t) =>
  perLang(t, "meeting", {}, async (page, lang) => {
    await openMeeting(page, "JFK");
    assert.equal(await pos(page), "00:00");
    // word click → player position changes (works without a sound card)
    const word = page.locator('[data-testid="word"]', { hasText: "country" }).last();
    const ms = Number(await word.getAttribute("data-start-ms"));
    await word.click();
    await waitText(page, POS, (s) => s === `00:${String(Math.floor(ms / 1000)).padStart(2, "0")}`);
    assert.equal(await page.locator('[data-testid="segment"][data-current="true"]').getAttribute("data-idx"), "2");
    // keyboard ← / → ±5 s
    await page.locator("body").click({ position: { x: 600, y: 780 } });
    await page.keyboard.press("ArrowLeft");
    await waitText(page, POS, (s) => s === `00:${String(Math.floor((ms - 5000) / 1000)).padStart(2, "0")}`);
    // waveform click seeks (start of the canvas)
    const wf = page.getByTestId("waveform");
    const box = await wf.boundingBox();
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
    await waitText(page, POS, (s) => s === "00:05");
    // space plays (the fallback clock advances when no audio device exists), space pauses
    await page.getByTestId("speed-select").selectOption("2");
    await page.keyboard.press(" ");
    await waitText(page, POS, (s) => s >= "00:07");
    await page.keyboard.press(" ");
    await shots(page, "meeting", lang);

    // edit a segment
    await page.getByTestId("segment").first().hover();
    await page.getByTestId("segment-edit").first().click();
    await page.getByTestId("segment-editor").fill("And so, my fellow Americans:");
    await page.getByTestId("segment-save").click();
    await waitText(page, '[data-testid="segment"]', (s) => s.includes("And so, my fellow Americans:"));
    // add a mark
    await page.getByTestId("segment").nth(2).hover();
    await page.getByTestId("add-mark-question").nth(2).click();
    await page.locator('[data-testid="segment"][data-idx="2"] [data-testid="segment-mark"]').waitFor();
    // rename the meeting inline
    await page.getByTestId("meeting-title").click();
    await page.getByTestId("title-input").fill("JFK — 1961");
    await page.getByTestId("title-input").press("Enter");
    await waitText(page, '[data-testid="meeting-title"]', (s) => s.includes("JFK — 1961"));
    // versions
    await page.getByTestId("version-select").selectOption("10");
    assert.equal(await page.getByTestId("version-select").inputValue(), "10");
    // speakers rename
    await page.getByTestId("speakers-panel").locator("summary").click();
    await page.getByTestId("speaker-name").first().fill("JFK");
    await page.getByTestId("speaker-name").first().press("Enter");
    await waitText(page, '[data-testid="segment"] .speaker-tag', (s) => s === "JFK");

    // bilingual transcript from the notes' translation
    await page.getByTestId("bilingual-toggle").check();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="segment-translation"]').length === 3);
    assert.match(await page.getByTestId("segment-translation").nth(1).textContent(), /不要问/);

    // my notes save (debounced)
    await page.getByTestId("pane-mine").click();
    await page.getByTestId("user-notes").fill("# Takeaway\nServe.");
    await waitText(page, '[data-testid="user-notes-state"]', (s) => s === (lang === "zh" ? "已保存" : "Saved"));
    const saved = await page.evaluate(() => window.__tingjiMock.state.meetings.find((m) => m.id === 1).user_notes);
    assert.equal(saved, "# Takeaway\nServe.");
    await page.getByTestId("pane-notes").click();

    // re-transcribe a range (select text in the transcript first)
    await page.evaluate(() => {
      const words = document.querySelectorAll('[data-testid="word"]');
      const r = document.createRange();
      r.setStart(words[3].firstChild, 0);
      r.setEnd(words[8].firstChild, 2);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      document.querySelector('[data-testid="transcript"]').dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
    });
    await page.getByTestId("retranscribe-open").click();
    await page.getByTestId("retranscribe-dialog").waitFor();
    await shots(page, "retranscribe", lang);
    await page.getByTestId("retranscribe-run").click();
    await page.getByTestId("retranscribe-progress").waitFor();
    await page.getByTestId("retranscribe-dialog").waitFor({ state: "detached", timeout: 8000 });
    const retr = await page.evaluate(() => window.__tingjiMock.state.calls.filter((c) => c.cmd === "retranscribe").pop().args.range);
    assert.ok(retr && retr.start_ms < retr.end_ms, JSON.stringify(retr));
  }));

test("AI notes: every tab renders, chapters seek, actions, ask citations, generate streaming, export", (t) =>
  perLang(t, "notes", {}, async (page, lang) => {
    await openMeeting(page, lang === "zh" ? "产品周会" : "JFK");
    const tabs = ["summary", "key_points", "keywords", "decisions", "chapters", "speakers", "qa", "actions", "mind_map", "translation"];
    for (const k of tabs) {
      await page.getByTestId(`notes-tab-${k}`).click();
      const body = page.getByTestId(`notes-body-${k}`);
      await body.waitFor();
      const txt = await body.textContent();
      assert.ok(txt.length > 5, `${k} empty`);
      assert.ok(!txt.includes("Not generated") && !txt.includes("尚未生成"), `${k} not generated`);
      if (k === "mind_map" || k === "chapters" || k === "translation" || k === "actions") await shots(page, `notes-${k}`, lang);
    }
    // mind map at most 4 levels
    await page.getByTestId("notes-tab-mind_map").click();
    const depths = await page.locator('[data-testid="mind-node"]').evaluateAll((ns) => ns.map((n) => Number(n.dataset.depth)));
    assert.ok(Math.max(...depths) <= 4);
    // chapter click seeks
    await page.getByTestId("notes-tab-chapters").click();
    const ch = page.getByTestId("chapter").nth(1);
    const chMs = Number(await ch.getAttribute("data-ms"));
    await ch.click();
    const mm = (ms) => `${String(Math.floor(ms / 60000)).padStart(2, "0")}:${String(Math.floor((ms % 60000) / 1000)).padStart(2, "0")}`;
    await waitText(page, POS, (s) => s === mm(chMs));
    // actions checklist
    await page.getByTestId("notes-tab-actions").click();
    await page.getByTestId("action-check").first().check();
    await page.waitForFunction(() => document.querySelector('[data-testid="action-item"]')?.classList.contains("done"));
    // ask → answer with citations → click seeks
    await page.getByTestId("notes-tab-ask").click();
    await page.getByTestId("ask-input").fill(lang === "zh" ? "会上决定了什么？" : "What does he ask of citizens?");
    await page.getByTestId("ask-send").click();
    await page.getByTestId("ask-answer").waitFor();
    await shots(page, "notes-ask", lang);
    const cite = page.locator('[data-testid="ask-answer"] [data-testid="citation"]').last();
    const citeMs = Number(await cite.getAttribute("data-ms"));
    await page.getByTestId("chapter").count();
    await cite.click();
    await waitText(page, POS, (s) => s === mm(citeMs));

    // regenerate with a template: streaming text + stage, then done
    await page.getByTestId("notes-template").selectOption("standup");
    await page.getByTestId("notes-generate").click();
    await page.getByTestId("notes-stream").waitFor();
    await waitText(page, '[data-testid="notes-job"]', (s) => /notes \d\/9/.test(s));
    await shots(page, "notes-generating", lang);
    await page.getByTestId("notes-job").waitFor({ state: "detached", timeout: 10000 });
    await page.getByTestId("notes-tab-summary").click();
    await page.getByTestId("notes-body-summary").waitFor();

    // export dialog → formats + sections → result path
    await page.getByTestId("export-open").click();
    await page.getByTestId("export-dialog").waitFor();
    await page.getByTestId("export-format").selectOption("docx");
    await page.getByTestId("export-section-timestamps").uncheck();
    assert.equal(await page.getByTestId("export-path").inputValue(), "/home/user/.local/share/tingji");
    await page.getByTestId("export-run").click();
    await waitText(page, '[data-testid="export-result"]', (s) => s.includes(".docx"));
    await shots(page, "export", lang);
    const req = await page.evaluate(() => window.__tingjiMock.state.calls.filter((c) => c.cmd === "export_meeting").pop().args.request);
    assert.equal(req.format, "docx");
    assert.ok(req.without.includes("timestamps"));
    assert.ok(req.with.includes("summary"));
    // an export error is shown, not swallowed
    await page.getByTestId("export-path").fill("relative/dir");
    await page.getByTestId("export-run").click();
    await waitText(page, '[data-testid="toast-error"]', (s) => s.includes("invalid_path"));
  }));
