'use strict';
// An agent loop that asks BudgetGrains before every model call and stops when denied.
//
//   node agentLoop.js 127.0.0.1:5080 --tenant demo --create-budget 10000000
//
// Each step reserves an estimate, "calls a model" (a short sleep and a made-up cost at or below the estimate),
// and commits the cost; a failed model call releases its hold (the finally block). The last line is a JSON
// summary prefixed with SUMMARY, for scripts.
const { BudgetClient, dollars } = require('./budgetClient');

const USAGE = 'usage: node agentLoop.js HOST:PORT [--tenant T] [--feature F] [--estimate-nanos N] [--cost-nanos N] '
  + '[--fail-step N] [--create-budget LIMIT_NANOS] [--max-steps N]';

function parseArgs(argv) {
  const options = { tenant: 'demo', feature: '', estimateNanos: 2_000_000n, costNanos: 0n, failStep: 0, createBudget: null, maxSteps: 1000 };
  const names = {
    '--tenant': ['tenant', String], '--feature': ['feature', String], '--estimate-nanos': ['estimateNanos', BigInt],
    '--cost-nanos': ['costNanos', BigInt], '--fail-step': ['failStep', Number], '--create-budget': ['createBudget', BigInt],
    '--max-steps': ['maxSteps', Number],
  };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') { console.log(USAGE); process.exit(0); }
    const known = names[argv[i]];
    if (known) {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value\n${USAGE}`);
      options[known[0]] = known[1](argv[++i]);
    } else if (argv[i].startsWith('--')) {
      throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length !== 1) throw new Error(USAGE);
  return { address: positional[0], ...options };
}

async function fakeModelCall(estimateNanos, costNanos, fail) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  if (fail) throw new Error('the model timed out');
  if (costNanos > 0n) return costNanos;
  const half = estimateNanos / 2n;
  return half + BigInt(Math.floor(Math.random() * Number(estimateNanos - half + 1n)));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const client = new BudgetClient(args.address);
  const attribution = { tenant: args.tenant, feature: args.feature, labels: { model: 'fake-model', environment: 'example' } };
  if (args.createBudget !== null) {
    await client.upsertBudget(`tenant/${args.tenant}`, args.createBudget);
    console.log(`budget tenant/${args.tenant}: limit ${dollars(args.createBudget)}`);
  }

  const summary = { calls: 0, failed: 0, spent_nanos: 0n, stopped: 'max-steps', reason: null, denied_scope: null };
  for (let step = 1; step <= args.maxSteps; step++) {
    const hold = await client.reserve(attribution, args.estimateNanos);
    const remaining = hold.remainingNanos === null ? 'unlimited' : dollars(hold.remainingNanos);
    if (!hold.admitted) {
      console.log(`step ${step}: DENIED ${hold.reason} at ${hold.deniedScope} (remaining ${remaining}); stopping`);
      Object.assign(summary, { stopped: 'denied', reason: hold.reason, denied_scope: hold.deniedScope });
      break;
    }
    console.log(`step ${step}: ADMITTED ${hold.reservationId} held ${dollars(hold.heldNanos)} remaining ${remaining}`);
    try {
      const cost = await fakeModelCall(args.estimateNanos, args.costNanos, step === args.failStep);
      const result = await hold.commit(cost, 'resolved');
      summary.calls += 1;
      summary.spent_nanos += result.chargedNanos;
      console.log(`step ${step}: model call cost ${dollars(cost)}; committed ${dollars(result.chargedNanos)}`);
    } catch (error) {
      if (hold.settled) throw error; // the commit itself failed: a budget error, not a model error
      console.log(`step ${step}: model call failed (${error.message}); hold released`);
      summary.failed += 1;
    } finally {
      // Releases the hold unless it was committed: nothing is spent for a call that failed.
      await hold.dispose();
    }
  }

  client.close();
  console.log(`stopped (${summary.stopped}) after ${summary.calls} model calls, spent ${dollars(summary.spent_nanos)}`);
  console.log('SUMMARY ' + JSON.stringify({ ...summary, spent_nanos: Number(summary.spent_nanos) }));
}

main().catch((error) => {
  console.error(`error: ${error.details ?? error.message}`);
  process.exitCode = 1;
});
