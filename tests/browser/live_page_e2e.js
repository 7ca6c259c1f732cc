// The live page at GET / in headless Chromium against a real ledgerd --dev:
// transactions posted with ledgerctl appear in order; after the node stops
// and restarts on the same data directory and ports, the page resumes after
// the last transaction it showed and shows what was committed meanwhile,
// each once; a filter shows only what
// matches, and a filter the stream refuses shows the stream's message.
//
// Environment: LEDGERD and LEDGERCTL (the binaries), LEDGERD_BROWSER_ARTIFACTS
// (where the screenshots go), CHROMIUM (default /usr/bin/chromium).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const LEDGERD = process.env.LEDGERD;
const LEDGERCTL = process.env.LEDGERCTL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.LEDGERD_BROWSER_ARTIFACTS || path.join(os.tmpdir(), 'ledgerd-browser');
// Waits for conditions, never for time: generous, so a loaded machine
// is slow rather than failing.
const WAIT = { timeout: 90_000 };

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ledgerd-browser-'));
const dataDir = path.join(work, 'data');
let httpPort;
let wsPort;
let node;
let context;
let page;
const pageProblems = []; // script errors and Content-Security-Policy refusals

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

// Starts ledgerd --dev on `dataDir` and waits until its HTTP API answers.
async function startNode(streamPort, {
  advertised = `ws://127.0.0.1:${streamPort}/api/v1/streams/valid_transactions`, extraArgs = [],
} = {}) {
  const args = [
    '--dev', '--data-dir', dataDir,
    '--http-addr', `127.0.0.1:${httpPort}`,
    '--ws-addr', `127.0.0.1:${streamPort}`,
    '--advertised-ws-url', advertised,
    ...extraArgs,
  ];
  const child = spawn(LEDGERD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + WAIT.timeout;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/health`)).ok) {
        return { child, exited, log: () => log };
      }
    } catch (error) { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`ledgerd did not start:\n${log}`);
}

// SIGTERM, and a clean exit.
async function stopNode(running) {
  running.child.kill('SIGTERM');
  const { code } = await running.exited;
  assert.equal(code, 0, running.log());
}

function ledgerctl(...args) {
  return execFileSync(LEDGERCTL, args, { encoding: 'utf8' });
}

function keygen(name) {
  const file = path.join(work, `${name}.json`);
  fs.writeFileSync(file, ledgerctl('keygen'));
  return { file, publicKey: JSON.parse(fs.readFileSync(file, 'utf8')).public_key };
}

let txCount = 0;

// Signs a transaction with ledgerctl, posts it with mode=commit and returns
// its file and id.
function commit(kind, ...args) {
  const file = path.join(work, `tx${++txCount}.json`);
  fs.writeFileSync(file, ledgerctl(kind, ...args));
  ledgerctl('post', '--url', `http://127.0.0.1:${httpPort}`, '--mode', 'commit', file);
  return { file, id: JSON.parse(fs.readFileSync(file, 'utf8')).id };
}

// The transaction ids on the page in commit order (the page lists the
// newest block first, a block's transactions in block order).
function idsOnPage() {
  return page.evaluate(() => [...document.querySelectorAll('#blocks > .block')]
    .reverse()
    .flatMap((block) => [...block.querySelectorAll('.tx')].map((tx) => tx.dataset.id)));
}

async function waitForIds(ids) {
  await page.waitForFunction(
    (wanted) => wanted.every((id) => document.querySelector(`.tx[data-id="${id}"]`)), ids, WAIT);
}

function waitForState(state) {
  return page.waitForFunction(
    (wanted) => document.getElementById('connection').dataset.state === wanted, state, WAIT);
}

let alice;
let bob;
let create;
let transfer;
let bobsCreate;
let bicycleBack; // bob's transfer of the bicycle back to alice

before(async () => {
  assert.ok(LEDGERD && LEDGERCTL, 'set LEDGERD and LEDGERCTL');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  httpPort = await freePort();
  wsPort = await freePort();
  node = await startNode(wsPort);
  alice = keygen('alice');
  bob = keygen('bob');

  context = await chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    // The wss:// test's stream has a certificate made on the spot.
    ignoreHTTPSErrors: true,
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) pageProblems.push(message.text());
  });
});

