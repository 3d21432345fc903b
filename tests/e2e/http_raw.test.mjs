// Raw HTTP against `fapo mcp --http 127.0.0.1:0`: the status codes of the Streamable HTTP
// transport for requests an SDK client would never send (foreign Host or Origin, wrong
// method, content type, Accept, protocol version, sessions, sizes, tokens).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { kInitialize, makeWorkspace, startHttpServer } from './helpers.mjs';

const kAccept = 'application/json, text/event-stream';

// node:http rather than fetch, because fetch refuses to set the Host header.
function rawRequest(url, { method = 'POST', headers = {}, body } = {}) {
  return new Promise((resolvePromise, reject) => {
    const request = http.request(url, { method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (d) => { text += d; });
      response.on('end', () => resolvePromise({ status: response.statusCode,
                                                headers: response.headers, body: text }));
    });
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

function post(url, message, headers = {}) {
  const body = typeof message === 'string' ? message : JSON.stringify(message);
  return rawRequest(url, { headers: { 'Content-Type': 'application/json', Accept: kAccept,
                                      ...headers }, body });
}

describe('raw HTTP transport checks', () => {
  let workspace;
  let server;
  let session;

  before(async () => {
    workspace = makeWorkspace();
    server = await startHttpServer(workspace.dir);
    const init = await post(server.url, kInitialize(1));
    assert.equal(init.status, 200, init.body);
    session = init.headers['mcp-session-id'];
    assert.ok(session);
  });

  after(async () => {
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
    assert.equal(server.stdout(), '', 'nothing on stdout in HTTP mode');
    workspace.cleanup();
  });

  test('a foreign Host header is 403 (DNS rebinding protection)', async () => {
    const port = new URL(server.url).port;
    const res = await post(server.url, kInitialize(1), { Host: `evil.example:${port}` });
    assert.equal(res.status, 403);
    assert.match(JSON.parse(res.body).error.message, /Host/);
    const wrongPort = await post(server.url, kInitialize(1), { Host: 'localhost:1' });
    assert.equal(wrongPort.status, 403);
    const localhost = await post(server.url, kInitialize(1), { Host: `localhost:${port}` });
    assert.equal(localhost.status, 200);
  });

  test('a foreign Origin is 403; a loopback Origin is accepted', async () => {
    const foreign = await post(server.url, kInitialize(1), { Origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    const local = await post(server.url, kInitialize(1), { Origin: 'http://localhost:6274' });
    assert.equal(local.status, 200);
  });

  test('GET, PUT and DELETE without a session get 405 / 400', async () => {
    const get = await rawRequest(server.url, { method: 'GET', headers: { Accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST, DELETE');
    const put = await rawRequest(server.url, { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    const del = await rawRequest(server.url, { method: 'DELETE' });
    assert.equal(del.status, 400);
  });

  test('a wrong Content-Type is 415 and an Accept without event streams is 406', async () => {
    const wrongType = await rawRequest(server.url, {
      headers: { 'Content-Type': 'text/plain', Accept: kAccept }, body: JSON.stringify(kInitialize(1)) });
    assert.equal(wrongType.status, 415);
    const jsonOnly = await post(server.url, kInitialize(1), { Accept: 'application/json' });
    assert.equal(jsonOnly.status, 406);
  });

  test('an unsupported MCP-Protocol-Version is 400', async () => {
    const res = await post(server.url, { jsonrpc: '2.0', id: 2, method: 'ping' },
                           { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '1900-01-01' });
    assert.equal(res.status, 400);
    const ok = await post(server.url, { jsonrpc: '2.0', id: 3, method: 'ping' },
                          { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-11-25' });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { jsonrpc: '2.0', id: 3, result: {} });
  });

  test('missing and unknown sessions are 400 and 404', async () => {
    const missing = await post(server.url, { jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(missing.status, 400);
    const unknown = await post(server.url, { jsonrpc: '2.0', id: 2, method: 'ping' },
                               { 'Mcp-Session-Id': 'deadbeef' });
    assert.equal(unknown.status, 404);
  });

  test('notifications get 202 with an empty body', async () => {
    const res = await post(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' },
                           { 'Mcp-Session-Id': session });
    assert.equal(res.status, 202);
    assert.equal(res.body, '');
  });

  test('malformed JSON and batches are 400 with JSON-RPC errors', async () => {
    const garbage = await post(server.url, '{"jsonrpc":', { 'Mcp-Session-Id': session });
    assert.equal(garbage.status, 400);
    assert.equal(JSON.parse(garbage.body).error.code, -32700);
    const batch = await post(server.url, [{ jsonrpc: '2.0', id: 1, method: 'ping' }],
                             { 'Mcp-Session-Id': session });
    assert.equal(batch.status, 400);
    assert.equal(JSON.parse(batch.body).error.code, -32600);
  });

  test('a body over the size limit is 413', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } });
    const res = await post(server.url, body, { 'Mcp-Session-Id': session });
    assert.equal(res.status, 413);
  });

  test('a request with a progress token is answered as an event stream', async () => {
    const res = await post(server.url, {
      jsonrpc: '2.0', id: 7, method: 'tools/call',
      params: { name: 'list_tenants', arguments: {}, _meta: { progressToken: 'p1' } },
    }, { 'Mcp-Session-Id': session });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/event-stream/);
    const events = res.body.split('\n').filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)));
    assert.equal(events.at(-1).id, 7);
    assert.equal(events.at(-1).result.isError, false);
  });
});

describe('HTTP with a bearer token', () => {
  test('requests need the token; a wrong one is 401', async () => {
    const workspace = makeWorkspace();
    const server = await startHttpServer(workspace.dir, {
      extraArgs: ['--token-env', 'E2E_TOKEN'], env: { E2E_TOKEN: 's3cret-token' } });
    try {
      const none = await post(server.url, kInitialize(1));
      assert.equal(none.status, 401);
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      const wrong = await post(server.url, kInitialize(1), { Authorization: 'Bearer nope' });
      assert.equal(wrong.status, 401);
      const right = await post(server.url, kInitialize(1), { Authorization: 'Bearer s3cret-token' });
      assert.equal(right.status, 200);
      assert.ok(!server.stderr().includes('s3cret-token'), 'the token is never logged');
    } finally {
      await server.stop();
      workspace.cleanup();
    }
  });
});
