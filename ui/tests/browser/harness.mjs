// Shared setup for the browser tests: serves ui/dist-mock over localhost and drives /usr/bin/chromium via playwright-core.
import { createServer } from "node:http";
import { readFile, mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, extname, normalize, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const UI = join(here, "..", "..");
const ROOT = join(UI, "dist-mock");
export const SHOTS = join(UI, "test-results", "browser");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json" };

export async function startServer() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let p = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
    if (p === "/" || p === "") p = "/index.html";
    try {
      const body = await readFile(join(ROOT, p));
      res.writeHead(200, { "content-type": TYPES[extname(p)] ?? "application/octet-stream", "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' asset:; connect-src 'self'" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return { server, base: `http://127.0.0.1:${port}/` };
}

export async function launch() {
  const userDataDir = await mkdtemp(join(tmpdir(), "tingji-chromium-"));
  // A fresh --user-data-dir (playwright passes it from here).
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens the mock app with settings from the query (lang, theme, onboarded, pending). */
export async function openApp(ctx, base, { lang = "zh", theme = "light", onboarded = true, pending = false, builtin = true } = {}) {
  const page = await ctx.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !/asset:\/\/|ERR_UNKNOWN_URL_SCHEME|Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  const q = new URLSearchParams({ lang, theme, onboarded: onboarded ? "1" : "0", pending: pending ? "1" : "0", builtin: builtin ? "1" : "0" });
  await page.goto(`${base}index.html?${q}`);
  await page.waitForSelector(onboarded ? '[data-testid="nav-library"]' : '[data-testid="onboarding"]');
  return { page, errors };
}

export async function shot(page, name) {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

export const LANGS = ["zh", "en"];
export const THEMES = ["light", "dark"];

/** Screenshots the current screen in light and dark (same page, theme switched through the root attribute). */
export async function shots(page, screen, lang) {
  const prev = await page.evaluate(() => document.documentElement.dataset.theme ?? null);
  for (const theme of THEMES) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.waitForTimeout(300);
    await shot(page, `${screen}-${lang}-${theme}`);
  }
  await page.evaluate((t) => {
    if (t) document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
  }, prev);
}

export const text = (page, testId) => page.getByTestId(testId).first().textContent();

/** Waits until the element's text satisfies `pred`. */
export async function waitText(page, selector, pred, timeout = 8000) {
  const start = Date.now();
  let last = null;
  while (Date.now() - start < timeout) {
    last = await page.locator(selector).first().textContent().catch(() => null);
    if (last !== null && pred(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(`timeout waiting for ${selector}; last text: ${last}`);
}

export const STR = {
  zh: { library: "资料库", import: "导入", record: "录音", settings: "设置", noHits: "没有找到", start: "开始使用", onbTitle: "欢迎使用听记", exportRun: "导出" },
  en: { library: "Library", import: "Import", record: "Record", settings: "Settings", noHits: "Nothing found", start: "Start", onbTitle: "Welcome to Tingji", exportRun: "Export" },
};

/** Runs `fn` once per UI language with a fresh page; fails on uncaught page errors. */
export function perLang(t, name, opts, fn) {
  return Promise.all([]).then(async () => {
    const { server, base } = await startServer();
    const ctx = await launch();
    try {
      for (const lang of LANGS) {
        await t.test(`${name} [${lang}]`, async () => {
          const { page, errors } = await openApp(ctx, base, { ...opts, lang });
          try {
            await fn(page, lang);
            if (errors.length) throw new Error(`page errors: ${errors.join(" | ")}`);
          } finally {
            await page.close();
          }
        });
      }
    } finally {
      await ctx.close();
      server.close();
    }
  });
}
