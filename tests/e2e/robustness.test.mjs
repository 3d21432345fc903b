// Raw stdio robustness: bytes no well-behaved client sends. After each test the server must
// still be alive (or have exited cleanly when the client left), and every byte it wrote to
// stdout must be a JSON-RPC message on its own line.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { RawStdioPeer, kInitialize, makeWorkspace } from './helpers.mjs';

let workspace;
before(() => { workspace = makeWorkspace(); });
after(() => workspace.cleanup());

// Every stdout line parses as a JSON-RPC 2.0 object; returns them parsed.
function assertProtocolOnly(peer) {
  assert.ok(peer.stdout === '' || peer.stdout.endsWith('\n'), 'stdout ends with a full line');
  return peer.lines().map((line) => {
    let message;
    assert.doesNotThrow(() => { message = JSON.parse(line); }, `non-JSON stdout line: ${line}`);
    assert.equal(typeof message, 'object');
    assert.equal(message.jsonrpc, '2.0', line);
    return message;
  });
}

// Ends the session and checks the server exited by itself with status 0.
async function finish(peer) {
  peer.end();
  const exit = await peer.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${peer.stderr}`);
  return assertProtocolOnly(peer);
}

async function initialized() {
  const peer = new RawStdioPeer(workspace.dir);
  peer.send(kInitialize(0));
  peer.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await peer.waitForLines(1);
  return peer;
}

describe('raw stdio robustness', () => {
  test('malformed JSON gets -32700 and the server keeps serving', async () => {
    const peer = await initialized();
    peer.write('{"jsonrpc": "2.0", "id": 1, "method": \n');
    peer.write('not json at all\n');
    peer.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const lines = await peer.waitForLines(4);
    const replies = lines.slice(1).map((l) => JSON.parse(l));
    assert.deepEqual(replies.map((r) => r.error?.code), [-32700, -32700, undefined]);
    assert.deepEqual(replies[2], { jsonrpc: '2.0', id: 2, result: {} });
    await finish(peer);
  });

  test('non-object messages and batches get -32600 with a null id', async () => {
    const peer = await initialized();
    const inputs = ['42', '"ping"', 'null', 'true', '[]',
                    JSON.stringify([{ jsonrpc: '2.0', id: 5, method: 'ping' }])];
    for (const input of inputs) peer.write(input + '\n');
    const lines = await peer.waitForLines(1 + inputs.length);
    for (const line of lines.slice(1)) {
      const reply = JSON.parse(line);
      assert.equal(reply.error.code, -32600, line);
      assert.equal(reply.id, null);
    }
    await finish(peer);
  });

  test('unknown methods get -32601 and unknown notifications nothing', async () => {
    const peer = await initialized();
    peer.send({ jsonrpc: '2.0', method: 'notifications/whatever', params: { a: 1 } });
    peer.send({ jsonrpc: '2.0', id: 'u', method: 'no/such/method' });
    const lines = await peer.waitForLines(2);
    assert.deepEqual(JSON.parse(lines[1]).error.code, -32601);
    assert.equal(JSON.parse(lines[1]).id, 'u');
    const all = await finish(peer);
    assert.equal(all.length, 2, 'the notification got no reply');
  });

  test('requests before initialize get an error, not a crash', async () => {
    const peer = new RawStdioPeer(workspace.dir);
    peer.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    peer.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_tenants' } });
    peer.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    const lines = (await peer.waitForLines(3)).map((l) => JSON.parse(l));
    assert.equal(lines[0].error.code, -32600);
    assert.match(lines[0].error.message, /initialize/);
    assert.equal(lines[1].error.code, -32600);
    assert.deepEqual(lines[2].result, {});
    await finish(peer);
  });

  test('unknown tools and wrong argument types are answered properly', async () => {
    const peer = await initialized();
    peer.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'rm_rf' } });
    peer.send({ jsonrpc: '2.0', id: 2, method: 'tools/call',
                params: { name: 'list_tenants', arguments: { limit: [1, 2] } } });
    peer.send({ jsonrpc: '2.0', id: 3, method: 'tools/call',
                params: { name: 'list_tenants', arguments: 'limit=1' } });
    peer.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 42 } });
    const replies = (await peer.waitForLines(5)).slice(1).map((l) => JSON.parse(l));
    const byId = Object.fromEntries(replies.map((r) => [r.id, r]));
    assert.equal(byId[1].error.code, -32602);
    assert.equal(byId[2].result.isError, true);
    assert.match(byId[2].result.content[0].text, /argument 'limit': must be integer, got array/);
    assert.equal(byId[3].error.code, -32602);
    assert.equal(byId[4].error.code, -32602);
    await finish(peer);
  });

  test('a message over the size limit is refused and the next one is served', async () => {
    const peer = await initialized();
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call',
                                  params: { name: 'list_tenants', arguments: { cursor: 'x'.repeat(6 * 1024 * 1024) } } });
    peer.write(huge + '\n');
    peer.send({ jsonrpc: '2.0', id: 10, method: 'ping' });
    const replies = (await peer.waitForLines(3, 30000)).slice(1).map((l) => JSON.parse(l));
    assert.equal(replies[0].error.code, -32600);
    assert.match(replies[0].error.message, /limit/);
    assert.deepEqual(replies[1], { jsonrpc: '2.0', id: 10, result: {} });
    await finish(peer);
  });

  test('a deeply nested message is refused without exhausting the stack', async () => {
    const peer = await initialized();
    const params = '{"a":'.repeat(200000) + '1' + '}'.repeat(200000);
    peer.write(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":${params}}\n`);
    peer.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const replies = (await peer.waitForLines(3)).slice(1).map((l) => JSON.parse(l));
    assert.equal(replies[0].error.code, -32600);
    assert.deepEqual(replies[1].result, {});
    await finish(peer);
  });

  test('random garbage lines never crash the server or leak non-JSON to stdout', async () => {
    const peer = await initialized();
    let seed = 12345;
    const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    const count = 200;
    for (let i = 0; i < count; i++) {
      const bytes = Buffer.alloc(1 + (random() % 300));
      for (let j = 0; j < bytes.length; j++) {
        let b = random() % 256;
        if (b === 0x0a) b = 0x20;  // one garbage message per line
        bytes[j] = b;
      }
      peer.child.stdin.write(Buffer.concat([bytes, Buffer.from('\n')]));
    }
    peer.send({ jsonrpc: '2.0', id: 'last', method: 'ping' });
    // Blank lines are skipped, so there may be fewer replies than garbage lines; wait for ping.
    await new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply to the final ping')), 20000);
      const poll = () => {
        if (peer.lines().some((l) => l.includes('"last"'))) { clearTimeout(timer); resolvePromise(); }
        else setTimeout(poll, 20);
      };
      poll();
    });
    const messages = await finish(peer);
    assert.ok(messages.length > count / 2);
  });

  test('a client that disappears mid-call leaves a server that exits cleanly', async () => {
    const peer = await initialized();
    for (let i = 0; i < 50; i++) {
      peer.send({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'list_tenants' } });
    }
    peer.child.stdout.destroy();  // stops reading: the server's writes fail
    peer.end();
    const exit = await peer.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${peer.stderr}`);
  });

  test('SIGTERM stops the server cleanly', async () => {
    const peer = await initialized();
    peer.child.kill('SIGTERM');
    const exit = await peer.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${peer.stderr}`);
    assertProtocolOnly(peer);
  });

  test('logs go to stderr, never stdout', async () => {
    const peer = await initialized();
    peer.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_tenants' } });
    await peer.waitForLines(2);
    await finish(peer);
    assert.match(peer.stderr, /tools\/call 1 -> ok/);
    assert.ok(!peer.stdout.includes('[info]'));
  });
});
