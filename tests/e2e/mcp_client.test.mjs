// Drives the built `fapo mcp` with the official MCP TypeScript SDK client, over stdio and over
// Streamable HTTP: handshake, tool listing, list_tenants against its output schema, ping,
// paging, and the error paths a client can hit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EmptyResultSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';

import { expectedTenantIds, fapoBin, makeWorkspace, serverEnv, startHttpServer } from './helpers.mjs';

const openers = {
  stdio: async (workspace) => {
    const transport = new StdioClientTransport({
      command: fapoBin(),
      args: ['mcp', '--workspace', workspace],
      env: serverEnv(),
      stderr: 'pipe',
    });
    return { transport, stop: async () => {} };
  },
  http: async (workspace) => {
    const server = await startHttpServer(workspace);
    const transport = new StreamableHTTPClientTransport(new URL(server.url));
    return { transport, stop: () => server.stop(), server };
  },
};

for (const [kind, open] of Object.entries(openers)) {
  describe(`official SDK client over ${kind}`, () => {
    let workspace;
    let handle;
    let client;
    let tools;

    before(async () => {
      workspace = makeWorkspace();
      handle = await open(workspace.dir);
      client = new Client({ name: 'fapo-e2e', version: '1.0.0' });
      await client.connect(handle.transport);
      tools = (await client.listTools()).tools;
    });

    after(async () => {
      await client?.close();
      const exit = await handle?.stop();
      if (exit) assert.equal(exit.code, 0, `server exit: ${JSON.stringify(exit)}`);
      workspace?.cleanup();
    });

    test('the handshake names fapo and offers tools, resources and prompts', () => {
      assert.equal(client.getServerVersion().name, 'fapo');
      const capabilities = client.getServerCapabilities();
      assert.deepEqual(capabilities.tools, { listChanged: false });
      assert.ok(capabilities.resources);
      assert.ok(capabilities.prompts);
      if (kind === 'http') assert.ok(handle.transport.sessionId, 'a session id was issued');
    });

    test('tools/list shows list_tenants with its schemas, title and hints', () => {
      const tool = tools.find((t) => t.name === 'list_tenants');
      assert.ok(tool, `tools: ${tools.map((t) => t.name)}`);
      assert.equal(tool.title, 'List tenants');
      assert.match(tool.description, /tenant_id/);
      assert.equal(tool.inputSchema.type, 'object');
      assert.equal(tool.outputSchema.type, 'object');
      assert.deepEqual(
        [tool.annotations.readOnlyHint, tool.annotations.idempotentHint,
         tool.annotations.openWorldHint, tool.annotations.destructiveHint],
        [true, true, false, false]);
      for (const t of tools) {
        assert.ok(t.name.length <= 32 && /^[a-z_]+$/.test(t.name), t.name);
        assert.ok(t.description.length > 40, `${t.name} has a real description`);
      }
    });

    test('list_tenants returns the workspace tenants, valid against its output schema', async () => {
      const result = await client.callTool({ name: 'list_tenants', arguments: {} });
      assert.equal(result.isError, false);
      const tool = tools.find((t) => t.name === 'list_tenants');
      const validate = new AjvJsonSchemaValidator().getValidator(tool.outputSchema);
      const verdict = validate(result.structuredContent);
      assert.ok(verdict.valid, verdict.errorMessage);
      const ids = result.structuredContent.tenants.map((t) => t.tenant_id);
      const expected = expectedTenantIds(workspace.dir);
      assert.deepEqual(ids, expected.slice(0, ids.length));
      assert.equal(result.structuredContent.total, expected.length);
      assert.equal(result.content[0].type, 'text');
      assert.match(result.content[0].text, /tenant/);
    });

    test('tenant text arrives stripped of control, ANSI and invisible characters', async (t) => {
      if (process.env.FAPO_WORKSPACE) return t.skip('uses the fixture tenant');
      const result = await client.callTool({ name: 'list_tenants', arguments: { limit: 200 } });
      const fixture = result.structuredContent.tenants.find((x) => x.tenant_id === 'e2e_fixture');
      assert.equal(fixture.description, 'Fixture tenant of the end-to-end tests with hidden bytes');
    });

    test('paging with limit and cursor visits every tenant exactly once', async () => {
      const seen = [];
      let cursor;
      for (let page = 0; page < 100; page++) {
        const args = cursor ? { limit: 1, cursor } : { limit: 1 };
        const { structuredContent } = await client.callTool({ name: 'list_tenants', arguments: args });
        seen.push(...structuredContent.tenants.map((t) => t.tenant_id));
        cursor = structuredContent.next_cursor;
        if (!cursor) break;
      }
      assert.deepEqual(seen, expectedTenantIds(workspace.dir));
    });

    test('ping answers', async () => {
      assert.deepEqual(await client.ping(), {});
    });

    test('a call with a progress token still resolves (an event stream over HTTP)', async () => {
      const result = await client.callTool({ name: 'list_tenants', arguments: {} }, undefined,
                                            { onprogress: () => {} });
      assert.equal(result.isError, false);
    });

    test('an unknown tool is a -32602 protocol error that lists the tools', async () => {
      await assert.rejects(
        client.callTool({ name: 'list_tenant', arguments: {} }),
        (error) => {
          assert.ok(error instanceof McpError, String(error));
          assert.equal(error.code, ErrorCode.InvalidParams);
          assert.match(error.message, /Unknown tool 'list_tenant'.*Did you mean 'list_tenants'/);
          return true;
        });
    });

    test('arguments that break the schema give an isError result naming the argument', async () => {
      const wrongType = await client.callTool({ name: 'list_tenants', arguments: { limit: 'ten' } });
      assert.equal(wrongType.isError, true);
      assert.match(wrongType.content[0].text, /argument 'limit': must be integer, got string/);
      const unknown = await client.callTool({ name: 'list_tenants', arguments: { tenant: 'x' } });
      assert.equal(unknown.isError, true);
      assert.match(unknown.content[0].text, /unknown argument 'tenant'/);
      const badCursor = await client.callTool({ name: 'list_tenants', arguments: { cursor: 'xyz' } });
      assert.equal(badCursor.isError, true);
      assert.match(badCursor.content[0].text, /without a cursor/);
    });

    test('resources and prompts answer with lists', async () => {
      assert.ok(Array.isArray((await client.listResources()).resources));
      assert.ok(Array.isArray((await client.listPrompts()).prompts));
    });

    test('an unknown method is -32601', async () => {
      await assert.rejects(
        client.request({ method: 'fapo/nothing', params: {} }, EmptyResultSchema),
        (error) => error instanceof McpError && error.code === ErrorCode.MethodNotFound);
    });

    if (kind === 'http') {
      test('terminating the session makes the server forget it', async () => {
        const server = handle.server;
        const extra = new StreamableHTTPClientTransport(new URL(server.url));
        const second = new Client({ name: 'fapo-e2e-second', version: '1.0.0' });
        await second.connect(extra);
        const sessionId = extra.sessionId;
        assert.ok(sessionId);
        await extra.terminateSession();
        const response = await fetch(server.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json',
                     Accept: 'application/json, text/event-stream',
                     'Mcp-Session-Id': sessionId },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
        assert.equal(response.status, 404);
        await second.close();
      });
    }
  });
}
