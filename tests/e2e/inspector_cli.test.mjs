// The MCP Inspector's CLI mode (a client nobody here wrote) lists and calls fapo's tools over
// stdio.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { expectedTenantIds, fapoBin, makeWorkspace, serverEnv } from './helpers.mjs';

const run = promisify(execFile);
const inspector = join(dirname(fileURLToPath(import.meta.url)), 'node_modules', '.bin',
                       'mcp-inspector');

// Runs the inspector CLI against `fapo mcp` and parses the JSON it prints on stdout.
async function inspect(workspace, ...args) {
  const { stdout } = await run(inspector,
                               ['--cli', fapoBin(), 'mcp', '--workspace', workspace, ...args],
                               { env: { ...process.env, ...serverEnv() }, timeout: 60000 });
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}

describe('MCP Inspector CLI over stdio', () => {
  let workspace;
  before(() => { workspace = makeWorkspace(); });
  after(() => workspace.cleanup());

  test('tools/list shows list_tenants with its input schema', async () => {
    const { tools } = await inspect(workspace.dir, '--method', 'tools/list');
    const tool = tools.find((t) => t.name === 'list_tenants');
    assert.ok(tool, JSON.stringify(tools));
    assert.equal(tool.inputSchema.type, 'object');
  });

  test('tools/call list_tenants returns structured content', async () => {
    const result = await inspect(workspace.dir, '--method', 'tools/call',
                                 '--tool-name', 'list_tenants', '--tool-arg', 'limit=100');
    assert.equal(result.isError, false);
    assert.deepEqual(result.structuredContent.tenants.map((t) => t.tenant_id),
                     expectedTenantIds(workspace.dir));
  });
});
