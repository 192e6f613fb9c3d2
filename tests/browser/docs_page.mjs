// docs_page.mjs - opens a service's API docs page in headless Chromium (Debian's package, driven by
// puppeteer-core) and uses it as a person would: waits for the operation list, expands an
// operation, clicks "Try it out" and "Execute", and expects a 200 whose JSON is not empty.
//
//   node docs_page.mjs --page URL --op PATH [--min-items N] [--shot FILE] [--token-env NAME] [--page URL ...]
//
// --page  the docs page, e.g. http://127.0.0.1:8000/docs or http://127.0.0.1:8080/catalog/docs
// --op    the GET operation to run, as the document names it (/books, /orders)
// --min-items  the answer's list must hold at least N entries (default 1)
// --shot  where to save a full-page screenshot after the answer arrived (a test artifact)
// --token-env  the environment variable holding a bearer token: before "Try it out" the token is
//         entered in the page's Authorize dialog, as a person would, and the call must carry it
//
// Chromium runs with --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1": every host but
// 127.0.0.1 fails to resolve, so a page that needs a CDN (or any other site) shows nothing and the
// check fails. Any request off 127.0.0.1, failed request, 4xx/5xx answer, console error (CSP
// violations included) or page exception also fails it. CHROMIUM overrides the browser binary.
// Exits 0 when every page passed, 1 otherwise (one PASS/FAIL line per step).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const TIMEOUT_MS = 30000;

function parseArgs(argv) {
  const pages = [];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--page') pages.push({ url: value, op: null, shot: null, minItems: 1, token: null });
    else if (pages.length === 0) throw new Error(`${flag} before --page`);
    else if (flag === '--op') pages[pages.length - 1].op = value;
    else if (flag === '--shot') pages[pages.length - 1].shot = value;
    else if (flag === '--min-items') pages[pages.length - 1].minItems = Number(value);
    else if (flag === '--token-env') {
      pages[pages.length - 1].token = process.env[value];
      if (!pages[pages.length - 1].token) throw new Error(`--token-env: ${value} is empty`);
    }
    else throw new Error(`unknown argument ${flag}`);
  }
  if (pages.length === 0 || pages.some((p) => !p.op)) {
    throw new Error('usage: docs_page.mjs --page URL --op PATH [--shot FILE] ...');
  }
  return pages;
}

function browserPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  // Debian's /usr/bin/chromium is a shell wrapper; the binary itself is steadier to drive.
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium']) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error('chromium not found (apt-get install chromium)');
}

// Runs one page; returns the list of problems (empty = passed).
async function checkPage(browser, spec) {
  const problems = [];
  const page = await browser.newPage();
  const base = new URL(spec.url);
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.setViewport({ width: 1280, height: 900 });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.hostname !== base.hostname) {
      problems.push(`request off ${base.hostname}: ${r.url()}`);
    }
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page exception: ${e.message}`));

  try {
    const res = await page.goto(spec.url, { waitUntil: 'load' });
    if (!res || res.status() !== 200) throw new Error(`page answered ${res ? res.status() : 'nothing'}`);
    // The operation list: Swagger UI renders one .opblock per operation.
    await page.waitForSelector('.opblock .opblock-summary-path');
    const count = await page.$$eval('.opblock', (els) => els.length);
    console.log(`PASS  ${spec.url}: operation list rendered (${count} operations)`);

    if (spec.token) {
      // The Authorize dialog: the bearer scheme's value field, "Authorize", then "Close".
      await (await page.waitForSelector('.auth-wrapper button.authorize')).click();
      const input = await page.waitForSelector('.modal-ux .auth-container input');
      await input.type(spec.token);
      await (await page.waitForSelector('.modal-ux .auth-btn-wrapper button.authorize')).click();
      await (await page.waitForSelector('.modal-ux .auth-btn-wrapper button.btn-done')).click();
      console.log(`PASS  ${spec.url}: bearer token entered in the Authorize dialog`);
    }
    const block = (await page.waitForFunction((op) => {
      for (const b of document.querySelectorAll('.opblock.opblock-get')) {
        const p = b.querySelector('.opblock-summary-path');
        if (p && (p.getAttribute('data-path') || p.textContent.trim()) === op) return b;
      }
      return null;
    }, {}, spec.op)).asElement();
    // Expand it (the summary is a button in Swagger UI 5).
    const summary = (await block.$('.opblock-summary-control')) || (await block.$('.opblock-summary'));
    await summary.click();
    const tryOut = await block.waitForSelector('button.try-out__btn');
    await tryOut.click();
    const execute = await block.waitForSelector('button.execute');
    // "Try it out" fills the parameters with the document's examples (an ISBN, a price range...):
    // empty them, as a person asking for the plain list does.
    for (const input of await block.$$('.parameters input')) {
      const type = await input.evaluate((e) => e.type);
      if (type !== 'text' && type !== 'number' && type !== '') continue;
      await input.focus();
      await page.keyboard.down('Control');
      await page.keyboard.press('KeyA');
      await page.keyboard.up('Control');
      await page.keyboard.press('Backspace');
    }
    // The call "Try it out" makes: GET <api root><op> on this origin.
    const answer = page.waitForResponse((r) => r.request().method() === 'GET' &&
      new URL(r.url()).pathname.endsWith(spec.op) && r.request().resourceType() === 'fetch');
    await execute.click();
    const r = await answer;
    const body = await r.json();
    // A list answer: an array, or a page object holding one ({"total": n, "books": [...]}).
    const items = Array.isArray(body) ? body : Object.values(body || {}).find(Array.isArray);
    if (r.status() !== 200) throw new Error(`GET ${spec.op} answered ${r.status()}`);
    if (spec.token && r.request().headers().authorization !== `Bearer ${spec.token}`) {
      throw new Error(`GET ${spec.op} did not carry the authorized bearer token`);
    }
    if (!Array.isArray(items)) throw new Error(`GET ${spec.op}: no list in ${JSON.stringify(body).slice(0, 200)}`);
    // The page shows the answer too: its live response table names the status.
    await block.waitForSelector('.live-responses-table tr.response .response-col_status');
    const shown = await block.$eval('.live-responses-table tr.response .response-col_status', (e) => e.textContent.trim());
    if (!shown.startsWith('200')) throw new Error(`the page shows status ${shown}`);
    if (items.length < spec.minItems) throw new Error(`${items.length} items, want at least ${spec.minItems}`);
    console.log(`PASS  ${spec.url}: GET ${new URL(r.url()).pathname} via "Try it out" -> 200 with ${items.length} items`);
  } catch (e) {
    problems.push(e.message);
  }
  if (spec.shot) {
    fs.mkdirSync(path.dirname(spec.shot), { recursive: true });
    await page.screenshot({ path: spec.shot, fullPage: true }).catch((e) => problems.push(`screenshot: ${e.message}`));
    console.log(`INFO  screenshot: ${spec.shot}`);
  }
  await page.close();
  return problems;
}

async function main() {
  let pages;
  try {
    pages = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    return 2;
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: browserPath(),
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  let failed = 0;
  try {
    for (const spec of pages) {
      const problems = await checkPage(browser, spec);
      for (const p of problems) console.log(`FAIL  ${spec.url}: ${p}`);
      if (problems.length) failed++;
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