after(async () => {
  if (context) await context.close();
  if (node && node.child.exitCode === null) node.child.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

test('the page is served at / to a browser and connects to the advertised stream', async () => {
  const response = await page.goto(`http://127.0.0.1:${httpPort}/`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /^text\/html/);
  assert.match(response.headers()['content-security-policy'], new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${wsPort} `));
  await waitForState('open');
  const streamUrl = await page.textContent('#stream-url');
  assert.ok(streamUrl.startsWith(`ws://127.0.0.1:${wsPort}/api/v1/streams/valid_transactions?from_height=`), streamUrl);
});

test('committed transactions appear in order, linked to their JSON', async () => {
  create = commit('create', '--key-file', alice.file, '--asset', '{"name":"bicycle"}');
  transfer = commit('transfer', '--key-file', alice.file, '--spend', `${create.file}:0`, '--output', bob.publicKey);
  bobsCreate = commit('create', '--key-file', bob.file, '--asset', '{"name":"kayak"}', '--metadata', '{"note":"<b>not html</b>"}');
  const ids = [create.id, transfer.id, bobsCreate.id];
  await waitForIds(ids);
  assert.deepEqual(await idsOnPage(), ids);

  const rows = await page.$$eval('.tx', (txs) => txs.map((tx) => ({
    id: tx.dataset.id,
    operation: tx.querySelector('.op').textContent,
    href: tx.querySelector('a.tx-id').getAttribute('href'),
    asset: tx.querySelector('a.asset-id').textContent,
  })));
  const byId = Object.fromEntries(rows.map((row) => [row.id, row]));
  assert.equal(byId[create.id].operation, 'CREATE');
  assert.equal(byId[transfer.id].operation, 'TRANSFER');
  assert.equal(byId[transfer.id].asset, create.id);
  // Each link gives the transaction's JSON from the HTTP API.
  const linked = await page.evaluate(async (href) => (await fetch(href)).json(), byId[transfer.id].href);
  assert.equal(linked.id, transfer.id);

  const tip = (await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json()).height;
  await page.waitForFunction((height) => document.getElementById('latest-height').textContent === String(height), tip, WAIT);
  assert.equal(await page.textContent('#tx-count'), '3');
  assert.ok(await page.$$eval('#chart rect.bar', (bars) => bars.length) >= 1);
});

test('the look-up form shows a transaction, an asset history and outputs', async () => {
  const lookUp = async (kind, value) => {
    await page.selectOption('#lookup-kind', kind);
    await page.fill('#lookup-value', value);
    await page.click('#lookup-submit');
    await page.waitForFunction(() => /^\d{3} /.test(document.getElementById('lookup-status').textContent), null, WAIT);
    return JSON.parse(await page.textContent('#lookup-result'));
  };
  assert.equal((await lookUp('transaction', transfer.id)).id, transfer.id);
  assert.deepEqual((await lookUp('asset', create.id)).map((tx) => tx.id), [create.id, transfer.id]);
  // Data is shown as text, never parsed as HTML.
  assert.equal((await lookUp('transaction', bobsCreate.id)).metadata.note, '<b>not html</b>');
  assert.equal(await page.$('#lookup-result b'), null);
  assert.deepEqual(await lookUp('outputs', bob.publicKey), [
    { output_index: 0, transaction_id: transfer.id },
    { output_index: 0, transaction_id: bobsCreate.id },
  ]);
});

test('after a restart the page resumes after the last transaction it showed, and shows what was committed meanwhile, once', async () => {
  await stopNode(node);
  await page.waitForFunction(() => document.getElementById('connection').dataset.state !== 'open', null, WAIT);

  // Committed while the page cannot see the stream: the node runs on the
  // same data directory with its stream on another port, so these reach
  // the page only by resuming after the last transaction it showed.
  const offline = await startNode(await freePort());
  bicycleBack = commit('transfer', '--key-file', bob.file, '--spend', `${transfer.file}:0`, '--output', alice.publicKey);
  const meanwhile = [bicycleBack, commit('create', '--key-file', alice.file, '--asset', '{"name":"tandem"}')];
  await stopNode(offline);
  assert.notEqual(await page.getAttribute('#connection', 'data-state'), 'open');

  node = await startNode(wsPort);
  await waitForState('open');
  assert.equal(await page.textContent('#stream-url'),
    `ws://127.0.0.1:${wsPort}/api/v1/streams/valid_transactions?after_transaction_id=${bobsCreate.id}`);
  await waitForIds(meanwhile.map((tx) => tx.id));
  const live = commit('create', '--key-file', bob.file, '--asset', '{"name":"canoe"}');
  await waitForIds([live.id]);
  assert.deepEqual(await idsOnPage(),
    [create.id, transfer.id, bobsCreate.id, ...meanwhile.map((tx) => tx.id), live.id]);
  assert.equal(await page.textContent('#tx-count'), '6');

  await page.screenshot({ path: path.join(ARTIFACTS, 'page.png'), fullPage: true });
});

test('the page fits a phone-width screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.getAttribute('class')}`));
  assert.ok(overflow <= 0, `wider than the screen by ${overflow}px: ${wide.join(', ')}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('a filter shows only matching transactions, replayed and live', async () => {
  // The bicycle's history from the first block, then live.
  await page.fill('#filter-asset-id', create.id);
  await page.fill('#filter-from-height', '1');
  await page.click('#filter-apply');
  await waitForState('open');
  const history = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/transactions?asset_id=${create.id}`)).json())
    .map((tx) => tx.id);
  assert.equal(history.length, 3);
  await waitForIds(history);

  // An unrelated block first, then the bicycle's: once the second is shown
  // the first has been passed over.
  const unrelated = commit('create', '--key-file', alice.file, '--asset', '{"name":"scooter"}');
  const matching = commit('transfer', '--key-file', alice.file, '--spend', `${bicycleBack.file}:0`, '--output', bob.publicKey);
  await waitForIds([matching.id]);
  assert.deepEqual(await idsOnPage(), [...history, matching.id]);
  assert.equal(await page.$(`.tx[data-id="${unrelated.id}"]`), null);
  assert.match(page.url(), new RegExp(`\\?asset_id=${create.id}&from_height=1$`));
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-filtered.png'), fullPage: true });
});

