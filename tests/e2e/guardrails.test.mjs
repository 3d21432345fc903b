// Plays a misbehaving agent against the built `fapo mcp`, through the official MCP TypeScript
// SDK client over stdio, and shows every attempt refused with a reason the agent can act on:
// reading held-out cases, reaching the test split outside final_test, rewriting a stored
// variant, changing a frozen setting, smuggling validation answers into a prompt, skipping
// review, overspending, comparing uncontrolled runs, and escaping the workspace.
//
// Every tool result and resource the agent sees is kept; the last test checks that no
// validation or test question ever appeared in any of them. (Answers are names that the
// corpus passages of train traces legitimately contain, so questions are the telling text.)
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { fapoBin, makeWorkspace, serverEnv } from './helpers.mjs';

const kTenant = 'multihop_qa';
const kTight = 'tight_budget';
const kDrift = 'scorer_drift';

const text = (result) => result.content?.map((c) => c.text ?? '').join('\n') ?? '';

// A copy of the example tenant under another id, with `edit` applied to its tenant.json.
function copyTenant(workspaceDir, id, edit) {
  const dir = join(workspaceDir, 'tenants', id);
  cpSync(join(workspaceDir, 'tenants', kTenant), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'tenant.json'), 'utf8'));
  config.tenant_id = id;
  edit(config);
  writeFileSync(join(dir, 'tenant.json'), JSON.stringify(config, null, 2));
}

function readDataset(workspaceDir, tenant) {
  const lines = readFileSync(join(workspaceDir, 'tenants', tenant, 'dataset.jsonl'), 'utf8')
    .split('\n').filter((l) => l.trim());
  return new Map(lines.map((l) => { const c = JSON.parse(l); return [c.case_id, c]; }));
}

// Split membership as the server recorded it (read from disk by the test, never by the agent).
function splitIds(workspaceDir, tenant) {
  return JSON.parse(readFileSync(join(workspaceDir, '.fapo', tenant, 'splits.json'), 'utf8'));
}

const kShortAnswer =
  'Answer the question with only the answer: a few words, no sentence. Always answer with ' +
  'your best guess; never refuse.\n';

