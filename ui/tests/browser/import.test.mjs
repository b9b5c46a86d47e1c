import { test } from "node:test";
import assert from "node:assert/strict";
import { perLang, shots, waitText } from "./harness.mjs";

const status = (page, path) => page.locator(`[data-testid="queue-item"][data-path="${path}"]`).getAttribute("data-status");
async function waitStatus(page, path, want, timeout = 10000) {
  await page.waitForFunction(
    ([p, w]) => document.querySelector(`[data-testid="queue-item"][data-path="${p}"]`)?.getAttribute("data-status") === w,
    [path, want],
    { timeout },
  );
}

test("import: drop files → batch queue with progress, failure, cancel, retry, open", (t) =>
  perLang(t, "import", {}, async (page, lang) => {
    // A native Tauri drop event (the mock emits the same "tauri://drag-drop" event the webview does).
    await page.evaluate(() => window.__tingjiMock.drop(["/media/jfk.wav", "/media/broken.mp3", "/media/slow-long.m4a"]));
    await page.getByTestId("queue-item").first().waitFor();
    assert.equal(await page.getByTestId("queue-item").count(), 3);
    // and the end-to-end hook calls the same function
    await page.evaluate(() => window.__tingji.importPaths(["/media/flaky.m4a"]));
    assert.equal(await page.getByTestId("queue-item").count(), 4);

    // progress with stage + ETA shows while running
    await waitStatus(page, "/media/slow-long.m4a", "running");
    await waitText(page, '[data-path="/media/slow-long.m4a"] [data-testid="queue-stage"]', (s) => /%/.test(s) && /(left|剩)/.test(s));
    const bar = page.locator('[data-path="/media/slow-long.m4a"] [role="progressbar"]');
    assert.ok(Number(await bar.getAttribute("aria-valuenow")) >= 0);

    // one fails with its error, the others continue
    await waitStatus(page, "/media/broken.mp3", "failed");
    const err = await page.locator('[data-path="/media/broken.mp3"] [data-testid="queue-error"]').textContent();
    assert.match(err, /unsupported_format/);
    assert.match(err, /no audio stream/);
    await waitStatus(page, "/media/jfk.wav", "done");
    await waitStatus(page, "/media/flaky.m4a", "failed");
    await shots(page, "import", lang);

    // cancel the long one
    await page.locator('[data-path="/media/slow-long.m4a"] [data-testid="queue-cancel"]').click();
    await waitStatus(page, "/media/slow-long.m4a", "cancelled");

    // retry the flaky one: it succeeds on the second attempt
    await page.locator('[data-path="/media/flaky.m4a"] [data-testid="queue-retry"]').click();
    await waitStatus(page, "/media/flaky.m4a", "done");
    assert.equal(await status(page, "/media/broken.mp3"), "failed");

    // a folder path becomes one row per file
    await page.getByTestId("import-paths").fill("/media/folder/");
    await page.getByTestId("import-add").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-item"]').length === 6);

    // done → Open
    await page.locator('[data-path="/media/jfk.wav"] [data-testid="queue-open"]').click();
    await waitText(page, '[data-testid="meeting-title"]', (s) => s.includes("jfk"));
  }));
