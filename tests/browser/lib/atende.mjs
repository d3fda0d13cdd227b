// What every browser test needs: a real `atende serve --demo` on a free
// loopback port, an admin token for arranging data through the API, a static
// server standing in for a customer's website (another origin), and Debian's
// chromium. The binary is built once per run (npm test does it) and reused.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHTTPServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..', '..');
export const artifacts = join(here, '..', 'artifacts');

/** The desktop's catalogue for a language (web/src/i18n/LANG.json). */
export const catalogue = (lang) => JSON.parse(readFileSync(join(root, 'web', 'src', 'i18n', `${lang}.json`), 'utf8'));

/** Replaces {name} placeholders in a catalogue text. */
export const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

let built;

/**
 * The atende binary: $ATENDE_BIN, else built into tests/browser/.cache once
 * per test file (go build is incremental, and the binary embeds web/dist, so
 * a web build since the last run is always picked up).
 */
export function binary() {
  if (process.env.ATENDE_BIN) return process.env.ATENDE_BIN;
  if (!built) {
    built = join(here, '..', '.cache', 'atende');
    mkdirSync(dirname(built), { recursive: true });
    execFileSync('go', ['build', '-o', built, './cmd/atende'], { cwd: root, stdio: 'inherit' });
  }
  return built;
}

/**
 * Starts `atende serve --demo` in a fresh data directory. Resolves when it is
 * ready, with the demo users' password, an admin API token and helpers.
 */
export async function startAtende({ args = [] } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'atende-browser-'));
  const bin = binary();
  const data = join(tmp, 'data');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const proc = spawn(bin, ['serve', '--demo', '--data', data, '--addr', `127.0.0.1:${port}`, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr.on('data', (b) => (log += b));
  const password = await new Promise((resolve, reject) => {
    let out = '';
    let pw;
    const timer = setTimeout(() => reject(new Error('atende did not start:\n' + out + log)), 30_000);
    proc.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/Every demo user has the password[^\n]*\n\s*(\S+)/);
      if (m) pw = m[1];
      if (out.includes('atende is ready') && pw) {
        clearTimeout(timer);
        resolve(pw);
      }
    });
    proc.on('exit', (code) => reject(new Error(`atende exited with ${code}:\n${out}${log}`)));
  });
  const tokOut = execFileSync(bin, ['admin', 'create-token', '--data', data, '--tenant', 'demo', '--email', 'admin@demo.atende.local', '--name', 'browser-test'], {
    encoding: 'utf8',
  });
  const token = tokOut.match(/Bearer SECRET'\):\s*\n\s*(\S+)/)[1];

  /** Calls the API as the demo admin; throws with the problem on failure. */
  async function api(method, path, body, headers = {}) {
    const res = await fetch(base + '/api/v1' + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body: body && JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Every item of a paginated list. */
  async function all(path) {
    const items = [];
    let cursor = '';
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await api('GET', `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.items);
      if (!page.next_cursor) return items;
      cursor = page.next_cursor;
    }
  }

  async function stop() {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.on('exit', r));
    }
    rmSync(tmp, { recursive: true, force: true });
  }

  return { base, port, data, bin, password, token, api, all, stop, log: () => log };
}

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' };

/**
 * Serves a folder on another loopback port: a customer's website, a
 * different origin from atende. Files may use {{ATENDE}} for atende's base
 * URL and {{WIDGET}} for a widget id, filled in from vars.
 */
export async function startSite(folder, vars) {
  const port = await freePort();
  const server = createHTTPServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(folder, path === '/' ? 'index.html' : path);
    if (!file.startsWith(folder) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    let body = readFileSync(file);
    if (extname(file) === '.html') body = body.toString('utf8').replace(/\{\{(\w+)\}\}/g, (m, k) => vars[k] ?? m);
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Debian's chromium, headless. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Clears and creates the artifacts folder once per run. */
export function artifactsDir() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

/** A throw-away folder removed at exit. */
export function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'atende-site-'));
  process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Polls fn until it returns something truthy (the server works asynchronously). */
export async function until(what, fn, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
