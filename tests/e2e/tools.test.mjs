// Drives the evaluation tools of the built `fapo mcp` with the official MCP TypeScript SDK
// client, over stdio and over Streamable HTTP: every tool is called (the SDK checks each
// structuredContent against the tool's outputSchema), evaluate streams progress, runs are
// cancelled both with cancel_run and with notifications/cancelled on a waiting evaluate call,
// and the split guardrails answer as they must (test refused, validation aggregates only).
// Resources and prompts are read too.
//
// Cancellation needs a run that lasts: the fixture tenant e2e_slow scores each case with a
// small Node program that takes 100 ms per case, and runs one case at a time.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { fapoBin, makeWorkspace, serverEnv, startHttpServer } from './helpers.mjs';

const kTenant = 'multihop_qa';
const kSlow = 'e2e_slow';
const kToolNames = ['list_tenants', 'describe_tenant', 'validate_tenant', 'evaluate', 'get_run',
                    'cancel_run', 'list_cases', 'get_case', 'budget'];

const kSlowScorer = `// Scores exact matches, 100 ms per case (the e2e tests need runs that last).
import { createInterface } from 'node:readline';
const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  const request = JSON.parse(line);
  queue = queue.then(() => new Promise((done) => {
    if (request.type === 'validate') {
      process.stdout.write(JSON.stringify({ ok: true }) + '\\n');
      return done();
    }
    setTimeout(() => {
      const hit = request.output.trim() === request.case.expected.answer;
      process.stdout.write(JSON.stringify({ composite_score: hit ? 100 : 0 }) + '\\n');
      done();
    }, 100);
  }));
});
`;

function addSlowTenant(workspaceDir) {
  const dir = join(workspaceDir, 'tenants', kSlow);
  mkdirSync(join(dir, 'prompts'), { recursive: true });
  writeFileSync(join(dir, 'tenant.json'), JSON.stringify({
    tenant_id: kSlow,
    description: 'End-to-end fixture: a one-step chain whose scorer takes 100 ms a case',
    task_model: { provider: 'sim', model: 'sim-1', concurrency: 1 },
    splits: { train: 0.5, validation: 0.25, test: 0.25, seed: 1, stratify: null },
    scorer: { type: 'command', command: ['node', 'slow_scorer.mjs'] },
    sim: { seed: 1, rules: [{ name: 'answer', when: {}, reply: '${expected.answer}' }] },
  }));
  writeFileSync(join(dir, 'chain.json'), JSON.stringify({
    steps: [{ id: 'answer', kind: 'llm', prompt: 'answer.md' }], output: 'answer' }));
  writeFileSync(join(dir, 'prompts', 'answer.md'), 'Answer the question: ${question}\n');
  writeFileSync(join(dir, 'slow_scorer.mjs'), kSlowScorer);
  const cases = [];
  for (let i = 1; i <= 80; i++) {
    cases.push(JSON.stringify({ case_id: `s${i}`, task_type: 't', context: { question: `q${i}?` },
                                expected: { answer: `a${i}` } }));
  }
  writeFileSync(join(dir, 'dataset.jsonl'), cases.join('\n') + '\n');
}

const openers = {
  stdio: async (workspace) => {
    const transport = new StdioClientTransport({
      command: fapoBin(), args: ['mcp', '--workspace', workspace], env: serverEnv(), stderr: 'pipe',
    });
    return { transport, stop: async () => {} };
  },
  http: async (workspace) => {
    const server = await startHttpServer(workspace);
    return { transport: new StreamableHTTPClientTransport(new URL(server.url)),
             stop: () => server.stop() };
  },
};

const text = (result) => result.content[0].text;