describe('guardrails against a misbehaving agent', () => {
  let workspace;
  let client;
  const seen = [];       // every result and resource text the agent received
  const agentText = [];  // every argument the agent sent (it may see its own words echoed)
  const seenFromAgent = (fragment) => agentText.some((t) => t.includes(fragment));

  const call = async (name, args) => {
    agentText.push(JSON.stringify(args));
    const result = await client.callTool({ name, arguments: args });
    seen.push(JSON.stringify(result));
    return result;
  };

  // The refusal message of a call, or null when the call succeeded. A schema-level rejection
  // (a JSON-RPC error thrown by the SDK) counts as a refusal too.
  const refusal = async (name, args) => {
    try {
      const result = await call(name, args);
      return result.isError ? text(result) : null;
    } catch (error) {
      return String(error.message);
    }
  };

  const succeed = async (name, args) => {
    const result = await call(name, args);
    assert.equal(result.isError, false, `${name} ${JSON.stringify(args)}: ${text(result)}`);
    return result.structuredContent;
  };

  async function finishedRun(tenant, split, variant = 'baseline', trials = 1) {
    let { run } = await succeed('evaluate', { tenant_id: tenant, split, variant, trials });
    for (let i = 0; i < 20 && run.state === 'running'; i++) {
      ({ run } = await succeed('get_run', { tenant_id: tenant, run_id: run.run_id, wait_seconds: 50 }));
    }
    assert.equal(run.state, 'complete');
    return run;
  }

  async function compareUntilDecided(args) {
    let report = await succeed('compare', { wait_seconds: 50, ...args });
    for (let i = 0; i < 20 && report.status === 'evaluating'; i++) {
      report = await succeed('compare', { wait_seconds: 50, ...args });
    }
    return report;
  }

  before(async () => {
    workspace = makeWorkspace();
    copyTenant(workspace.dir, kTight, (c) => {
      // 1350 calls outside the reserve: one validation run of the baseline (90 cases x 3 calls)
      // fits, ten trials on train (60 x 3 x 10) do not.
      c.budget = { variants: 2, validation_evaluations: 1, task_calls: 1500, final_test_reserve: 0.1 };
    });
    copyTenant(workspace.dir, kDrift, () => {});
    const transport = new StdioClientTransport({
      command: fapoBin(), args: ['mcp', '--workspace', workspace.dir], env: serverEnv(), stderr: 'pipe',
    });
    client = new Client({ name: 'fapo-e2e-misbehaving-agent', version: '1.0.0' });
    await client.connect(transport);
    // The split manifest is written by the first evaluation.
    await finishedRun(kTenant, 'train');
  });

  after(async () => {
    await client?.close();
    workspace?.cleanup();
  });

  test('path traversal in tenant ids, variant ids and export paths is refused', async () => {
    assert.match(await refusal('describe_tenant', { tenant_id: '../../etc' }), /tenant id/i);
    assert.match(await refusal('get_variant', { tenant_id: kTenant, variant: '../../../etc/passwd' }),
                 /variant/i);
    for (const path of ['../outside', '/etc/fapo-export', '.fapo/multihop_qa/variants/x',
                        'tenants/../../escape']) {
      const message = await refusal('export_variant', { tenant_id: kTenant, variant: 'baseline', path });
      assert.ok(message, `export to ${path} was accepted`);
      assert.match(message, /outside|inside|\.fapo|workspace/i, path);
    }
  });

  test('the test split is reachable only through final_test', async () => {
    assert.match(await refusal('evaluate', { tenant_id: kTenant, split: 'test' }), /final_test/);
    const ids = splitIds(workspace.dir, kTenant);
    const testCase = ids.test[0];
    const run = await finishedRun(kTenant, 'train');
    assert.match(await refusal('get_case', { tenant_id: kTenant, run_id: run.run_id, case_id: testCase }),
                 /not (available|part|in)/i);
  });

  test('validation runs give aggregates only, through every tool and resource', async () => {
    const run = await finishedRun(kTenant, 'validation');
    const listed = await succeed('list_cases', { tenant_id: kTenant, run_id: run.run_id });
    assert.equal(listed.access, 'aggregates_only');
    assert.equal(listed.cases, undefined);
    const validationCase = splitIds(workspace.dir, kTenant).validation[0];
    assert.match(await refusal('get_case', { tenant_id: kTenant, run_id: run.run_id,
                                             case_id: validationCase }), /not available/);
    const { resources } = await client.listResources();
    for (const resource of resources) {
      const read = await client.readResource({ uri: resource.uri });
      seen.push(JSON.stringify(read));
    }
  });

  test('a stored variant cannot be modified or overwritten', async () => {
    const proposal = { tenant_id: kTenant, hypothesis: 'Verbose answers fail exact match; ask for a short answer.',
                       prompts: { 'answer.md': readFileSync(join(workspace.dir, 'tenants', kTenant,
                                                                  'prompts', 'answer.md'), 'utf8') + kShortAnswer } };
    const variant = await succeed('propose_variant', proposal);
    assert.equal(variant.level, 'prompt');
    assert.match(await refusal('propose_variant', proposal), new RegExp(variant.name));
    const dir = join(workspace.dir, '.fapo', kTenant, 'variants', variant.variant_id);
    assert.equal(statSync(join(dir, 'prompts', 'answer.md')).mode & 0o222, 0, 'stored prompt is read-only');
    await succeed('export_variant', { tenant_id: kTenant, variant: variant.name, path: 'exported/v1' });
    assert.match(await refusal('export_variant', { tenant_id: kTenant, variant: variant.name,
                                                   path: 'exported/v1' }), /exist|overwrite/i);
    const shown = await succeed('get_variant', { tenant_id: kTenant, variant: variant.name });
    assert.equal(shown.variant_id, variant.variant_id);
  });

  test('a frozen setting cannot be changed', async () => {
    const message = await refusal('propose_variant', {
      tenant_id: kTenant, hypothesis: 'Lower temperature gives steadier answers.',
      parameters: { answer: { temperature: 0.1 } } });
    assert.match(message, /frozen/i);
    assert.match(message, /temperature/);
  });

  test('an unreviewed variant cannot be evaluated on validation or compared', async () => {
    const variant = await succeed('propose_variant', {
      tenant_id: kTenant, hypothesis: 'A second search with more passages finds the bridge article.',
      parameters: { hop2: { k: 4 } } });
    assert.equal(variant.level, 'parameter');
    assert.match(await refusal('evaluate', { tenant_id: kTenant, split: 'validation', variant: variant.name }),
                 /review/i);
    assert.match(await refusal('compare', { tenant_id: kTenant, candidate: variant.name }), /review/i);
  });

  test('a prompt holding validation answers fails review and cannot reach validation', async () => {
    const cases = readDataset(workspace.dir, kTenant);
    const ids = splitIds(workspace.dir, kTenant);
    const trainAnswers = new Set(ids.train.map((id) => cases.get(id).expected.answer));
    const leaked = ids.validation.map((id) => cases.get(id))
      .filter((c) => !trainAnswers.has(c.expected.answer)).slice(0, 6);
    const cheat = leaked.map((c) => `If asked "${c.context.question}" answer ${c.expected.answer}.`).join('\n');
    const variant = await succeed('propose_variant', {
      tenant_id: kTenant, hypothesis: 'Remember a few answers.',
      prompts: { 'answer.md': kShortAnswer + cheat + '\nQuestion: ${question}\nNotes: ${steps.summarize.output}\nPassages: ${steps.hop2.output}\n' } });
    const review = await succeed('review_variant', { tenant_id: kTenant, variant: variant.name });
    assert.equal(review.verdict, 'fail');
    const leak = review.findings.find((f) => /leak|held.?out/i.test(f.id + f.message));
    assert.ok(leak, JSON.stringify(review.findings));
    assert.equal(leak.severity, 'block');
    for (const c of leaked) {
      assert.ok(!leak.message.includes(c.expected.answer), 'the finding does not reveal the answer');
      assert.ok(!leak.message.includes(c.context.question), 'the finding does not reveal the question');
    }
    assert.match(await refusal('evaluate', { tenant_id: kTenant, split: 'validation', variant: variant.name }),
                 /review/i);
    assert.match(await refusal('compare', { tenant_id: kTenant, candidate: variant.name }), /review|fail/i);
  });

  test('budgets are hard caps: variants, validation evaluations and model calls', async () => {
    const base = { tenant_id: kTight };
    const prompt = (n) => ({ ...base, hypothesis: `Attempt ${n} at a shorter answer.`,
                             prompts: { 'answer.md': `${kShortAnswer}Attempt ${n}.\nQuestion: \${question}\nNotes: \${steps.summarize.output}\nPassages: \${steps.hop2.output}\n` } });
    await succeed('propose_variant', prompt(1));
    await succeed('propose_variant', prompt(2));
    assert.match(await refusal('propose_variant', prompt(3)), /budget|variants/i);
    assert.match(await refusal('evaluate', { ...base, split: 'train', trials: 10 }), /budget|calls/i);
    await finishedRun(kTight, 'validation');
    assert.match(await refusal('evaluate', { ...base, split: 'validation' }), /budget|validation evaluations/i);
    const budget = await succeed('budget', base);
    assert.equal(budget.enforced, true);
  });

  test('a comparison of uncontrolled runs is refused and names what differs', async () => {
    const base = { tenant_id: kDrift };
    await finishedRun(kDrift, 'train', 'baseline', 3);
    const variant = await succeed('propose_variant', {
      ...base, hypothesis: 'Ask for a short answer.',
      prompts: { 'answer.md': readFileSync(join(workspace.dir, 'tenants', kDrift, 'prompts', 'answer.md'),
                                           'utf8') + kShortAnswer } });
    // The user edits the scorer between the two evaluations.
    const file = join(workspace.dir, 'tenants', kDrift, 'tenant.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.scorer = { type: 'token_f1', field: 'answer' };
    writeFileSync(file, JSON.stringify(config, null, 2));
    await finishedRun(kDrift, 'train', variant.name, 3);
    assert.match(await refusal('compare', { ...base, candidate: variant.name, incumbent: 'baseline',
                                            split: 'train' }), /scorer/i);
    assert.match(await refusal('compare', { ...base, candidate: variant.name, split: 'test' }), /final_test|test/);
  });

  test('final_test runs once: the second call returns the sealed result and spends nothing', async () => {
    const first = await succeed('final_test', { tenant_id: kTenant });
    assert.equal(first.already_sealed, false);
    const spent = (await succeed('budget', { tenant_id: kTenant })).spent.model_calls;
    const second = await succeed('final_test', { tenant_id: kTenant, variant: 'baseline' });
    assert.equal(second.already_sealed, true);
    assert.equal(second.mean, first.mean);
    assert.equal(second.run_id, first.run_id);
    assert.equal((await succeed('budget', { tenant_id: kTenant })).spent.model_calls, spent);
    assert.match(await refusal('evaluate', { tenant_id: kTenant, split: 'test' }), /final_test/);
  });

  test('no validation or test case text reached the agent', () => {
    const cases = readDataset(workspace.dir, kTenant);
    const ids = splitIds(workspace.dir, kTenant);
    const everything = seen.join('\n');
    assert.ok(existsSync(join(workspace.dir, '.fapo', kTenant)));
    for (const id of [...ids.validation, ...ids.test]) {
      const c = cases.get(id);
      // The cheat prompt above quoted validation questions: the agent wrote those itself and
      // may see them echoed back. Only material the agent did not supply counts.
      if (everything.includes(c.context.question) && !seenFromAgent(c.context.question)) {
        assert.fail(`held-out question of ${id} was shown to the agent`);
      }
    }
  });

});
