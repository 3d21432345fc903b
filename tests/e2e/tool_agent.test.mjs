// Optimises the tool_agent example tenant through `fapo mcp`, the way a coding agent would,
// with the official MCP TypeScript SDK client over stdio: baseline on train, attribution,
// two prompt variants and one parameter variant (each reviewed and compared on validation),
// a variant that must be rejected, and the final test. The tenant's ReAct agent calls tools
// of @modelcontextprotocol/server-everything (an MCP server from npm that fapo starts itself)
// and the built-in corpus search. Prints the numbers of every step.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { fapoBin, makeWorkspace, repoRoot, serverEnv } from './helpers.mjs';

const kTenant = 'tool_agent';
const kServerScript = join(repoRoot, 'tenants', kTenant, 'node_modules', '@modelcontextprotocol',
                           'server-everything', 'dist', 'index.js');

const text = (result) => result.content?.map((c) => c.text ?? '').join('\n') ?? '';
const round = (x) => Math.round(x * 10) / 10;

// The system lines each variant adds to the agent prompt.
const kToolGuide =
  'Use search to look up facts about landmarks; search once per fact and read the result ' +
  'before searching again. Use get-sum for every addition: never add numbers yourself. ' +
  'When the question already holds the answer, answer without tools.';
const kAnswerOnly = 'Reply with the answer only: a number or a code, no sentence.';

// Mean and the composite's parts (answer, trajectory and its components, judge).
function describeRun(run) {
  const parts = Object.entries(run.summary.breakdown_means)
    .filter(([key]) => /^\d\.\w+$|trajectory_/.test(key))
    .map(([key, value]) => `${key.replace(/^1\.trajectory\.trajectory_/, 'trajectory.')} ${round(value)}`);
  return `mean ${round(run.summary.mean)} (${parts.join(', ')})`;
}

function agentPrompt(extraLines) {
  return ['System:', 'You are an assistant that can use tools.', ...extraLines, '', 'User:',
          '${question}', ''].join('\n');
}

describe('tool_agent optimised through fapo mcp', { skip: !existsSync(kServerScript) &&
    'server-everything is not installed (scripts/setup_node.sh installs it)' }, () => {
  let workspace;
  let client;
  const log = [];

  const succeed = async (name, args) => {
    const result = await client.callTool({ name, arguments: args });
    assert.equal(result.isError, false, `${name} ${JSON.stringify(args)}: ${text(result)}`);
    return result.structuredContent;
  };

  async function finishedRun(split, variant, trials = 1) {
    let { run } = await succeed('evaluate', { tenant_id: kTenant, split, variant, trials });
    for (let i = 0; i < 30 && run.state === 'running'; i++) {
      ({ run } = await succeed('get_run', { tenant_id: kTenant, run_id: run.run_id, wait_seconds: 50 }));
    }
    assert.equal(run.state, 'complete');
    return run;
  }

  async function compareUntilDecided(candidate) {
    const args = { tenant_id: kTenant, candidate, wait_seconds: 50 };
    let report = await succeed('compare', args);
    for (let i = 0; i < 30 && report.status === 'evaluating'; i++) {
      report = await succeed('compare', args);
    }
    return report;
  }

  async function proposeReviewCompare(proposal) {
    const variant = await succeed('propose_variant', { tenant_id: kTenant, ...proposal });
    const review = await succeed('review_variant', { tenant_id: kTenant, variant: variant.name });
    assert.notEqual(review.verdict, 'fail', JSON.stringify(review));
    const report = await compareUntilDecided(variant.name);
    const delta = (key) => round(report.breakdown_deltas?.[key]?.mean_difference ??
                                 report.breakdown_deltas?.[key] ?? NaN);
    log.push(`${variant.name} [${variant.level}] validation ${round(report.means.incumbent)} -> ` +
             `${round(report.means.candidate)}: ${report.decision}, difference ` +
             `${round(report.mean_difference)} [${report.interval.map(round).join(', ')}], ` +
             `p ${report.p_value.toPrecision(2)}; trajectory delta ${delta('1.trajectory')}`);
    return { variant, report };
  }

  before(async () => {
    workspace = makeWorkspace();
    const transport = new StdioClientTransport({
      command: fapoBin(), args: ['mcp', '--workspace', workspace.dir], env: serverEnv(), stderr: 'pipe',
    });
    client = new Client({ name: 'fapo-e2e-tool-agent', version: '1.0.0' });
    await client.connect(transport);
  });

  after(async () => {
    for (const line of log) console.log(`  ${line}`);
    await client?.close();
    workspace?.cleanup();
  });

  test('baseline, attribution, accepted variants, a rejected one, final test', { timeout: 600_000 }, async () => {
    const baseline = await finishedRun('train', 'baseline');
    log.push(`baseline train: ${describeRun(baseline)}`);

    const attribution = await succeed('attribute', { tenant_id: kTenant, run_id: baseline.run_id });
    log.push(`attribution: ${JSON.stringify(attribution.clusters?.map((c) =>
      [c.class, c.step, c.pattern, c.count]))} recommended ${attribution.recommended_level}`);

    const guide = await proposeReviewCompare({
      hypothesis: 'The agent calls the wrong tool, forgets to call and repeats searches: say which tool serves which need.',
      prompts: { 'agent.md': agentPrompt([kToolGuide]) } });
    assert.equal(guide.report.decision, 'accept');

    const format = await proposeReviewCompare({
      hypothesis: 'Sentences around the answer fail exact match: ask for the answer only.',
      prompts: { 'agent.md': agentPrompt([kToolGuide, kAnswerOnly]) } });
    assert.equal(format.report.decision, 'accept');

    const limits = await proposeReviewCompare({
      hypothesis: 'Two-tool tasks need three model turns; two iterations stop the agent first.',
      parameters: { agent: { max_iterations: 4 } } });
    assert.equal(limits.variant.level, 'parameter');
    assert.equal(limits.report.decision, 'accept');

    const noop = await proposeReviewCompare({
      hypothesis: 'A third passage per search might help (it should not: the first one holds the year).',
      parameters: { agent: { search_k: 3 } } });
    assert.equal(noop.report.decision, 'reject');

    const best = await finishedRun('train', limits.variant.name);
    log.push(`best ${limits.variant.name} train: ${describeRun(best)}`);
    assert.ok(best.summary.mean > baseline.summary.mean + 40);
    assert.ok(best.summary.breakdown_means['1.trajectory'] > baseline.summary.breakdown_means['1.trajectory']);

    const final = await succeed('final_test', { tenant_id: kTenant });
    assert.equal(final.name, limits.variant.name);
    assert.equal(final.status, 'sealed');
    log.push(`final_test ${final.name}: test mean ${round(final.mean)} ± ${round(final.standard_error)} ` +
             `(${final.cases} cases x ${final.trials} trials), sealed`);
  });
});