test('a filter the stream refuses shows the stream\'s message', async () => {
  await page.fill('#filter-asset-id', 'NOT-AN-ASSET');
  await page.fill('#filter-from-height', '');
  await page.click('#filter-apply');
  await waitForState('refused');
  assert.equal(await page.isVisible('#filter-error'), true);
  assert.equal(await page.textContent('#filter-error'),
    "The stream refused the filter: asset_id must be 64 lower-case hexadecimal digits, got 'NOT-AN-ASSET'");

  await page.click('#filter-clear');
  await waitForState('open');
  assert.equal(await page.isVisible('#filter-error'), false);
});

test('behind a TLS proxy the page follows the advertised wss:// URL, not its own host', async (t) => {
  const cert = path.join(work, 'stream-cert.pem');
  const key = path.join(work, 'stream-key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  } catch (error) {
    t.skip('no openssl to make a certificate with');
    return;
  }
  await stopNode(node);
  // As behind a proxy: the advertised host is not the one the page is
  // loaded from, and the scheme is wss.
  const advertised = `wss://localhost:${wsPort}/api/v1/streams/valid_transactions`;
  node = await startNode(wsPort, { advertised, extraArgs: ['--ws-tls-cert', cert, '--ws-tls-key', key] });
  const response = await page.goto(`http://127.0.0.1:${httpPort}/`);
  assert.match(response.headers()['content-security-policy'],
    new RegExp(`connect-src 'self' wss://localhost:${wsPort} https://localhost:${wsPort};`));
  await waitForState('open');
  assert.ok((await page.textContent('#stream-url')).startsWith(`${advertised}?from_height=`));
  const tx = commit('create', '--key-file', alice.file, '--asset', '{"name":"glider"}');
  await waitForIds([tx.id]);
  assert.deepEqual(await idsOnPage(), [tx.id]);
});

test('nothing was refused by the Content-Security-Policy and no script failed', () => {
  assert.deepEqual(pageProblems, []);
});