for (const [kind, open] of Object.entries(openers)) {
  describe(`evaluation tools over ${kind}`, () => {
    let workspace;
    let handle;
    let client;
    let tools;

    const call = (name, args, options) =>
      client.callTool({ name, arguments: args }, undefined, options);

    // Evaluates and waits (bounded) until the run has finished; returns the run object.
    async function finishedRun(tenant, split = 'train', trials = 1) {
      const started = await call('evaluate', { tenant_id: tenant, split, trials });
      assert.equal(started.isError, false, text(started));
      let run = started.structuredContent.run;
      for (let i = 0; i < 10 && run.state === 'running'; i++) {
        const got = await call('get_run', { tenant_id: tenant, run_id: run.run_id, wait_seconds: 50 });
        run = got.structuredContent.run;
      }
      return run;
    }

    before(async () => {
      workspace = makeWorkspace();
      addSlowTenant(workspace.dir);
      handle = await open(workspace.dir);
      client = new Client({ name: 'fapo-e2e-tools', version: '1.0.0' });
      await client.connect(handle.transport);
      tools = (await client.listTools()).tools;
    });

    after(async () => {
      await client?.close();
      const exit = await handle?.stop();
      if (exit) assert.equal(exit.code, 0, `server exit: ${JSON.stringify(exit)}`);
      workspace?.cleanup();
    });

    test('tools/list offers every evaluation tool with title, schemas and hints', () => {
      // Other tools (variants, comparison, journal) are tested elsewhere; these must be there.
      const names = tools.map((t) => t.name);
      for (const name of kToolNames) assert.ok(names.includes(name), `${name} is offered`);
      for (const tool of tools.filter((t) => kToolNames.includes(t.name))) {
        assert.ok(tool.title, `${tool.name} has a title`);
        assert.ok(tool.description.length > 200, `${tool.name} has a real description`);
        assert.equal(tool.inputSchema.type, 'object');
        assert.equal(tool.outputSchema.type, 'object');
        assert.equal(tool.annotations.openWorldHint, false);
      }
      const evaluate = tools.find((t) => t.name === 'evaluate');
      assert.equal(evaluate.annotations.readOnlyHint, false);
      assert.equal(evaluate.annotations.idempotentHint, false);
      for (const name of ['describe_tenant', 'get_run', 'list_cases', 'get_case', 'budget']) {
        assert.equal(tools.find((t) => t.name === name).annotations.readOnlyHint, true, name);
      }
    });

    test('describe_tenant and validate_tenant describe the example tenant', async () => {
      const described = await call('describe_tenant', { tenant_id: kTenant });
      assert.equal(described.isError, false, text(described));
      assert.equal(described.structuredContent.model.simulated, true);
      assert.deepEqual(described.structuredContent.chain.steps.map((s) => s.kind),
                       ['retrieve', 'llm', 'llm', 'retrieve', 'llm']);
      const validated = await call('validate_tenant', { tenant_id: kTenant });
      assert.equal(validated.structuredContent.valid, true);
      assert.equal(validated.structuredContent.cases, 240);
    });

    test('evaluate with a progress token streams progress and can wait for the run', async () => {
      const progress = [];
      const result = await call('evaluate', { tenant_id: kSlow, wait_seconds: 50 },
                                { onprogress: (p) => progress.push(p) });
      assert.equal(result.isError, false, text(result));
      const run = result.structuredContent.run;
      assert.equal(run.state, 'complete');
      assert.equal(run.summary.mean, 100);
      assert.ok(progress.length >= 2, `progress notifications: ${JSON.stringify(progress)}`);
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
      assert.equal(progress.at(-1).total, run.total);
      assert.match(progress.at(-1).message, /results, running mean/);
    });

    test('get_run, list_cases, get_case and budget on a train run', async () => {
      const run = await finishedRun(kTenant);
      assert.equal(run.state, 'complete');
      const got = await call('get_run', { tenant_id: kTenant, run_id: run.run_id });
      assert.equal(got.structuredContent.run.summary.cases, 60);
      const failed = await call('list_cases', { tenant_id: kTenant, run_id: run.run_id,
                                                failed_only: true, limit: 5 });
      assert.equal(failed.structuredContent.access, 'full');
      assert.ok(failed.structuredContent.cases.length > 0);
      const caseId = failed.structuredContent.cases[0].case_id;
      const detail = await call('get_case', { tenant_id: kTenant, run_id: run.run_id, case_id: caseId });
      assert.equal(detail.isError, false, text(detail));
      assert.equal(detail.structuredContent.steps.length, 5);
      assert.ok(detail.structuredContent.case.expected.answer);
      const budget = await call('budget', { tenant_id: kTenant });
      assert.ok(budget.structuredContent.spent.model_calls > 0);
      assert.equal(budget.structuredContent.enforced, true);
      assert.ok(budget.structuredContent.remaining.calls < budget.structuredContent.caps.task_calls);
    });

    test('a validation run gives aggregates only, with the reason', async () => {
      const run = await finishedRun(kTenant, 'validation');
      const listed = await call('list_cases', { tenant_id: kTenant, run_id: run.run_id });
      assert.equal(listed.isError, false, text(listed));
      assert.equal(listed.structuredContent.access, 'aggregates_only');
      assert.equal(listed.structuredContent.cases, undefined);
      assert.match(listed.structuredContent.reason, /Validation runs decide/);
      const detail = await call('get_case', { tenant_id: kTenant, run_id: run.run_id, case_id: 'mh0001' });
      assert.equal(detail.isError, true);
      assert.match(text(detail), /not available/);
    });

    test('cancel_run stops a running run', async () => {
      const started = await call('evaluate', { tenant_id: kSlow });
      const runId = started.structuredContent.run.run_id;
      const cancelled = await call('cancel_run', { tenant_id: kSlow, run_id: runId });
      assert.equal(cancelled.isError, false, text(cancelled));
      assert.equal(cancelled.structuredContent.stopped, true);
      assert.equal(cancelled.structuredContent.run.state, 'cancelled');
      assert.ok(cancelled.structuredContent.run.done < cancelled.structuredContent.run.total);
    });

    test('calls waiting for a run, more than the workers, do not hold back quick calls', async () => {
      const started = await call('evaluate', { tenant_id: kSlow });
      const runId = started.structuredContent.run.run_id;
      let waitsDone = 0;
      const waits = Array.from({ length: 10 }, () =>
        call('get_run', { tenant_id: kSlow, run_id: runId, wait_seconds: 50 })
          .then((result) => { waitsDone += 1; return result; }));
      await new Promise((resolve) => setTimeout(resolve, 300));  // let every wait begin
      const described = await call('describe_tenant', { tenant_id: kTenant });
      assert.equal(described.isError, false, text(described));
      await client.ping();
      assert.equal(waitsDone, 0, 'the waits were still waiting when the quick calls returned');
      const cancelled = await call('cancel_run', { tenant_id: kSlow, run_id: runId });
      assert.equal(cancelled.isError, false, text(cancelled));
      for (const result of await Promise.all(waits)) {
        assert.equal(result.isError, false, text(result));
        assert.equal(result.structuredContent.run.state, 'cancelled');
      }
    });

    test('notifications/cancelled on a waiting evaluate call cancels its run', async () => {
      const controller = new AbortController();
      let runId;
      const waiting = call('evaluate', { tenant_id: kSlow, wait_seconds: 50 }, {
        signal: controller.signal,
        onprogress: (p) => {
          const match = /run (r\d{8}-\d{6}-[0-9a-f]{6}) started/.exec(p.message ?? '');
          if (match) runId = match[1];
          if (p.progress >= 1) controller.abort('enough');
        },
      });
      await assert.rejects(waiting);
      assert.ok(runId, 'the first progress notification named the run');
      let run;
      for (let i = 0; i < 10; i++) {
        const got = await call('get_run', { tenant_id: kSlow, run_id: runId, wait_seconds: 50 });
        run = got.structuredContent.run;
        if (run.state !== 'running') break;
      }
      assert.equal(run.state, 'cancelled');
      assert.ok(run.done < run.total);
    });

    test('error paths: unknown tenant, test split, unknown run, bad arguments', async () => {
      const tenant = await call('describe_tenant', { tenant_id: 'multihop' });
      assert.equal(tenant.isError, true);
      assert.match(text(tenant), /unknown tenant 'multihop' \(did you mean 'multihop_qa'\?\)/);
      const testSplit = await call('evaluate', { tenant_id: kTenant, split: 'test' });
      assert.equal(testSplit.isError, true);
      assert.match(text(testSplit), /final_test/);
      const run = await call('get_run', { tenant_id: kTenant, run_id: 'r20200101-000000-abcdef' });
      assert.equal(run.isError, true);
      const trials = await call('evaluate', { tenant_id: kTenant, trials: 0 });
      assert.equal(trials.isError, true);
      assert.match(text(trials), /argument 'trials'/);
    });

    test('resources: the README and a run report; prompts: optimize and new_tenant', async () => {
      const resources = (await client.listResources()).resources;
      assert.ok(resources.some((r) => r.uri === `fapo://tenants/${kTenant}/readme`));
      const report = resources.find((r) => r.uri.startsWith(`fapo://tenants/${kTenant}/runs/`));
      assert.ok(report, 'a run report is listed');
      const read = await client.readResource({ uri: report.uri });
      assert.match(read.contents[0].text, /^# Run r/);
      const readme = await client.readResource({ uri: `fapo://tenants/${kTenant}/readme` });
      assert.match(readme.contents[0].text, /multihop_qa/);
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      assert.deepEqual(prompts, ['optimize', 'new_tenant']);
      const optimize = await client.getPrompt({ name: 'optimize', arguments: { tenant_id: kTenant } });
      assert.match(optimize.messages[0].content.text, /success target 85/);
    });
  });
}
