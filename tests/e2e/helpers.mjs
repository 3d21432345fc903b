// Shared helpers for the end-to-end tests: where the fapo binary and the workspace are, how to
// start `fapo mcp` over HTTP and learn its URL, and a raw line-based stdio peer for the tests
// that must send bytes no SDK client would.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

export function fapoBin() {
  const bin = process.env.FAPO_BIN;
  if (!bin) throw new Error('set FAPO_BIN to the built fapo executable');
  if (!existsSync(bin)) throw new Error(`FAPO_BIN=${bin} does not exist`);
  return resolve(bin);
}

// The environment handed to the server. Clients start servers with an explicit environment,
// so the tests do too (and nothing from the developer's shell leaks in).
export function serverEnv(extra = {}) {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp',
           SPDLOG_LEVEL: 'info', ...extra };
}

const kTenantId = /^[a-z0-9][a-z0-9_-]{0,63}$/;

// A private workspace: FAPO_WORKSPACE when set (used as is), otherwise a temporary copy of the
// repository's tenants/ plus one small fixture tenant, so a test never writes into the tree.
export function makeWorkspace() {
  if (process.env.FAPO_WORKSPACE) {
    return { dir: resolve(process.env.FAPO_WORKSPACE), cleanup() {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fapo-e2e-'));
  const tenants = join(dir, 'tenants');
  const source = join(repoRoot, 'tenants');
  if (existsSync(source)) cpSync(source, tenants, { recursive: true });
  mkdirSync(join(tenants, 'e2e_fixture'), { recursive: true });
  writeFileSync(join(tenants, 'e2e_fixture', 'tenant.json'), JSON.stringify({
    tenant_id: 'e2e_fixture',
    description: 'Fixture tenant of the end-to-end tests\u001b[31m with hidden\u200b bytes',
    scorer: { type: 'exact_match', field: 'answer' },
  }));
  return { dir, cleanup() { rmSync(dir, { recursive: true, force: true }); } };
}

// Tenant ids list_tenants should report for a workspace: directories with a valid id name
// that hold a tenant.json, sorted.
export function expectedTenantIds(workspace) {
  const tenants = join(workspace, 'tenants');
  if (!existsSync(tenants)) return [];
  return readdirSync(tenants, { withFileTypes: true })
    .filter((e) => e.isDirectory() && kTenantId.test(e.name) &&
                   existsSync(join(tenants, e.name, 'tenant.json')))
    .map((e) => e.name)
    .sort();
}

// Starts `fapo mcp --http 127.0.0.1:0` and resolves with its URL once it prints it.
export function startHttpServer(workspace, { extraArgs = [], env = {} } = {}) {
  const child = spawn(fapoBin(), ['mcp', '--workspace', workspace, '--http', '127.0.0.1:0',
                                  ...extraArgs],
                      { env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 10 s; stderr:\n${stderr}`)),
                             10000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const match = /fapo mcp listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolvePromise({
          url: match[1],
          child,
          stderr: () => stderr,
          stdout: () => stdout,
          stop: () => stopChild(child),
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fapo exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
}

export function stopChild(child) {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolvePromise({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolvePromise({ code, signal }));
    child.kill('SIGTERM');
  });
}

// A raw stdio peer: writes arbitrary bytes to `fapo mcp` and collects every stdout line.
export class RawStdioPeer {
  constructor(workspace, extraArgs = []) {
    this.child = spawn(fapoBin(), ['mcp', '--workspace', workspace, ...extraArgs],
                       { env: serverEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.stdout = '';
    this.stderr = '';
    this.waiters = [];
    this.exited = new Promise((resolvePromise) => {
      this.child.on('exit', (code, signal) => resolvePromise({ code, signal }));
    });
    this.child.stdout.on('data', (d) => { this.stdout += d; this.#wake(); });
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.child.stdin.on('error', () => {});  // writing after the server exited is expected
  }

  write(text) { this.child.stdin.write(text); }
  send(message) { this.write(JSON.stringify(message) + '\n'); }
  end() { this.child.stdin.end(); }

  // Complete stdout lines so far (a partial last line is not returned).
  lines() {
    const parts = this.stdout.split('\n');
    parts.pop();
    return parts;
  }

  // Waits until `count` complete lines have arrived.
  waitForLines(count, timeoutMs = 10000) {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        if (this.lines().length >= count) {
          clearTimeout(timer);
          resolvePromise(this.lines());
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => reject(new Error(
        `expected ${count} lines, got ${this.lines().length}:\n${this.stdout}\nstderr:\n${this.stderr}`)),
        timeoutMs);
      if (!check()) this.waiters.push(check);
    });
  }

  #wake() { this.waiters = this.waiters.filter((check) => !check()); }
}

export const kInitialize = (id = 1, version = '2025-11-25') => ({
  jsonrpc: '2.0', id, method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'e2e-raw', version: '1' } },
});
